public import CoopLedger

/// The seeded generator tests use: SplitMix64, so a failure can be replayed from the seed the test prints.
public typealias SeededRandom = SplitMix64

extension SplitMix64 {
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
