import DQCIR
import Testing

@Suite struct DigestTests {
  // Reference values: the FNV-1a 64-bit test vectors published with the algorithm
  // (http://www.isthe.com/chongo/tech/comp/fnv/), independent of this code.
  @Test(arguments: [
    ("", "fnv1a64:cbf29ce484222325"),
    ("a", "fnv1a64:af63dc4c8601ec8c"),
    ("foobar", "fnv1a64:85944171f73967e8"),
  ])
  func knownVectors(input: String, expected: String) {
    #expect(Digest.fnv1a64(Array(input.utf8)) == expected)
  }
}
