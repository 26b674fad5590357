#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a log's segment files without opening the log: no lock, no repair, no write.
///
/// For auditors working on a copy of a data directory (and for tools that must not disturb a running node's
/// files). It checks every segment the way opening does; a torn last record is reported in ``tornTail`` instead
/// of being cut, and records stop before it. After a failed write or sync (a failure marker in `log/`), records
/// stop at the last acknowledged one and ``unacknowledgedTail`` describes what an open would cut. Damage elsewhere
/// throws ``LogError/Code/corrupt`` naming the file and offset.
///
/// **Threading.** A value; reading blocks on file I/O on the caller's thread. Files are read with `pread`, so a
/// file that shrinks or fails while it is read (a node cutting a torn tail, a disk error) ends the read with
/// ``LogError/Code/corrupt`` or ``LogError/Code/io`` naming the file and offset, never with a signal.
public struct LogReader: Sendable {
    /// The data directory.
    public let directory: String
    /// Its segment folder, `directory/log`.
    public let logDirectory: String
    /// A torn last record that a node would cut off on open, if there is one.
    public let tornTail: RecoveryReport.TornTail?
    /// Records whose write or sync failed, past the last acknowledged one, that a node would cut off on open.
    public let unacknowledgedTail: RecoveryReport.UnacknowledgedTail?
    /// Number of complete records.
    public let recordCount: UInt64
    /// Segment files, oldest first.
    public let segmentCount: Int
    let segments: [SegmentInfo]
    let fileSystem: any SegmentFileSystem

    /// Scans the segment files of `directory/log`.
    public static func open(directory: String) throws -> LogReader {
        try open(directory: directory, fileSystem: RealFileSystem())
    }

    /// Scans the segment files of `directory/log` on `fileSystem`.
    package static func open(directory: String, fileSystem: any SegmentFileSystem) throws -> LogReader {
        let logDirectory = directory + "/log"
        let scan: Recovery.LogScan
        do {
            scan = try Recovery.scanLog(logDirectory: logDirectory, fileSystem: fileSystem)
        } catch {
            throw Self.explained(error, directory: directory, logDirectory: logDirectory)
        }
        return LogReader(
            directory: directory,
            logDirectory: logDirectory,
            tornTail: scan.scanned.last?.tornTail,
            unacknowledgedTail: scan.unacknowledged,
            recordCount: scan.recordCount,
            segmentCount: scan.scanned.count,
            segments: scan.scanned.map(\.info),
            fileSystem: fileSystem
        )
    }

    /// `error`, or, when it says that `logDirectory` does not exist, an error that says what that means: the directory
    /// given is not a node's data directory (a node makes `log/` when it first opens its store). Still `.io`, and still
    /// naming `logDirectory`.
    static func explained(_ error: LogError, directory: String, logDirectory: String) -> LogError {
        guard error.path == logDirectory, let system = error.cause as? LogError.SystemError, system.errno == ENOENT
        else { return error }
        return LogError(
            code: .io,
            message: "\(directory) holds no log (\(logDirectory) does not exist): it is not a node's data directory, "
                + "or the node never opened its store there. Give the data directory a node was configured with "
                + "(its `data_dir`)",
            path: logDirectory,
            cause: error
        )
    }

    /// The file name of a segment.
    public func path(ofSegment number: UInt32) -> String {
        logDirectory + "/" + SegmentHeader.fileName(segment: number)
    }

