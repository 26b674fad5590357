/// Reads a log's segment files without opening the log: no lock, no repair, no write.
///
/// For auditors working on a copy of a data directory (and for tools that must not disturb a running node's
/// files). It checks every segment the way opening does; a torn last record is reported in ``tornTail`` instead
/// of being cut, and records stop before it. Damage elsewhere throws ``LogError/Code/corrupt`` naming the file
/// and offset. A value; reading blocks on file I/O on the caller's thread.
public struct LogReader: Sendable {
    /// The data directory.
    public let directory: String
    /// Its segment folder, `directory/log`.
    public let logDirectory: String
    /// A torn last record that a node would cut off on open, if there is one.
    public let tornTail: RecoveryReport.TornTail?
    /// Number of complete records.
    public let recordCount: UInt64
    /// Segment files, oldest first.
    public let segmentCount: Int
    let segments: [SegmentInfo]

    /// Scans the segment files of `directory/log`.
    public static func open(directory: String) throws -> LogReader {
        let logDirectory = directory + "/log"
        let numbers = try Recovery.segmentNumbers(in: logDirectory)
        var segments: [SegmentInfo] = []
        var torn: RecoveryReport.TornTail?
        var next: UInt64 = 0
        for (i, number) in numbers.enumerated() {
            let path = logDirectory + "/" + SegmentHeader.fileName(segment: number)
            let scanned = try Recovery.scan(
                number: number,
                path: path,
                isNewest: i == numbers.count - 1,
                firstIndex: next
            )
            next += scanned.info.recordCount
            segments.append(scanned.info)
            torn = scanned.tornTail ?? torn
        }
        return LogReader(
            directory: directory,
            logDirectory: logDirectory,
            tornTail: torn,
            recordCount: next,
            segmentCount: segments.count,
            segments: segments
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
                from: max(index, info.firstIndex),
                verify: verify,
                body
            )
        }
    }
}
