public import CoopWire

/// An entry's id: SHA-256 of its canonical `SignedEntry` encoding. 32 bytes stored inline (no heap), so a
/// million of them index cheaply. A value; thread-safe.
public struct EntryID: Sendable, Hashable, Comparable, CustomStringConvertible, BitwiseCopyable {
    private var a: UInt64, b: UInt64, c: UInt64, d: UInt64

    /// The id from its 32 bytes, or `nil` when `bytes` is not 32 long.
    ///
    /// Contiguous collections (arrays, slices, buffers) are read as four big-endian words; others byte by byte.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        if let id = bytes.withContiguousStorageIfAvailable({ EntryID(raw: UnsafeRawBufferPointer($0)) }) {
            guard let id else { return nil }
            self = id
            return
        }
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

    /// The id from its 32 bytes, or `nil` when `bytes` is not 32 long. (Not generic: the decoders call it for
    /// every entry, from other modules, where the generic initializer would run unspecialized.)
    public init?(bytes: [UInt8]) {
        guard let id = bytes.withUnsafeBytes({ EntryID(raw: $0) }) else { return nil }
        self = id
    }

    /// The id from its 32 bytes in `raw`, or `nil` when `raw` is not 32 long.
    public init?(raw: UnsafeRawBufferPointer) {
        guard raw.count == 32 else { return nil }
        a = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        b = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        c = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        d = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    /// The id of a signed entry: SHA-256 of its canonical encoding.
    public init(of entry: SignedEntry) {
        self.init(digestOf: entry.wireBytes())
    }

    /// SHA-256 of `bytes` as an id.
    public init(digestOf bytes: [UInt8]) {
        self = bytes.withUnsafeBytes { SHA256OneShot.digest($0) }
    }

    /// SHA-256 of the bytes in `raw` as an id.
    public init(digestOf raw: UnsafeRawBufferPointer) {
        self = SHA256OneShot.digest(raw)
    }

    /// The 32 bytes.
    public var bytes: [UInt8] {
        withUnsafeBytes { [UInt8]($0) }
    }

    /// Calls `body` with the 32 bytes, without allocating.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let words = (a.bigEndian, b.bigEndian, c.bigEndian, d.bigEndian)
        return try Swift.withUnsafeBytes(of: words, body)
    }

    /// Hashes the first 16 bytes: the rest adds nothing to a SHA-256 value's spread, and the hasher is seeded, so
    /// ids ground to collide in a table still do not collide in `Hasher`'s output. (Equality compares all 32.)
    public func hash(into hasher: inout Hasher) {
        hasher.combine(a)
        hasher.combine(b)
    }

    /// A 64-bit hash of the id under the key `(k0, k1)`: the two halves of the 128-bit product of the first two
    /// words, each mixed with a key word (wyhash's "mum"). Several times cheaper than `hashValue`'s SipHash, for
    /// ``EntryIDSet``, which hashes every entry a view is given; with a secret random key, which ids share a slot
    /// cannot be known in advance.
    func keyedHash(_ k0: UInt64, _ k1: UInt64) -> UInt64 {
        let (high, low) = (a ^ k0).multipliedFullWidth(by: b ^ k1)
        return high ^ low
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
