/// The 16-byte header at the start of every segment file, and segment file names.
///
/// Layout (little-endian): `"COOPLOG1"` (8 bytes), format version (u32), segment number (u32). Segment `n` lives in
/// a file named after `n` in decimal, zero-padded to eight digits: `00000001.seg`. A plain value; thread-safe.
package struct SegmentHeader: Equatable, Sendable {
    package static let size = 16
    static let magic: [UInt8] = Array("COOPLOG1".utf8)
    static let currentVersion: UInt32 = 1
    static let fileExtension = ".seg"

    var version: UInt32
    var segment: UInt32

    init(segment: UInt32) {
        self.version = Self.currentVersion
        self.segment = segment
    }

    /// The 16 header bytes.
    var bytes: [UInt8] {
        var out = Self.magic
        out.appendLittleEndian(version)
        out.appendLittleEndian(segment)
        return out
    }

    /// Checks the header at the start of `bytes` (at least 16 bytes) of the file `path` that should be segment
    /// `expected`.
    static func validate(_ bytes: UnsafeRawBufferPointer, expected: UInt32, path: String) throws(LogError) {
        guard bytes.count >= size, bytes.prefix(magic.count).elementsEqual(magic) else {
            throw .corrupt("bad segment header magic (expected \"COOPLOG1\")", path: path, offset: 0)
        }
        let version = bytes.loadLittleEndianUInt32(at: 8)
        guard version == currentVersion else {
            throw .corrupt(
                "unsupported segment format version \(version) (this build reads version \(currentVersion))",
                path: path,
                offset: 8
            )
        }
        let segment = bytes.loadLittleEndianUInt32(at: 12)
        guard segment == expected else {
            throw .corrupt(
                "segment header says segment \(segment) but the file name says \(expected)",
                path: path,
                offset: 12
            )
        }
    }

    /// `00000001.seg` for segment 1.
    package static func fileName(segment: UInt32) -> String {
        let digits = String(segment)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits + fileExtension
    }

    /// The segment number of a file name made by `fileName(segment:)`, or nil if `name` is not one.
    package static func segmentNumber(fileName name: String) -> UInt32? {
        guard name.hasSuffix(fileExtension) else { return nil }
        let digits = name.dropLast(fileExtension.count)
        guard digits.count >= 8, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }), let number = UInt32(digits) else {
            return nil
        }
        return fileName(segment: number) == name ? number : nil
    }
}

extension [UInt8] {
    mutating func appendLittleEndian(_ value: UInt32) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func appendLittleEndian(_ value: UInt64) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

extension UnsafeRawBufferPointer {
    func loadLittleEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    func loadLittleEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

extension [UInt8] {
    /// `withUnsafeBytes` for a body that throws only `LogError`.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(LogError) -> R) throws(LogError) -> R {
        let result: Result<R, LogError> = withUnsafeBytes { bytes in
            Result { () throws(LogError) in try body(bytes) }
        }
        return try result.get()
    }

    /// `withUnsafeMutableBytes` for a body that throws only `LogError`.
    mutating func withMutableBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) throws(LogError) -> R
    ) throws(LogError) -> R {
        let result: Result<R, LogError> = withUnsafeMutableBytes { bytes in
            Result { () throws(LogError) in try body(bytes) }
        }
        return try result.get()
    }
}
