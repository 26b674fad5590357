/// A deterministic random number generator (SplitMix64) for reproducible randomized tests.
///
/// Tests print or name their seed so a failure can be replayed. Not thread-safe: one per test.
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` random bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }

    /// Random text mixing ASCII, Chinese and other scalars (never NUL).
    public mutating func text(maxLength: Int = 24) -> String {
        let pools: [ClosedRange<UInt32>] = [
            0x20...0x7E, 0x4E00...0x9FA5, 0x3001...0x3011, 0xA0...0x24F, 0x1F600...0x1F64F,
        ]
        let length = Int.random(in: 0...maxLength, using: &self)
        var s = String.UnicodeScalarView()
        for _ in 0..<length {
            let pool = pools[Int.random(in: 0..<pools.count, using: &self)]
            s.append(Unicode.Scalar(UInt32.random(in: pool, using: &self))!)
        }
        return String(s)
    }
}
