/// Little-endian binary writing for snapshots. A value; one owner.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    public mutating func raw(_ b: [UInt8]) { bytes += b }

    /// Length-prefixed bytes.
    public mutating func blob(_ b: [UInt8]) {
        u32(UInt32(b.count))
        bytes += b
    }

    public mutating func string(_ s: String) { blob(Array(s.utf8)) }
    public mutating func id(_ id: EntryID) { bytes += id.bytes }
}

/// Reads what ``ByteWriter`` wrote; every read checks bounds and throws at the end of the data.
public struct ByteReader {
    private let bytes: [UInt8]
    /// Where reading stops (the whole array unless a trailer follows the data).
    private let end: Int
    public private(set) var offset = 0

    /// Reading past the end, or text that is not UTF-8.
    public struct Truncated: Error, Sendable {}

    /// Reads `bytes`, or only its first `end` bytes (a trailer such as a checksum follows them).
    public init(_ bytes: [UInt8], end: Int? = nil) {
        self.bytes = bytes
        self.end = min(max(0, end ?? bytes.count), bytes.count)
    }

    public var isAtEnd: Bool { offset == end }

    /// Bytes not read yet.
    public var remaining: Int { end - offset }

    public mutating func raw(_ count: Int) throws(Truncated) -> ArraySlice<UInt8> {
        guard count >= 0, end - offset >= count else { throw Truncated() }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    public mutating func u32() throws(Truncated) -> UInt32 {
        try raw(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    public mutating func u64() throws(Truncated) -> UInt64 {
        try raw(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    public mutating func blob() throws(Truncated) -> [UInt8] { Array(try raw(Int(try u32()))) }

    public mutating func string() throws(Truncated) -> String {
        guard let s = String(validating: try blob(), as: UTF8.self) else { throw Truncated() }
        return s
    }

    public mutating func id() throws(Truncated) -> EntryID { EntryID(bytes: try raw(32))! }
}
