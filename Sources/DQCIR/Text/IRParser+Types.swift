extension IRParser {
  // tensor-type ::= 'tensor' '<' (dim 'x')* element-type '>' | 'tensor' '<' '*' 'x' element-type '>'
  // dim ::= integer | '?' | '{' bare-id '}'
  mutating func parseTensorType() throws(IRError) -> TensorType {
    scanner.skipTrivia()
    let start = scanner.index
    guard scanner.consume("tensor") else { throw scanner.expected("a tensor type 'tensor<...>'") }
    guard scanner.peek == UInt8(ascii: "<") else { throw scanner.expected("'<' after 'tensor'") }
    scanner.index += 1
    var dims: [Dim]? = []
    while let b = scanner.peek {
      if Scanner.isDigit(b) {
        dims?.append(.fixed(try scanner.unsignedInteger("a dimension size")))
      } else if b == UInt8(ascii: "?") {
        scanner.index += 1
        dims?.append(.dynamic)
      } else if b == UInt8(ascii: "{") {
        scanner.index += 1
        guard let name = scanner.keyword() else { throw scanner.expected("a dimension name") }
        guard scanner.peek == UInt8(ascii: "}") else { throw scanner.expected("'}'") }
        scanner.index += 1
        dims?.append(.symbol(name))
      } else if b == UInt8(ascii: "*"), dims?.isEmpty == true {
        scanner.index += 1
        dims = nil
      } else {
        break
      }
      guard scanner.peek == UInt8(ascii: "x") else {
        throw scanner.expected("'x' after a dimension")
      }
      scanner.index += 1
      if dims == nil { break }
    }
    let element = try parseElementType()
    guard scanner.peek == UInt8(ascii: ">") else { throw scanner.expected("'>' closing the type") }
    scanner.index += 1
    let type = TensorType(dims: dims, element: element)
    guard Self.fixedBitsFit(type) else {
      throw scanner.error(
        "\(type) is too large: its fixed dimensions need more than 2^63 bits",
        at: start)
    }
    return type
  }

  /// Whether the product of a type's fixed dimensions, in bits, fits in an `Int` (so its element
  /// and byte counts, once the shape is static, are numbers and not nil).
  static func fixedBitsFit(_ type: TensorType) -> Bool {
    let fixed = (type.dims ?? []).compactMap(\.value)
    if fixed.contains(0) { return true }
    var bits = type.element.bitWidth
    for n in fixed {
      let (product, overflow) = bits.multipliedReportingOverflow(by: n)
      guard !overflow, product <= Int.max - 7 else { return false }
      bits = product
    }
    return true
  }

  // element-type ::= scalar-type | quantized-type
  mutating func parseElementType() throws(IRError) -> ElementType {
    if scanner.peek == UInt8(ascii: "!") { return .quantized(try parseQuantizedType()) }
    let start = scanner.index
    guard let word = scanner.keyword(), let scalar = ScalarType(rawValue: word) else {
      scanner.index = start
      throw scanner.expected("an element type (f32, f16, bf16, f64, i64, ..., bool)")
    }
    return .scalar(scalar)
  }

  // quantized-type ::= '!quant.uniform' '<' int-type ':' float-type ',' granularity ','
  //                    ('symmetric' | 'asymmetric') '>'
  // granularity ::= 'per_tensor' | 'per_channel' '(' 'axis' '=' integer ')'
  //               | 'per_group' '(' 'axis' '=' integer ',' 'size' '=' integer ')'
  mutating func parseQuantizedType() throws(IRError) -> QuantizedType {
    guard scanner.consume("!quant.uniform") else { throw scanner.expected("'!quant.uniform'") }
    try scanner.expect("<")
    let storageStart = scanner.index
    guard let s = scanner.keyword(), let storage = ScalarType(rawValue: s), storage.isInteger
    else {
      scanner.index = storageStart
      throw scanner.expected("an integer storage type (i8, u8, i4, u4, ...)")
    }
    try scanner.expect(":")
    let expressedStart = scanner.index
    guard let e = scanner.keyword(), let expressed = ScalarType(rawValue: e), expressed.isFloat
    else {
      scanner.index = expressedStart
      throw scanner.expected("a float expressed type (f32, f16, bf16, f64)")
    }
    try scanner.expect(",")
    let granularity: QuantizedType.Granularity
    if scanner.consume("per_tensor") {
      granularity = .perTensor
    } else if scanner.consume("per_channel") {
      try scanner.expect("(")
      try scanner.expect("axis")
      try scanner.expect("=")
      let axis = try scanner.unsignedInteger("an axis")
      try scanner.expect(")")
      granularity = .perChannel(axis: axis)
    } else if scanner.consume("per_group") {
      try scanner.expect("(")
      try scanner.expect("axis")
      try scanner.expect("=")
      let axis = try scanner.unsignedInteger("an axis")
      try scanner.expect(",")
      try scanner.expect("size")
      try scanner.expect("=")
      let sizeStart = scanner.index
      let size = try scanner.unsignedInteger("a group size")
      guard size > 0 else { throw scanner.error("group size must be positive", at: sizeStart) }
      try scanner.expect(")")
      granularity = .perGroup(axis: axis, size: size)
    } else {
      throw scanner.expected("'per_tensor', 'per_channel' or 'per_group'")
    }
    try scanner.expect(",")
    let symmetric: Bool
    if scanner.consume("symmetric") {
      symmetric = true
    } else if scanner.consume("asymmetric") {
      symmetric = false
    } else {
      throw scanner.expected("'symmetric' or 'asymmetric'")
    }
    try scanner.expect(">")
    return QuantizedType(
      storage: storage, expressed: expressed, granularity: granularity, isSymmetric: symmetric)
  }
}

extension TensorType {
  init(dims: [Dim]?, element: ElementType) {
    if let dims { self.init(dims, element) } else { self.init(unrankedOf: element) }
  }
}
