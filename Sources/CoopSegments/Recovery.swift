#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks every segment of a log directory and repairs a torn tail of the newest one.
///
/// Used by `SegmentedLog.open` while it holds the log lock, on the caller's thread. It scans everything first and
/// changes files only when the whole log checked out, so a `.corrupt` error leaves the files as they were.
enum Recovery {
    struct Result {
        /// What readers may see; never empty.
        var segments: [SegmentInfo]
        /// The newest segment, open for reading and writing.
        var fd: Int32
        /// Its size in bytes.
        var size: UInt64
        var report: RecoveryReport
    }

    /// What a scan found in one segment file.
    struct Scanned {
        var number: UInt32
        var path: String
        var info: SegmentInfo
        var fileSize: UInt64
        var sealed = false
        /// For the newest segment: bytes to cut off.
        var tornTail: RecoveryReport.TornTail?
        /// For the newest segment: the file is shorter than its header, which must be (re)written.
        var needsHeader = false
    }

    static func run(logDirectory: String) throws(LogError) -> Result {
        let numbers = try segmentNumbers(in: logDirectory)
        var scanned: [Scanned] = []
        var nextIndex: UInt64 = 0
        for (i, number) in numbers.enumerated() {
            let path = logDirectory + "/" + SegmentHeader.fileName(segment: number)
            let segment = try scan(number: number, path: path, isNewest: i == numbers.count - 1, firstIndex: nextIndex)
            nextIndex += segment.info.recordCount
            scanned.append(segment)
        }

        // Everything checked out; now repair the newest segment, or start one.
        var segments = scanned.map(\.info)
        var created: [String] = []
        var tornTail: RecoveryReport.TornTail?
        var fd: Int32
        var size: UInt64
        if let newest = scanned.last {
            fd = try Syscall.openFile(newest.path, O_RDWR)
            size = newest.fileSize
            do {
                if let torn = newest.tornTail {
                    try Syscall.truncate(fd, to: torn.offset, path: newest.path)
                    size = torn.offset
                    tornTail = torn
                }
                if newest.needsHeader {
                    try SegmentHeader(segment: newest.number).bytes.withBytes { (bytes) throws(LogError) in
                        try Syscall.pwriteAll(fd, bytes, at: 0, path: newest.path)
                    }
                    size = UInt64(SegmentHeader.size)
                }
                if newest.tornTail != nil || newest.needsHeader {
                    try Syscall.fullSync(fd, path: newest.path)
                }
                if newest.sealed {
                    // A crash came between sealing this segment and creating the next one.
                    Syscall.closeFile(fd)
                    fd = -1
                    fd = try SegmentWriter.createSegment(number: newest.number + 1, in: logDirectory)
                    size = UInt64(SegmentHeader.size)
                    created.append(SegmentHeader.fileName(segment: newest.number + 1))
                    segments.append(
                        SegmentInfo(number: newest.number + 1, firstIndex: nextIndex, recordCount: 0, end: size)
                    )
                }
            } catch {
                if fd >= 0 { Syscall.closeFile(fd) }
                throw error
            }
        } else {
            fd = try SegmentWriter.createSegment(number: 1, in: logDirectory)
            size = UInt64(SegmentHeader.size)
            created.append(SegmentHeader.fileName(segment: 1))
            segments.append(SegmentInfo(number: 1, firstIndex: 0, recordCount: 0, end: size))
        }
        let report = RecoveryReport(
            segmentCount: segments.count,
            recordCount: nextIndex,
            tornTail: tornTail,
            createdSegments: created
        )
        return Result(segments: segments, fd: fd, size: size, report: report)
    }

    /// The segment numbers in `logDirectory`, which must be 1, 2, 3, … with no gaps.
    static func segmentNumbers(in logDirectory: String) throws(LogError) -> [UInt32] {
        var numbers: [UInt32] = []
        for name in try Syscall.listDirectory(logDirectory) where name.hasSuffix(SegmentHeader.fileExtension) {
            guard let number = SegmentHeader.segmentNumber(fileName: name) else {
                throw LogError.corrupt(
                    "unexpected file name: segment files are named like 00000001.seg",
                    path: logDirectory + "/" + name,
                    offset: nil
                )
            }
            numbers.append(number)
        }
        numbers.sort()
        for (i, number) in numbers.enumerated() where number != UInt32(i + 1) {
            let missing = SegmentHeader.fileName(segment: UInt32(i + 1))
            let what =
                i == 0
                ? "the first segment is missing (the oldest file is \(SegmentHeader.fileName(segment: number)))"
                : "this segment is missing between \(SegmentHeader.fileName(segment: UInt32(i))) and "
                    + SegmentHeader.fileName(segment: number)
            throw LogError.corrupt(what, path: logDirectory + "/" + missing, offset: nil)
        }
        return numbers
    }

