/// Places a kernel graph's activations in one arena, reusing the bytes of values that are dead.
///
/// A value lives from the kernel that defines it to its last use (graph outputs to the end).
/// Values are placed in definition order, each at the lowest offset where a free gap fits it
/// (first fit over the live intervals), aligned to 64 bytes; a kernel's results never share
/// bytes with its operands. The same graph always gives the same placement.
struct ArenaPlanner {
  /// One value to place.
  struct Request {
    var name: String
    var bytes: Int
    /// Index of the defining kernel.
    var defined: Int
    /// Index of the last kernel that reads it (`Int.max` for outputs).
    var lastUse: Int
  }

  static let alignment = 64

  /// The offset of every value and the arena's size.
  static func plan(_ requests: [Request]) -> (offsets: [String: Int], size: Int) {
    var offsets: [String: Int] = [:]
    var placed: [(offset: Int, end: Int, lastUse: Int)] = []
    var size = 0
    for request in requests {
      // Bytes still held when this value is defined: values read at or after its definition.
      let busy = placed.filter { $0.lastUse >= request.defined }.sorted { $0.offset < $1.offset }
      let need = (request.bytes + alignment - 1) / alignment * alignment
      var candidate = 0
      for interval in busy {
        if candidate + need <= interval.offset { break }
        candidate = max(candidate, interval.end)
      }
      offsets[request.name] = candidate
      placed.append((candidate, candidate + need, request.lastUse))
      size = max(size, candidate + need)
    }
    return (offsets, size)
  }
}
