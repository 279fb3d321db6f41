import DQCFrontend
import Foundation
import FuzzSupport

let sample = "Hello, world! <|endoftext|> 12 345 héllo\tÆ 😀 <mask>  \n end"

/// bytes -> `Tokenizer(data:path:)`; on success encode (which may refuse a regex over its work
/// limit) and decode a fixed string.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Data(bytes: data, count: size)
  guard let tokenizer = try? Tokenizer(data: bytes, path: "fuzz/tokenizer.json") else { return 0 }
  let ids = (try? tokenizer.encode(sample)) ?? []
  _ = tokenizer.decode(ids)
  _ = tokenizer.decode(ids + [0, 1, 2, -1, Int64.max], skipSpecialTokens: true)
  _ = tokenizer.id(of: "<|endoftext|>")
  return 0
}