    /// Reads and checks one segment file.
    static func scan(
        number: UInt32,
        path: String,
        isNewest: Bool,
        firstIndex: UInt64,
        onRecord: ((RecordPosition, UnsafeRawBufferPointer) -> Void)? = nil
    ) throws(LogError) -> Scanned {
        let fd = try Syscall.openFile(path, O_RDONLY)
        let fileSize: UInt64
        do {
            fileSize = try Syscall.fileSize(fd, path: path)
        } catch {
            Syscall.closeFile(fd)
            throw error
        }
        let headerEnd = UInt64(SegmentHeader.size)
        var result = Scanned(
            number: number,
            path: path,
            info: SegmentInfo(number: number, firstIndex: firstIndex, recordCount: 0, end: headerEnd),
            fileSize: fileSize
        )
        if fileSize < headerEnd {
            defer { Syscall.closeFile(fd) }
            guard isNewest else {
                throw LogError.corrupt(
                    "the file is \(fileSize) bytes, shorter than the 16-byte segment header, and it is not the "
                        + "newest segment",
                    path: path,
                    offset: fileSize
                )
            }
            try checkPartialHeader(fd: fd, count: Int(fileSize), number: number, path: path)
            result.needsHeader = true
            if fileSize > 0 {
                result.tornTail = RecoveryReport.TornTail(
                    path: path,
                    offset: 0,
                    bytesDropped: fileSize,
                    reason: .partialSegmentHeader,
                    detail: "\(fileSize) of the 16 header bytes (a crash while the segment was being created)"
                )
            }
            return result
        }
        Syscall.closeFile(fd)
        let file = try MappedFile(path: path, count: Int(fileSize))
        try SegmentHeader.validate(file.bytes, expected: number, path: path)
        var scanner = FrameScanner(bytes: file.bytes)
        while true {
            switch scanner.next(verify: true) {
            case .record(let offset, let payload):
                onRecord?(
                    RecordPosition(
                        segment: number,
                        offset: UInt64(offset),
                        index: firstIndex + result.info.recordCount
                    ),
                    payload
                )
                result.info.recordCount += 1
                result.info.end = UInt64(offset + RecordFrame.headerSize + payload.count)
            case .seal(let offset, let recordCount, let nextIndex):
                let count = result.info.recordCount
                guard recordCount == count, nextIndex == firstIndex + count else {
                    throw LogError.corrupt(
                        "the end-of-segment marker says \(recordCount) records, the next one numbered \(nextIndex), "
                            + "but the segment holds \(count) records from number \(firstIndex)",
                        path: path,
                        offset: UInt64(offset)
                    )
                }
                let sealEnd = UInt64(offset + RecordFrame.sealSize)
                guard sealEnd == fileSize else {
                    throw LogError.corrupt(
                        "\(fileSize - sealEnd) unexpected bytes after the end-of-segment marker",
                        path: path,
                        offset: sealEnd
                    )
                }
                result.sealed = true
                return result
            case .end(let offset):
                guard isNewest else {
                    throw LogError.corrupt(
                        "the segment ends without its end-of-segment marker, but a newer segment exists: the file "
                            + "was cut short (or a newer segment was added by hand)",
                        path: path,
                        offset: UInt64(offset)
                    )
                }
                return result
            case .damaged(let offset, let damage):
                guard isNewest else {
                    throw LogError.corrupt(
                        "\(damage) in a segment that is not the newest",
                        path: path,
                        offset: UInt64(offset)
                    )
                }
                if let next = FrameScanner.firstValidFrame(in: file.bytes, after: offset) {
                    throw LogError.corrupt(
                        "\(damage), followed by a valid record at byte offset \(next): this is damage inside the log, "
                            + "not a torn last write",
                        path: path,
                        offset: UInt64(offset)
                    )
                }
                result.tornTail = RecoveryReport.TornTail(
                    path: path,
                    offset: UInt64(offset),
                    bytesDropped: fileSize - UInt64(offset),
                    reason: RecoveryReport.Reason(damage),
                    detail: "\(damage), and no valid record after it"
                )
                return result
            }
        }
    }

    /// Checks that the `count` (< 16) bytes of the newest segment are the start of its header.
    private static func checkPartialHeader(fd: Int32, count: Int, number: UInt32, path: String) throws(LogError) {
        guard count > 0 else { return }
        var bytes = [UInt8](repeating: 0, count: count)
        let read = try bytes.withMutableBytes { (buffer) throws(LogError) in
            try Syscall.preadFully(fd, into: buffer, at: 0, path: path)
        }
        guard read == count, bytes.elementsEqual(SegmentHeader(segment: number).bytes.prefix(count)) else {
            throw LogError.corrupt(
                "the file is \(count) bytes, shorter than the 16-byte segment header, and they are not the start of "
                    + "this segment's header",
                path: path,
                offset: 0
            )
        }
    }
}
