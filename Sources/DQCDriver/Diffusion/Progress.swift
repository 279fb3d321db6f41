import Foundation

/// Progress of a long job: a bar on a terminal, a plain line per 10% otherwise.
struct ProgressReporter {
  let label: String
  let total: Int
  let start = DispatchTime.now().uptimeNanoseconds
  let isTerminal = isatty(STDERR_FILENO) != 0
  var lastDecile = -1

  init(label: String, total: Int) {
    self.label = label
    self.total = max(total, 1)
  }

  mutating func update(_ done: Int) {
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
    if isTerminal {
      let width = 30
      let filled = width * done / total
      let bar =
        String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
      FileHandle.standardError.write(
        Data(String(format: "\r%@ [%@] %d/%d  ETA %.0fs ", label, bar, done, total, eta).utf8))
      if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    } else {
      let decile = 10 * done / total
      if decile > lastDecile {
        lastDecile = decile
        FileHandle.standardError.write(
          Data(
            String(format: "%@: %d/%d (%.0f s, ETA %.0f s)\n", label, done, total, elapsed, eta)
              .utf8))
      }
    }
  }
}
