/// How records are framed inside a segment file, and a scanner that walks the frames of a segment's bytes.
///
/// A data frame is `[u32 LE length][u32 LE checksum][payload]`, where checksum is the CRC-32C of the four length
/// bytes followed by the payload. A seal frame ends every segment but the newest:
/// `[u32 LE 0xFFFFFFFF][u32 LE checksum][u64 LE records in this segment][u64 LE index of the next record]`, with the
/// checksum over the marker and the 16 body bytes. Stateless; thread-safe.
enum RecordFrame {
    static let headerSize = 8
    /// The length value that marks a seal frame.
    static let sealMarker: UInt32 = 0xFFFF_FFFF
    static let sealBodySize = 16
    static let sealSize = headerSize + sealBodySize

    /// The CRC-32C of the little-endian `length` followed by `body`.
    static func checksum(length: UInt32, body: UnsafeRawBufferPointer) -> UInt32 {
        let crc = withUnsafeBytes(of: length.littleEndian) { CRC32C.update(0, $0) }
        return CRC32C.update(crc, body)
    }

    /// The bytes a record of `payloadCount` bytes takes in a segment.
    static func frameSize(payloadCount: Int) -> Int {
        headerSize + payloadCount
    }

    /// Appends a data frame for `payload` (at most `SegmentedLog.maxRecordSize` bytes) to `buffer`.
    static func append(_ payload: [UInt8], to buffer: inout [UInt8]) {
        let length = UInt32(payload.count)
        buffer.appendLittleEndian(length)
        buffer.appendLittleEndian(payload.withUnsafeBytes { checksum(length: length, body: $0) })
        buffer.append(contentsOf: payload)
    }

    /// Appends a seal frame to `buffer`.
    static func appendSeal(recordCount: UInt64, nextIndex: UInt64, to buffer: inout [UInt8]) {
        var body: [UInt8] = []
        body.appendLittleEndian(recordCount)
        body.appendLittleEndian(nextIndex)
        buffer.appendLittleEndian(sealMarker)
        buffer.appendLittleEndian(body.withUnsafeBytes { checksum(length: sealMarker, body: $0) })
        buffer.append(contentsOf: body)
    }
}

/// A problem with the frame at some offset of a segment.
enum FrameDamage: Equatable, Sendable, CustomStringConvertible {
    /// Fewer than 8 bytes left for a frame header.
    case shortHeader(available: Int)
    /// The header's length runs past the end of the file.
    case shortPayload(length: Int, available: Int)
    /// The length is larger than `SegmentedLog.maxRecordSize` (and is not the seal marker).
    case badLength(UInt32)
    /// The stored checksum does not match the bytes.
    case checksumMismatch(stored: UInt32, computed: UInt32)

    var description: String {
        switch self {
        case .shortHeader(let available):
            "a record header cut short (\(available) of 8 bytes)"
        case .shortPayload(let length, let available):
            "a record cut short (its header says \(length) payload bytes, \(available) follow)"
        case .badLength(let length):
            "a record length of \(length) bytes, over the \(SegmentedLog.maxRecordSize)-byte limit"
        case .checksumMismatch(let stored, let computed):
            "a CRC-32C mismatch (stored 0x\(hex(stored)), computed 0x\(hex(computed)))"
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
