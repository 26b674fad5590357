/// Reads one segment file with `pread` into a buffer it reuses, a chunk at a time, and walks its frames.
///
/// Not copyable and not shared: one owner on one thread. Unlike a memory mapping, a file that shrinks or fails
/// while it is read cannot raise a signal: a short read throws ``LogError/Code/corrupt`` naming the file and the
/// offset where its bytes ended, and a failed read throws ``LogError/Code/io``. Records may span chunks; the
/// buffer grows to hold the largest frame read (at most ``SegmentedLog/maxRecordSize`` plus its header).
struct SegmentFileReader: ~Copyable {
    /// Bytes read per `pread` (more when one frame is larger).
    static let chunkSize = 1 << 20

    let path: String
    /// The reader uses the file's bytes `0..<limit`.
    let limit: Int
    private let fileSystem: any SegmentFileSystem
    private let fd: Int32
    /// Whether errors are worded for `open` (nothing changed yet) or for a read of an open log.
    private let atOpen: Bool
    private var buffer: UnsafeMutableRawBufferPointer
    /// The file offset of `buffer[0]`, and how many bytes of the buffer hold the file's bytes.
    private var windowStart = 0
    private var windowCount = 0

    /// Opens `path`; `limit` is how many bytes the caller expects the file to hold at least (nil: its size now).
    init(fileSystem: any SegmentFileSystem, path: String, limit: UInt64?, atOpen: Bool) throws(LogError) {
        let fd = try fileSystem.openFile(path, .read)
        let size: UInt64
        do {
            size = try fileSystem.fileSize(fd, path: path)
        } catch {
            fileSystem.closeFile(fd)
            throw error
        }
        if let limit, size < limit {
            fileSystem.closeFile(fd)
            throw Self.shortFile(path: path, size: size, expected: limit, atOpen: atOpen)
        }
        self.fileSystem = fileSystem
        self.fd = fd
        self.path = path
        self.limit = Int(limit ?? size)
        self.atOpen = atOpen
        self.buffer = .allocate(byteCount: min(Self.chunkSize, max(self.limit, 64)), alignment: 16)
    }

    deinit {
        buffer.deallocate()
        fileSystem.closeFile(fd)
    }

    /// The file's bytes `offset..<offset + count` (within `limit`), valid until the next call on this reader.
    mutating func bytes(at offset: Int, count: Int) throws(LogError) -> UnsafeRawBufferPointer {
        precondition(offset >= 0 && count >= 0 && offset + count <= limit)
        if offset >= windowStart && offset + count <= windowStart + windowCount {
            let start = offset - windowStart
            return UnsafeRawBufferPointer(rebasing: buffer[start..<start + count])
        }
        if count > buffer.count {
            buffer.deallocate()
            buffer = .allocate(byteCount: max(count, min(buffer.count * 2, limit)), alignment: 16)
        }
        let want = min(buffer.count, limit - offset)
        windowStart = offset
        windowCount = 0
        let read = try fileSystem.preadFully(
            fd,
            into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]),
            at: UInt64(offset),
            path: path
        )
        windowCount = read
        guard read >= count else {
            // Where the file ends now: it may have been cut far below this read (whose bytes before it are still in
            // the window), so the short read alone would name the wrong offset.
            let now = (try? fileSystem.fileSize(fd, path: path)) ?? UInt64(offset + read)
            throw Self.shortFile(
                path: path,
                size: min(now, UInt64(offset + read)),
                expected: UInt64(limit),
                atOpen: atOpen
            )
        }
        return UnsafeRawBufferPointer(rebasing: buffer[0..<count])
    }

    /// The frame at `offset`, as ``FrameScanner/Item``; a record's payload is valid until the next call.
    mutating func frame(at offset: Int, verify: Bool) throws(LogError) -> FrameScanner.Item {
        let available = limit - offset
        if available == 0 { return .end(offset: offset) }
        guard available >= RecordFrame.headerSize else {
            return .damaged(offset: offset, .shortHeader(available: available))
        }
        let length = try bytes(at: offset, count: RecordFrame.headerSize).loadLittleEndianUInt32(at: 0)
        let bodyCount: Int
        if length == RecordFrame.sealMarker {
            bodyCount = RecordFrame.sealBodySize
        } else if length <= SegmentedLog.maxRecordSize {
            bodyCount = Int(length)
        } else {
            return .damaged(offset: offset, .badLength(length))
        }
        guard bodyCount <= available - RecordFrame.headerSize else {
            return .damaged(
                offset: offset,
                .shortPayload(length: bodyCount, available: available - RecordFrame.headerSize)
            )
        }
        let frame = try bytes(at: offset, count: RecordFrame.headerSize + bodyCount)
        var scanner = FrameScanner(bytes: frame, offset: 0)
        switch scanner.next(verify: verify) {
        case .record(_, let payload): return .record(offset: offset, payload: payload)
        case .seal(_, let recordCount, let nextIndex):
            return .seal(offset: offset, recordCount: recordCount, nextIndex: nextIndex)
        case .damaged(_, let damage): return .damaged(offset: offset, damage)
        case .end: return .end(offset: offset)
        }
    }

    /// The length of the data frame at `offset` without reading its payload; nil at a seal, damage or the end.
    mutating func recordLength(at offset: Int) throws(LogError) -> Int? {
        guard limit - offset >= RecordFrame.headerSize else { return nil }
        let length = try bytes(at: offset, count: RecordFrame.headerSize).loadLittleEndianUInt32(at: 0)
        guard length <= SegmentedLog.maxRecordSize, Int(length) <= limit - offset - RecordFrame.headerSize else {
            return nil
        }
        return Int(length)
    }

    private static func shortFile(path: String, size: UInt64, expected: UInt64, atOpen: Bool) -> LogError {
        .corrupt(
            "the file ends at byte offset \(size), but the log expects \(expected) bytes: it was cut short "
                + (atOpen ? "while the log was being opened" : "while it was being read"),
            path: path,
            offset: size,
            atOpen: atOpen
        )
    }
}
