/// Walks the frames of a segment's bytes in memory (a frame read by `SegmentFileReader`, a torn tail).
///
/// A value owned by one thread; it only reads the buffer it was given.
struct FrameScanner {
    enum Item {
        /// A data record whose frame starts at `offset`.
        case record(offset: Int, payload: UnsafeRawBufferPointer)
        /// The segment's seal frame.
        case seal(offset: Int, recordCount: UInt64, nextIndex: UInt64)
        /// The end of the bytes, exactly at a frame boundary.
        case end(offset: Int)
        /// A frame that cannot be read.
        case damaged(offset: Int, FrameDamage)
    }

    let bytes: UnsafeRawBufferPointer
    /// The offset of the next frame.
    private(set) var offset: Int

    init(bytes: UnsafeRawBufferPointer, offset: Int = SegmentHeader.size) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Reads the frame at `offset` and moves past it; a damaged frame or the end leave `offset` where it is.
    /// Without `verify`, data records' checksums are not computed (seals are always checked).
    mutating func next(verify: Bool = true) -> Item {
        let at = offset
        switch Self.frame(in: bytes, at: at, verify: verify) {
        case .end:
            return .end(offset: at)
        case .damaged(let damage):
            return .damaged(offset: at, damage)
        case .record(let payload):
            offset = at + RecordFrame.headerSize + payload.count
            return .record(offset: at, payload: payload)
        case .seal(let recordCount, let nextIndex):
            offset = at + RecordFrame.sealSize
            return .seal(offset: at, recordCount: recordCount, nextIndex: nextIndex)
        }
    }

    /// Skips a data record without checking its checksum; false at a seal, damage or the end.
    mutating func skipRecord() -> Bool {
        let available = bytes.count - offset
        guard available >= RecordFrame.headerSize else { return false }
        let length = bytes.loadLittleEndianUInt32(at: offset)
        guard length <= SegmentedLog.maxRecordSize, Int(length) <= available - RecordFrame.headerSize else {
            return false
        }
        offset += RecordFrame.headerSize + Int(length)
        return true
    }

    /// The offset of the first complete, checksum-valid frame (data or seal) starting after `offset`, if any.
    /// Used by recovery to tell a torn tail (nothing valid follows) from damage in the middle. Tries every byte
    /// offset, in time linear in the bytes after `offset` (see `SubrangeChecksums`), so a large damaged tail cannot
    /// stall recovery.
    static func firstValidFrame(in bytes: UnsafeRawBufferPointer, after offset: Int) -> Int? {
        let start = offset + 1
        guard start + RecordFrame.headerSize <= bytes.count else { return nil }
        let checksums = SubrangeChecksums(bytes: bytes, from: start)
        for candidate in start...(bytes.count - RecordFrame.headerSize) {
            let length = bytes.loadLittleEndianUInt32(at: candidate)
            let bodyCount: Int
            if length == RecordFrame.sealMarker {
                bodyCount = RecordFrame.sealBodySize
            } else if length <= SegmentedLog.maxRecordSize {
                bodyCount = Int(length)
            } else {
                continue
            }
            let bodyStart = candidate + RecordFrame.headerSize
            guard bodyCount <= bytes.count - bodyStart else { continue }
            let lengthCRC = withUnsafeBytes(of: length.littleEndian) { CRC32C.checksum($0) }
            let computed: UInt32
            if bodyCount <= 1024 {
                computed = CRC32C.update(
                    lengthCRC,
                    UnsafeRawBufferPointer(rebasing: bytes[bodyStart..<bodyStart + bodyCount])
                )
            } else {
                let bodyCRC = checksums.checksum(of: bodyStart..<bodyStart + bodyCount)
                computed = CRC32C.combine(lengthCRC, bodyCRC, countB: bodyCount)
            }
            if computed == bytes.loadLittleEndianUInt32(at: candidate + 4) {
                return candidate
            }
        }
        return nil
    }

    private enum Frame {
        case record(UnsafeRawBufferPointer)
        case seal(recordCount: UInt64, nextIndex: UInt64)
        case end
        case damaged(FrameDamage)
    }

    private static func frame(in bytes: UnsafeRawBufferPointer, at offset: Int, verify: Bool) -> Frame {
        let available = bytes.count - offset
        if available == 0 { return .end }
        guard available >= RecordFrame.headerSize else { return .damaged(.shortHeader(available: available)) }
        let length = bytes.loadLittleEndianUInt32(at: offset)
        let stored = bytes.loadLittleEndianUInt32(at: offset + 4)
        let bodyCount: Int
        if length == RecordFrame.sealMarker {
            bodyCount = RecordFrame.sealBodySize
        } else if length <= SegmentedLog.maxRecordSize {
            bodyCount = Int(length)
        } else {
            return .damaged(.badLength(length))
        }
        let bodyStart = offset + RecordFrame.headerSize
        guard bodyCount <= bytes.count - bodyStart else {
            return .damaged(.shortPayload(length: bodyCount, available: bytes.count - bodyStart))
        }
        let body = UnsafeRawBufferPointer(rebasing: bytes[bodyStart..<bodyStart + bodyCount])
        let isSeal = length == RecordFrame.sealMarker
        if verify || isSeal {
            let computed = RecordFrame.checksum(length: length, body: body)
            guard computed == stored else { return .damaged(.checksumMismatch(stored: stored, computed: computed)) }
        }
        if isSeal {
            return .seal(recordCount: body.loadLittleEndianUInt64(at: 0), nextIndex: body.loadLittleEndianUInt64(at: 8))
        }
        return .record(body)
    }
}

/// CRC-32C of any subrange of a buffer in O(log n + 256) time, from checkpoints every 256 bytes.
///
/// CRC(b[i..<j]) = CRC(b[s..<j]) XOR shift(CRC(b[s..<i]), j - i), where s is the start of the checkpoints.
struct SubrangeChecksums {
    private static let stride = 256
    private let bytes: UnsafeRawBufferPointer
    private let start: Int
    /// checkpoints[m] = CRC(bytes[start..<start + m * stride]).
    private let checkpoints: [UInt32]

    init(bytes: UnsafeRawBufferPointer, from start: Int) {
        self.bytes = bytes
        self.start = start
        var checkpoints: [UInt32] = [0]
        var position = start
        while position + Self.stride <= bytes.count {
            let chunk = UnsafeRawBufferPointer(rebasing: bytes[position..<position + Self.stride])
            checkpoints.append(CRC32C.update(checkpoints[checkpoints.count - 1], chunk))
            position += Self.stride
        }
        self.checkpoints = checkpoints
    }

    /// The CRC-32C of `bytes[range]`; `range` must lie at or after `start`.
    func checksum(of range: Range<Int>) -> UInt32 {
        prefix(range.upperBound) ^ CRC32C.shift(prefix(range.lowerBound), byteCount: range.count)
    }

    /// CRC(bytes[start..<end]).
    private func prefix(_ end: Int) -> UInt32 {
        let m = (end - start) / Self.stride
        let from = start + m * Self.stride
        return CRC32C.update(checkpoints[m], UnsafeRawBufferPointer(rebasing: bytes[from..<end]))
    }
}
