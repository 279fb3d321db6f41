import DQCRuntime
import Foundation

/// A failure reported by the C++ runtime (`dqc_runtime.h`), with its message.
public struct RuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The runtime's status code.
  public var status: UInt32
  /// What went wrong, naming the file and place for bundle errors.
  public var message: String

  /// The message.
  public var description: String { message }

  static func last(_ status: dqc_status) -> RuntimeError {
    RuntimeError(status: status.rawValue, message: String(cString: dqc_last_error()))
  }
}

/// The device a session runs on.
public enum RuntimeDevice: String, Sendable, Hashable, CaseIterable {
  /// The CPU back end.
  case cpu
  /// The CUDA back end on GPU 0.
  case cuda
  /// The CUDA back end's launch code on the CPU emulator (for tests; docs/gpu.md).
  case cudaEmulator = "cuda-emulator"

  var code: dqc_device {
    switch self {
    case .cpu: DQC_DEVICE_CPU
    case .cuda: DQC_DEVICE_CUDA
    case .cudaEmulator: DQC_DEVICE_CUDA_EMULATOR
    }
  }
}

/// A bundle opened by the runtime with one execution session.
///
/// Forward passes and LLaDA's sampler run on the runtime's kernels. One call runs at a time
/// (calls are serialised).
public final class RuntimeSession: @unchecked Sendable {
  private let bundle: OpaquePointer
  private let session: OpaquePointer
  private let lock = NSLock()
  /// The longest sequence the bundle's plan serves.
  public let maxSequenceLength: Int
  /// Logits per token.
  public let vocabularySize: Int
  /// The mask token id the plan records, if any.
  public let maskTokenID: Int64?

  /// Opens `path` and creates a session on `device` with `threads` threads (0: all cores).
  public init(path: String, device: RuntimeDevice = .cpu, threads: Int = 0) throws(RuntimeError) {
    var b: OpaquePointer?
    let opened = dqc_bundle_open(path, &b)
    guard opened == DQC_OK, let b else { throw RuntimeError.last(opened) }
    var options = dqc_session_options(device: device.code, threads: Int32(threads))
    var s: OpaquePointer?
    let created = dqc_session_create(b, &options, &s)
    guard created == DQC_OK, let s else {
      let error = RuntimeError.last(created)
      dqc_bundle_close(b)
      throw error
    }
    bundle = b
    session = s
    maxSequenceLength = Int(dqc_bundle_max_seq_len(b))
    vocabularySize = Int(dqc_bundle_vocab_size(b))
    let mask = dqc_bundle_mask_token_id(b)
    maskTokenID = mask >= 0 ? mask : nil
  }

  deinit {
    dqc_session_destroy(session)
    dqc_bundle_close(bundle)
  }

  /// The kernel path in use (`avx512-vnni`, `avx2-vnni`, `avx2` or `scalar`), or for the CUDA
  /// back end `cuda: ` and the device (`cuda: NVIDIA H100 80GB HBM3 (sm_90)`).
  public var isa: String { String(cString: dqc_session_isa(session)) }

  /// Bytes of the activation arena.
  public var arenaBytes: Int { dqc_session_arena_bytes(session) }

  /// Logits `[ids.count × vocabulary]` of one forward pass.
  public func forward(_ ids: [Int64]) throws(RuntimeError) -> [Float] {
    var logits = [Float](repeating: 0, count: ids.count * vocabularySize)
    try logits.withUnsafeMutableBufferPointer { (output) throws(RuntimeError) in
      try forward(ids, into: output)
    }
    return logits
  }

  /// One forward pass writing its logits `[ids.count × vocabulary]` into `logits` (which must
  /// hold at least that many floats): a caller that runs many passes reuses one buffer instead
  /// of having a fresh one allocated and zeroed for each.
  public func forward(_ ids: [Int64], into logits: UnsafeMutableBufferPointer<Float>)
    throws(RuntimeError)
  {
    guard logits.count >= ids.count * vocabularySize else {
      throw RuntimeError(
        status: DQC_ERROR_ARGUMENT.rawValue,
        message:
          "forward: a buffer of \(logits.count) floats cannot hold \(ids.count) × \(vocabularySize) logits"
      )
    }
    let status = lock.withLock {
      ids.withUnsafeBufferPointer { input in
        dqc_session_forward(session, input.baseAddress, Int64(ids.count), logits.baseAddress)
      }
    }
    guard status == DQC_OK else { throw RuntimeError.last(status) }
  }

  /// Logits `[rows.count × vocabulary]` of one forward pass, for the given positions only (the
  /// output layer runs on those rows alone; the values equal a full pass's).
  public func forward(_ ids: [Int64], rows: [Int64]) throws(RuntimeError) -> [Float] {
    var logits = [Float](repeating: 0, count: rows.count * vocabularySize)
    let status = lock.withLock {
      ids.withUnsafeBufferPointer { input in
        rows.withUnsafeBufferPointer { selected in
          logits.withUnsafeMutableBufferPointer { output in
            dqc_session_forward_rows(
              session, input.baseAddress, Int64(ids.count), selected.baseAddress,
              Int64(rows.count), output.baseAddress)
          }
        }
      }
    }
    guard status == DQC_OK else { throw RuntimeError.last(status) }
    return logits
  }

  /// The runtime's sampler: prompt plus `genLength` tokens.
  public func generate(
    prompt: [Int64], steps: Int, genLength: Int, blockLength: Int, randomSeed: UInt64? = nil
  ) throws(RuntimeError) -> [Int64] {
    var options = dqc_sampler_options(
      steps: Int32(steps), gen_length: Int32(genLength), block_length: Int32(blockLength),
      remasking: randomSeed == nil ? DQC_REMASK_LOW_CONFIDENCE : DQC_REMASK_RANDOM,
      seed: randomSeed ?? 0)
    var out = [Int64](repeating: 0, count: prompt.count + max(genLength, 0))
    let status = lock.withLock {
      prompt.withUnsafeBufferPointer { input in
        out.withUnsafeMutableBufferPointer { output in
          dqc_session_generate(
            session, input.baseAddress, Int64(prompt.count), &options, output.baseAddress)
        }
      }
    }
    guard status == DQC_OK else { throw RuntimeError.last(status) }
    return out
  }
}
