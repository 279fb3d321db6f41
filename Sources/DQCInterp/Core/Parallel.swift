import Dispatch

/// Splits independent work over the interpreter's threads.
///
/// Work is cut into chunks whose bounds depend only on the problem size, never on the thread
/// count, and every element is computed by exactly one chunk the same way; so results are
/// bit-identical whatever the number of threads.
public enum Parallel {
  /// The number of threads work is spread over (`Interpreter.setThreads`).
  public static var threads: Int { LinearAlgebra.threads.load(ordering: .relaxed) }

  /// Calls `body(lower, upper)` for consecutive chunks of `0..<count`, each `grain` long (the
  /// last may be shorter), on up to `threads` threads.
  public static func forEachChunk(
    _ count: Int, grain: Int, _ body: @Sendable (_ lower: Int, _ upper: Int) -> Void
  ) {
    guard count > 0 else { return }
    let grain = max(grain, 1)
    let chunks = (count + grain - 1) / grain
    let workers = min(threads, chunks)
    if workers <= 1 {
      for chunk in 0..<chunks { body(chunk * grain, min(count, (chunk + 1) * grain)) }
      return
    }
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      for chunk in stride(from: worker, to: chunks, by: workers) {
        body(chunk * grain, min(count, (chunk + 1) * grain))
      }
    }
  }

  /// Calls `body(index)` for every index of `0..<count` on up to `threads` threads.
  public static func forEach(_ count: Int, _ body: @Sendable (Int) -> Void) {
    forEachChunk(count, grain: 1) { lower, upper in
      for index in lower..<upper { body(index) }
    }
  }

  /// A grain for elementwise work of `count` elements: about 64K elements a chunk.
  public static let elementGrain = 1 << 16
}
