import Dispatch

/// What readers may see of one segment: records that are written (and, when durable, synced).
struct SegmentInfo: Sendable, Equatable {
    var number: UInt32
    /// The index of the segment's first record.
    var firstIndex: UInt64
    var recordCount: UInt64
    /// The offset just past the segment's last record (a seal, if any, follows it).
    var end: UInt64
}

/// The result of one group commit.
struct WriteOutcome: Sendable {
    /// One array per append call, in batch order.
    var positions: [[RecordPosition]] = []
    /// The new state of every segment the commit touched, oldest first.
    var segments: [SegmentInfo] = []
    var syncs: UInt64 = 0
    var segmentsCreated: UInt64 = 0
    /// How long each of the `syncs` took, in nanoseconds, in order.
    var syncNanoseconds: [UInt64] = []
    /// Bytes written to segment files (frames and seals; not new segments' headers).
    var bytes = 0
}

/// Owns the file descriptors of an open log and writes group commits to the newest segment.
///
/// Not copyable; it lives in the log's `writer` mutex and is only used by the writer queue (group commits and
/// close), so its `write` runs on one thread at a time. Closes its descriptors when it goes away.
///
/// When a write or sync of a durable log fails, it writes the failure marker (``FailureMarker``) naming where the
/// acknowledged records end, so that the next open cuts what was never acknowledged instead of presenting it.
struct SegmentWriter: ~Copyable {
    let logDirectory: String
    let segmentSize: UInt64
    let durability: SegmentedLog.Durability
    let faults: FaultInjection
    let fileSystem: any SegmentFileSystem
    /// The descriptor holding the log's `LOCK` file lock.
    private var lockFD: Int32
    /// The newest segment.
    private var fd: Int32
    private var segment: UInt32
    private var path: String
    /// Bytes in the newest segment (its header included).
    private var size: UInt64
    private var firstIndex: UInt64
    private var recordsInSegment: UInt64

    init(
        logDirectory: String,
        lockFD: Int32,
        fd: Int32,
        segment: UInt32,
        size: UInt64,
        firstIndex: UInt64,
        recordsInSegment: UInt64,
        options: SegmentedLog.Options
    ) {
        self.logDirectory = logDirectory
        self.segmentSize = options.segmentSize
        self.durability = options.durability
        self.faults = options.faults
        self.fileSystem = options.fileSystem
        self.lockFD = lockFD
        self.fd = fd
        self.segment = segment
        self.path = logDirectory + "/" + SegmentHeader.fileName(segment: segment)
        self.size = size
        self.firstIndex = firstIndex
        self.recordsInSegment = recordsInSegment
    }

    deinit {
        if fd >= 0 { fileSystem.closeFile(fd) }
        if lockFD >= 0 { fileSystem.closeFile(lockFD) }
    }

    var isClosed: Bool { fd < 0 }

    /// Writes the records of every append call in `batch`, in order, sealing and starting segments as they fill,
    /// and syncs once at the end (when durable). On error the writer must not be used for appends again; a durable
    /// log then writes the failure marker first (the error's message says if even that failed).
    mutating func write(_ batch: [[[UInt8]]]) throws(LogError) -> WriteOutcome {
        guard fd >= 0 else { throw LogError(code: .closed, message: "the log at \(logDirectory) is closed") }
        // Where the acknowledged records end: everything before this commit was synced (durable mode).
        let acknowledged = (records: firstIndex + recordsInSegment, segment: segment, offset: size)
        do {
            return try writeBatch(batch)
        } catch {
            guard durability == .durable else { throw error }
            let marker = FailureMarker(
                acknowledgedRecords: acknowledged.records,
                segment: acknowledged.segment,
                offset: acknowledged.offset,
                failure: error
            )
            do {
                try marker.write(in: logDirectory, fileSystem: fileSystem)
            } catch let markerError {
                var error = error
                error.message +=
                    "; the failure marker \(logDirectory)/\(FailureMarker.fileName) could not be written either "
                    + "(\(markerError.message)), so after reopening, records from number \(acknowledged.records) on "
                    + "may be ones whose write or sync failed"
                throw error
            }
            throw error
        }
    }

