/// Checks every segment of a log directory and repairs what a crash or a failed sync leaves at its end.
///
/// Used by `SegmentedLog.open` while it holds the log lock, on the caller's thread, and (read-only: ``scanLog``)
/// by ``LogReader``. It scans everything first and changes files only when the whole log checked out, so a
/// `.corrupt` error leaves the files as they were. All file access goes through a ``SegmentFileSystem``.
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
        /// For the newest segment: the file does not hold its whole header, which must be (re)written.
        var needsHeader = false
    }

    /// What a scan of a whole log directory found, before anything is changed.
    struct LogScan {
        /// The segments that hold acknowledged records (all of them, unless a failure marker says otherwise).
        var scanned: [Scanned]
        var recordCount: UInt64
        /// The names in the log directory.
        var names: [String]
        /// The failure marker, if there is one, and what it would cut.
        var marker: FailureMarker?
        var unacknowledged: RecoveryReport.UnacknowledgedTail?
    }

    /// Scans every segment of `logDirectory` (changing nothing); a failure marker limits the scan to the
    /// acknowledged records and describes the rest in `unacknowledged`.
    static func scanLog(
        logDirectory: String,
        fileSystem: any SegmentFileSystem,
        onRecord: ((RecordPosition, UnsafeRawBufferPointer) -> Void)? = nil
    ) throws(LogError) -> LogScan {
        let names = try fileSystem.listDirectory(logDirectory)
        let numbers = try segmentNumbers(names: names, logDirectory: logDirectory)
        let marker = try FailureMarker.read(in: logDirectory, names: names, fileSystem: fileSystem)
        if let marker {
            try check(marker, numbers: numbers, logDirectory: logDirectory)
        }
        var scanned: [Scanned] = []
        var nextIndex: UInt64 = 0
        for (i, number) in numbers.enumerated() {
            if let marker, number > marker.segment { break }
            let path = logDirectory + "/" + SegmentHeader.fileName(segment: number)
            let segment = try scan(
                number: number,
                path: path,
                isNewest: i == numbers.count - 1,
                firstIndex: nextIndex,
                acknowledgedEnd: number == marker?.segment ? marker?.offset : nil,
                fileSystem: fileSystem,
                onRecord: onRecord
            )
            nextIndex += segment.info.recordCount
            scanned.append(segment)
        }
        var result = LogScan(scanned: scanned, recordCount: nextIndex, names: names, marker: marker)
        if let marker {
            let markerPath = logDirectory + "/" + FailureMarker.fileName
            guard nextIndex == marker.acknowledgedRecords else {
                throw LogError.corrupt(
                    "the failure marker says \(marker.acknowledgedRecords) records were acknowledged before a failed "
                        + "\(marker.call), ending in \(SegmentHeader.fileName(segment: marker.segment)) at byte offset "
                        + "\(marker.offset), but the segments hold \(nextIndex) records up to there",
                    path: markerPath,
                    offset: nil
                )
            }
            result.unacknowledged = try unacknowledgedTail(
                after: marker,
                numbers: numbers,
                logDirectory: logDirectory,
                fileSystem: fileSystem
            )
        }
        return result
    }

    static func run(logDirectory: String, fileSystem: any SegmentFileSystem) throws(LogError) -> Result {
        let scan = try scanLog(logDirectory: logDirectory, fileSystem: fileSystem)
        let scanned = scan.scanned
        // Everything checked out; now repair the newest segment, or start one.
        var segments = scanned.map(\.info)
        var created: [String] = []
        var tornTail: RecoveryReport.TornTail?
        var fd: Int32
        var size: UInt64
        if let unacknowledged = scan.unacknowledged, let newest = scanned.last {
            // Cut what was never acknowledged and make the cut durable, then remove the marker.
            for name in unacknowledged.removedSegments.reversed() {
                try fileSystem.unlink(logDirectory + "/" + name)
            }
            if !unacknowledged.removedSegments.isEmpty {
                try fileSystem.syncDirectory(logDirectory)
            }
            fd = try fileSystem.openFile(newest.path, .readWrite)
            size = unacknowledged.offset
            do {
                if newest.fileSize != size {
                    try fileSystem.truncate(fd, to: size, path: newest.path)
                    try fileSystem.fullSync(fd, path: newest.path)
                }
                try removeMarkers(names: scan.names, logDirectory: logDirectory, fileSystem: fileSystem)
            } catch {
                fileSystem.closeFile(fd)
                throw error
            }
        } else if let newest = scanned.last {
            if scan.names.contains(FailureMarker.temporaryName) {
                // An incomplete marker (a crash while it was written): nothing was cut on its account.
                try removeMarkers(names: scan.names, logDirectory: logDirectory, fileSystem: fileSystem)
            }
            fd = try fileSystem.openFile(newest.path, .readWrite)
            size = newest.fileSize
            do {
                if let torn = newest.tornTail {
                    try fileSystem.truncate(fd, to: torn.offset, path: newest.path)
                    size = torn.offset
                    tornTail = torn
                }
                if newest.needsHeader {
                    try SegmentHeader(segment: newest.number).bytes.withBytes { (bytes) throws(LogError) in
                        try fileSystem.pwriteAll(fd, bytes, at: 0, path: newest.path)
                    }
                    size = UInt64(SegmentHeader.size)
                }
                if newest.tornTail != nil || newest.needsHeader {
                    try fileSystem.fullSync(fd, path: newest.path)
                }
                if newest.sealed {
                    // A crash came between sealing this segment and creating the next one.
                    fileSystem.closeFile(fd)
                    fd = -1
                    fd = try SegmentWriter.createSegment(
                        number: newest.number + 1,
                        in: logDirectory,
                        fileSystem: fileSystem
                    )
                    size = UInt64(SegmentHeader.size)
                    created.append(SegmentHeader.fileName(segment: newest.number + 1))
                    segments.append(
                        SegmentInfo(number: newest.number + 1, firstIndex: scan.recordCount, recordCount: 0, end: size)
                    )
                }
            } catch {
                if fd >= 0 { fileSystem.closeFile(fd) }
                throw error
            }
        } else {
            fd = try SegmentWriter.createSegment(number: 1, in: logDirectory, fileSystem: fileSystem)
            size = UInt64(SegmentHeader.size)
            created.append(SegmentHeader.fileName(segment: 1))
            segments.append(SegmentInfo(number: 1, firstIndex: 0, recordCount: 0, end: size))
        }
        var report = RecoveryReport(
            segmentCount: segments.count,
            recordCount: scan.recordCount,
            tornTail: tornTail,
            createdSegments: created
        )
        report.unacknowledgedTail = scan.unacknowledged
        return Result(segments: segments, fd: fd, size: size, report: report)
    }

    /// The segment numbers among `names` (the files of `logDirectory`), which must be 1, 2, 3, … with no gaps.
    static func segmentNumbers(names: [String], logDirectory: String) throws(LogError) -> [UInt32] {
        var numbers: [UInt32] = []
        for name in names where name.hasSuffix(SegmentHeader.fileExtension) {
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

    /// Reads and checks one segment file. With `acknowledgedEnd` (from a failure marker) only its bytes before
    /// that offset are read, and they must be whole records: they were acknowledged.
    static func scan(
        number: UInt32,
        path: String,
        isNewest: Bool,
        firstIndex: UInt64,
        acknowledgedEnd: UInt64? = nil,
        fileSystem: any SegmentFileSystem,
        onRecord: ((RecordPosition, UnsafeRawBufferPointer) -> Void)? = nil
    ) throws(LogError) -> Scanned {
        var reader = try SegmentFileReader(fileSystem: fileSystem, path: path, limit: nil, atOpen: true)
        let fileSize = UInt64(reader.limit)
        let headerEnd = UInt64(SegmentHeader.size)
        var result = Scanned(
            number: number,
            path: path,
            info: SegmentInfo(number: number, firstIndex: firstIndex, recordCount: 0, end: headerEnd),
            fileSize: fileSize
        )
        if let acknowledgedEnd, fileSize < acknowledgedEnd {
            throw LogError.corrupt(
                "the file is \(fileSize) bytes, but the failure marker says acknowledged records end at byte offset "
                    + "\(acknowledgedEnd): acknowledged records are missing",
                path: path,
                offset: fileSize
            )
        }
        if isNewest && acknowledgedEnd == nil && fileSize <= headerEnd {
            let bytes = Array(try reader.bytes(at: 0, count: Int(fileSize)))
            if bytes != SegmentHeader(segment: number).bytes {
                try checkPartialHeader(bytes, number: number, path: path)
                result.needsHeader = true
                if fileSize > 0 {
                    result.tornTail = RecoveryReport.TornTail(
                        path: path,
                        offset: 0,
                        bytesDropped: fileSize,
                        reason: .partialSegmentHeader,
                        detail: "\(fileSize) bytes of a 16-byte header that was not completely written "
                            + "(a crash while the segment was being created)"
                    )
                }
                return result
            }
        }
        guard fileSize >= headerEnd else {
            throw LogError.corrupt(
                "the file is \(fileSize) bytes, shorter than the 16-byte segment header, and it is not the newest "
                    + "segment",
                path: path,
                offset: fileSize
            )
        }
        try SegmentHeader.validate(try reader.bytes(at: 0, count: SegmentHeader.size), expected: number, path: path)
        let limit = Int(acknowledgedEnd ?? fileSize)
        var offset = SegmentHeader.size
        while true {
            let item = offset == limit ? .end(offset: offset) : try reader.frame(at: offset, verify: true)
            switch item {
            case .record(_, let payload):
                let end = offset + RecordFrame.headerSize + payload.count
                if end > limit {
                    throw LogError.corrupt(
                        "a record runs past the offset \(limit) where the failure marker says acknowledged records end",
                        path: path,
                        offset: UInt64(offset)
                    )
                }
                onRecord?(
                    RecordPosition(
                        segment: number,
                        offset: UInt64(offset),
                        index: firstIndex + result.info.recordCount
                    ),
                    payload
                )
                result.info.recordCount += 1
                result.info.end = UInt64(end)
                offset = end
            case .seal(_, let recordCount, let nextIndex):
                let count = result.info.recordCount
                guard acknowledgedEnd == nil else {
                    throw LogError.corrupt(
                        "an end-of-segment marker before the offset \(limit) where the failure marker says "
                            + "acknowledged records end",
                        path: path,
                        offset: UInt64(offset)
                    )
                }
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
            case .end:
                guard isNewest || acknowledgedEnd != nil else {
                    throw LogError.corrupt(
                        "the segment ends without its end-of-segment marker, but a newer segment exists: the file "
                            + "was cut short (or a newer segment was added by hand)",
                        path: path,
                        offset: UInt64(offset)
                    )
                }
                return result
            case .damaged(_, let damage):
                guard isNewest, acknowledgedEnd == nil else {
                    throw LogError.corrupt(
                        acknowledgedEnd == nil
                            ? "\(damage) in a segment that is not the newest"
                            : "\(damage) before the offset \(limit) where the failure marker says acknowledged "
                                + "records end",
                        path: path,
                        offset: UInt64(offset)
                    )
                }
                result.tornTail = try tornTail(
                    at: offset,
                    damage: damage,
                    reader: &reader,
                    path: path
                )
                return result
            }
        }
    }

    /// Decides whether the damaged frame at `offset` of the newest segment starts a torn tail (returned) or is
    /// damage inside the log (thrown as `.corrupt`).
    ///
    /// A torn tail is what a crash leaves of writes that were never synced, so never acknowledged: the bytes after
    /// the last synced one are each either what was written or what was there before, zeros past the old end of
    /// the file, in pieces of a disk sector (512 bytes) that can reach the disk in any order. So it is a torn tail
    /// when no valid frame follows the damage, or when one does but a sector between the damage and that frame reads
    /// all zeros — a sector that was lost while a later one was written (the rule etcd's write-ahead log uses for
    /// torn writes). A bad frame followed by valid ones with no lost sector between is damage.
    private static func tornTail(
        at offset: Int,
        damage: FrameDamage,
        reader: inout SegmentFileReader,
        path: String
    ) throws(LogError) -> RecoveryReport.TornTail {
        let fileSize = reader.limit
        let tail = try reader.bytes(at: offset, count: fileSize - offset)
        var detail = "\(damage), and no valid record after it"
        if let next = FrameScanner.firstValidFrame(in: tail, after: 0) {
            guard let zeros = lostSector(in: tail, base: offset, end: offset + next) else {
                throw LogError.corrupt(
                    "\(damage), followed by a valid record at byte offset \(offset + next) with no lost sector in "
                        + "between: this is damage inside the log, not a torn last write",
                    path: path,
                    offset: UInt64(offset)
                )
            }
            detail =
                "\(damage); bytes \(zeros.lowerBound)..<\(zeros.upperBound) read as zeros (a sector the crash "
                + "lost) while a later valid record at byte offset \(offset + next) was written: an unsynced write "
                + "that reached the disk out of order"
        }
        return RecoveryReport.TornTail(
            path: path,
            offset: UInt64(offset),
            bytesDropped: UInt64(fileSize - offset),
            reason: RecoveryReport.Reason(damage),
            detail: detail
        )
    }

    /// The bytes of a sector-aligned run of zeros in `base..<end` that ends at a 512-byte boundary and starts at
    /// one or at `base` (the first frame's sector may begin with synced bytes); `tail` holds the file from `base`.
    static func lostSector(in tail: UnsafeRawBufferPointer, base: Int, end: Int) -> Range<Int>? {
        let sector = 512
        var start = base
        while start < end {
            let boundary = (start / sector + 1) * sector
            guard boundary <= end else { return nil }
            let chunk = UnsafeRawBufferPointer(rebasing: tail[(start - base)..<(boundary - base)])
            if chunk.allSatisfy({ $0 == 0 }) { return start..<boundary }
            start = boundary
        }
        return nil
    }

    /// Checks that the `bytes` (at most 16) of the newest segment are the start of its header, possibly followed
    /// by zeros (a header write the crash lost).
    private static func checkPartialHeader(_ bytes: [UInt8], number: UInt32, path: String) throws(LogError) {
        let header = SegmentHeader(segment: number).bytes
        let matching = zip(bytes, header).prefix { $0 == $1 }.count
        guard bytes[matching...].allSatisfy({ $0 == 0 }) else {
            throw LogError.corrupt(
                "the file is \(bytes.count) bytes, not more than the 16-byte segment header, and they are not the "
                    + "start of this segment's header",
                path: path,
                offset: 0
            )
        }
    }

    /// The failure marker must point into an existing segment, after its header.
    private static func check(_ marker: FailureMarker, numbers: [UInt32], logDirectory: String) throws(LogError) {
        guard marker.segment >= 1, marker.segment <= UInt32(numbers.count), marker.offset >= UInt64(SegmentHeader.size)
        else {
            throw LogError.corrupt(
                "the failure marker says acknowledged records end in "
                    + "\(SegmentHeader.fileName(segment: marker.segment)) at byte offset \(marker.offset), but "
                    + (marker.offset < UInt64(SegmentHeader.size)
                        ? "that is inside the segment header" : "the log has \(numbers.count) segments"),
                path: logDirectory + "/" + FailureMarker.fileName,
                offset: nil
            )
        }
    }

    /// What lies after the acknowledged end a marker names: counted leniently (it was never acknowledged, so it
    /// may be anything a failed write left).
    private static func unacknowledgedTail(
        after marker: FailureMarker,
        numbers: [UInt32],
        logDirectory: String,
        fileSystem: any SegmentFileSystem
    ) throws(LogError) -> RecoveryReport.UnacknowledgedTail {
        var records: UInt64 = 0
        var bytes: UInt64 = 0
        var removed: [String] = []
        for number in numbers where number >= marker.segment {
            let path = logDirectory + "/" + SegmentHeader.fileName(segment: number)
            let from = number == marker.segment ? Int(marker.offset) : SegmentHeader.size
            let counted = try countRecords(path: path, from: from, fileSystem: fileSystem)
            records += counted.records
            if number == marker.segment {
                bytes += counted.fileSize - UInt64(from)
            } else {
                bytes += counted.fileSize
                removed.append(SegmentHeader.fileName(segment: number))
            }
        }
        return RecoveryReport.UnacknowledgedTail(
            markerPath: logDirectory + "/" + FailureMarker.fileName,
            acknowledgedRecords: marker.acknowledgedRecords,
            path: logDirectory + "/" + SegmentHeader.fileName(segment: marker.segment),
            offset: marker.offset,
            recordsDropped: records,
            bytesDropped: bytes,
            removedSegments: removed,
            failedCall: marker.call,
            errno: marker.errno,
            failureMessage: marker.message
        )
    }

    /// Complete, valid data records from `from` until the first seal, damage or the end.
    private static func countRecords(
        path: String,
        from: Int,
        fileSystem: any SegmentFileSystem
    ) throws(LogError) -> (records: UInt64, fileSize: UInt64) {
        var reader = try SegmentFileReader(fileSystem: fileSystem, path: path, limit: nil, atOpen: true)
        var records: UInt64 = 0
        var offset = from
        while offset < reader.limit, case .record(_, let payload) = try reader.frame(at: offset, verify: true) {
            records += 1
            offset += RecordFrame.headerSize + payload.count
        }
        return (records, UInt64(reader.limit))
    }

    /// Removes the failure marker and its temporary file, durably.
    private static func removeMarkers(
        names: [String],
        logDirectory: String,
        fileSystem: any SegmentFileSystem
    ) throws(LogError) {
        for name in [FailureMarker.fileName, FailureMarker.temporaryName] where names.contains(name) {
            try fileSystem.unlink(logDirectory + "/" + name)
        }
        try fileSystem.syncDirectory(logDirectory)
    }
}
