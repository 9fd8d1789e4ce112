/// SplitMix64: a small seeded generator, so every test run sees the same data. Shared by the test
/// targets (the `TestSupport` target is no product); the libraries' own generator is Tensor's
/// `SeededGenerator`, which these test targets do not depend on.
///
/// ```swift
/// var rng = TestRandom(seed: 7)
/// let k = Int.random(in: 1...4, using: &rng)
/// ```
package struct TestRandom: RandomNumberGenerator {
    package var state: UInt64
    package init(seed: UInt64) { state = seed }
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