    private mutating func writeBatch(_ batch: [[[UInt8]]]) throws(LogError) -> WriteOutcome {
        var outcome = WriteOutcome()
        var buffer: [UInt8] = []
        buffer.reserveCapacity(batch.reduce(0) { $0 + $1.reduce(0) { $0 + RecordFrame.headerSize + $1.count } })
        var buffered: UInt64 = 0
        for records in batch {
            var positions: [RecordPosition] = []
            positions.reserveCapacity(records.count)
            for record in records {
                let frame = UInt64(RecordFrame.frameSize(payloadCount: record.count))
                let inSegment = recordsInSegment + buffered
                if inSegment > 0 && size + UInt64(buffer.count) + frame + UInt64(RecordFrame.sealSize) > segmentSize {
                    RecordFrame.appendSeal(recordCount: inSegment, nextIndex: firstIndex + inSegment, to: &buffer)
                    try flush(&buffer, records: buffered, sealed: true, into: &outcome)
                    buffered = 0
                    try startNextSegment(into: &outcome)
                }
                let index = firstIndex + recordsInSegment + buffered
                positions.append(RecordPosition(segment: segment, offset: size + UInt64(buffer.count), index: index))
                RecordFrame.append(record, to: &buffer)
                buffered += 1
            }
            outcome.positions.append(positions)
        }
        if buffered > 0 {
            try flush(&buffer, records: buffered, sealed: false, into: &outcome)
        }
        return outcome
    }

    /// Syncs (when `sync`) and closes the newest segment, then runs `beforeReleasing` (only if `sync` was asked
    /// for and succeeded), then closes the lock file, which releases the log lock. Does nothing once closed.
    mutating func close(sync: Bool, beforeReleasing: (@Sendable () throws -> Void)?) throws {
        guard fd >= 0 else { return }
        defer {
            if fd >= 0 { fileSystem.closeFile(fd) }
            fileSystem.closeFile(lockFD)
            fd = -1
            lockFD = -1
        }
        guard sync else { return }
        try fileSystem.fullSync(fd, path: path)
        fileSystem.closeFile(fd)
        fd = -1
        try beforeReleasing?()
    }

    /// Writes `buffer` at the end of the newest segment and syncs it if durable or `sealed`.
    private mutating func flush(
        _ buffer: inout [UInt8],
        records: UInt64,
        sealed: Bool,
        into outcome: inout WriteOutcome
    ) throws(LogError) {
        try faults.check(.write, call: "pwrite", path: path)
        let fd = self.fd
        let size = self.size
        let path = self.path
        let fileSystem = self.fileSystem
        try buffer.withBytes { (bytes) throws(LogError) in try fileSystem.pwriteAll(fd, bytes, at: size, path: path) }
        self.size += UInt64(buffer.count)
        outcome.bytes += buffer.count
        recordsInSegment += records
        let end = self.size - (sealed ? UInt64(RecordFrame.sealSize) : 0)
        buffer.removeAll(keepingCapacity: true)
        if sealed || durability == .durable {
            try faults.check(.sync, call: "fdatasync", path: path)
            let started = DispatchTime.now().uptimeNanoseconds
            try fileSystem.dataSync(fd, path: path)
            outcome.syncNanoseconds.append(DispatchTime.now().uptimeNanoseconds &- started)
            outcome.syncs += 1
        }
        outcome.segments.append(
            SegmentInfo(number: segment, firstIndex: firstIndex, recordCount: recordsInSegment, end: end)
        )
    }

    /// Creates the segment after the newest one (which must be sealed and synced) and makes it the newest.
    private mutating func startNextSegment(into outcome: inout WriteOutcome) throws(LogError) {
        guard segment < UInt32.max else {
            throw LogError(code: .tooLarge, message: "\(logDirectory) has reached the last segment number")
        }
        let next = segment + 1
        let newFD = try Self.createSegment(number: next, in: logDirectory, fileSystem: fileSystem)
        fileSystem.closeFile(fd)
        fd = newFD
        firstIndex += recordsInSegment
        recordsInSegment = 0
        segment = next
        path = logDirectory + "/" + SegmentHeader.fileName(segment: next)
        size = UInt64(SegmentHeader.size)
        outcome.segmentsCreated += 1
        outcome.segments.append(SegmentInfo(number: next, firstIndex: firstIndex, recordCount: 0, end: size))
    }

    /// Creates segment file `number` in `logDirectory` with its header, fsyncs it and the directory, and returns
    /// its descriptor (open for reading and writing).
    static func createSegment(
        number: UInt32,
        in logDirectory: String,
        fileSystem: any SegmentFileSystem
    ) throws(LogError) -> Int32 {
        let path = logDirectory + "/" + SegmentHeader.fileName(segment: number)
        let fd = try fileSystem.openFile(path, .createNew)
        do {
            try SegmentHeader(segment: number).bytes.withBytes { (bytes) throws(LogError) in
                try fileSystem.pwriteAll(fd, bytes, at: 0, path: path)
            }
            try fileSystem.fullSync(fd, path: path)
            try fileSystem.syncDirectory(logDirectory)
        } catch {
            fileSystem.closeFile(fd)
            throw error
        }
        return fd
    }
}
