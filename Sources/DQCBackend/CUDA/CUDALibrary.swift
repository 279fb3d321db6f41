import DQCRuntime

/// dqc's CUDA kernel library (`Sources/DQCRuntime/cuda`), as the text built into the runtime.
public enum CUDALibrary {
  /// One header of the library.
  public struct Part: Sendable {
    /// Its file name, such as `qgemm.cuh`.
    public var name: String
    /// Its text.
    public var text: String
  }

  /// The headers in the order a translation unit needs them; the last is the host part with the
  /// C entry points.
  public static let parts: [Part] = (0..<Int(dqc_cuda_library_part_count())).compactMap { i in
    var name: UnsafePointer<CChar>?
    guard let text = dqc_cuda_library_part(Int32(i), &name), let name else { return nil }
    return Part(name: String(cString: name), text: String(cString: text))
  }

  /// The ABI version of the host entry points.
  public static let abiVersion = Int(DQC_CUDA_ABI_VERSION)
}