    /// Calls `body` with each complete record from index `from` on, in order; `payload` is valid only during
    /// the call. Stops at the first error `body` throws and rethrows it.
    public func forEachRecord(
        from index: UInt64 = 0,
        verifyingChecksums verify: Bool = true,
        _ body: (RecordPosition, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        for info in segments where info.recordCount > 0 && info.firstIndex + info.recordCount > index {
            try SegmentedLog.read(
                info,
                path: path(ofSegment: info.number),
                fileSystem: fileSystem,
                from: max(index, info.firstIndex),
                verify: verify,
                body
            )
        }
    }
}

extension LogReader {
    /// What ``scanAll(directory:onRecord:)`` found.
    public struct ScanOutcome: Sendable {
        /// Complete records delivered.
        public var records: UInt64 = 0
        /// A torn last record (not delivered).
        public var tornTail: RecoveryReport.TornTail?
        /// Damage that stopped the scan, and the number of the record it sits at (complete records before it).
        public var damage: LogError?
        public var damageIndex: UInt64?
        /// The segment where the damage is.
        public var damageSegment: UInt32?
        /// After a failed write or sync: the records past the last acknowledged one (not delivered).
        public var unacknowledgedTail: RecoveryReport.UnacknowledgedTail?

        /// Nothing read yet.
        package init() {}
    }

    /// Reads every complete record in order until damage, for auditors: unlike ``open(directory:)`` it does not
    /// give up before the first record when a segment further on is damaged. Records before the damage are all
    /// delivered; the damage is returned with its file, offset and record number. After a failed write or sync (a
    /// failure marker), records stop at the last acknowledged one and ``ScanOutcome/unacknowledgedTail`` says what
    /// follows. Throws only when the folder cannot be read (``LogError/Code/io``).
    public static func scanAll(
        directory: String,
        onRecord: (RecordPosition, UnsafeRawBufferPointer) -> Void
    ) throws -> ScanOutcome {
        try scanAll(directory: directory, fileSystem: RealFileSystem(), onRecord: onRecord)
    }

    /// ``scanAll(directory:onRecord:)`` on `fileSystem`.
    package static func scanAll(
        directory: String,
        fileSystem: any SegmentFileSystem,
        onRecord: (RecordPosition, UnsafeRawBufferPointer) -> Void
    ) throws -> ScanOutcome {
        let logDirectory = directory + "/log"
        var scan = ScanOutcome()
        let numbers: [UInt32]
        let marker: FailureMarker?
        let names: [String]
        do {
            names = try fileSystem.listDirectory(logDirectory)
        } catch {
            throw Self.explained(error, directory: directory, logDirectory: logDirectory)
        }
        do {
            numbers = try Recovery.segmentNumbers(names: names, logDirectory: logDirectory)
            marker = try FailureMarker.read(in: logDirectory, names: names, fileSystem: fileSystem)
        } catch {
            guard error.code == .corrupt else { throw error }
            scan.damage = error
            scan.damageIndex = 0
            return scan
        }
        for (i, number) in numbers.enumerated() {
            if let marker, number > marker.segment { break }
            let path = logDirectory + "/" + SegmentHeader.fileName(segment: number)
            var delivered: UInt64 = 0
            do {
                // Recovery.scan takes an optional (so formally escaping) callback; it only calls it while scanning.
                let scanned = try withoutActuallyEscaping(onRecord) { (deliver) throws(LogError) in
                    try Recovery.scan(
                        number: number,
                        path: path,
                        isNewest: i == numbers.count - 1,
                        firstIndex: scan.records,
                        acknowledgedEnd: number == marker?.segment ? marker?.offset : nil,
                        fileSystem: fileSystem
                    ) { position, payload in
                        delivered += 1
                        deliver(position, payload)
                    }
                }
                scan.records += scanned.info.recordCount
                scan.tornTail = scanned.tornTail ?? scan.tornTail
            } catch {
                guard error.code == .corrupt else { throw error }
                scan.damage = error
                scan.damageIndex = scan.records + delivered
                scan.damageSegment = number
                scan.records += delivered
                return scan
            }
        }
        if marker != nil {
            do {
                scan.unacknowledgedTail = try Recovery.scanLog(logDirectory: logDirectory, fileSystem: fileSystem)
                    .unacknowledged
            } catch {
                guard error.code == .corrupt else { throw error }
                scan.damage = error
                scan.damageIndex = scan.records
            }
        }
        return scan
    }
}
