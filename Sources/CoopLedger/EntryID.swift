public import CoopWire
import Crypto

/// An entry's id: SHA-256 of its canonical `SignedEntry` encoding. 32 bytes stored inline (no heap), so a
/// million of them index cheaply. A value; thread-safe.
public struct EntryID: Sendable, Hashable, Comparable, CustomStringConvertible {
    private var a: UInt64, b: UInt64, c: UInt64, d: UInt64

    /// The id from its 32 bytes, or `nil` when `bytes` is not 32 long.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == 32 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var i = 0
        for byte in bytes {
            switch i >> 3 {
            case 0: words.0 = words.0 << 8 | UInt64(byte)
            case 1: words.1 = words.1 << 8 | UInt64(byte)
            case 2: words.2 = words.2 << 8 | UInt64(byte)
            default: words.3 = words.3 << 8 | UInt64(byte)
            }
            i += 1
        }
        (a, b, c, d) = words
    }

    /// The id of a signed entry: SHA-256 of its canonical encoding.
    public init(of entry: SignedEntry) {
        self.init(digestOf: entry.wireBytes())
    }

    /// SHA-256 of `bytes` as an id.
    public init(digestOf bytes: [UInt8]) {
        self.init(bytes: Array(SHA256.hash(data: bytes)))!
    }

    /// The 32 bytes.
    public var bytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
            for (n, w) in [a, b, c, d].enumerated() {
                for k in 0..<8 {
                    buffer[n * 8 + k] = UInt8(truncatingIfNeeded: w >> UInt64(56 - 8 * k))
                }
            }
            count = 32
        }
    }

    /// Byte-wise order (as sorted byte strings).
    public static func < (lhs: EntryID, rhs: EntryID) -> Bool {
        (lhs.a, lhs.b, lhs.c, lhs.d) < (rhs.a, rhs.b, rhs.c, rhs.d)
    }

    /// Full lower-case hex.
    public var hex: String { Hex.encode(bytes) }

    /// The first 12 hex digits, as people quote it.
    public var short: String { String(hex.prefix(12)) }

    public var description: String { short }
}
