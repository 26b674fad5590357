/// What opening a log found and repaired. A plain value; thread-safe.
///
/// Opening repairs two things, and says so here. A torn tail at the end of the newest segment (a write that a crash
/// interrupted before its fsync, so nobody was told it was stored) is cut off and described in ``tornTail``. After a
/// write or sync failed (the log wrote a failure marker, `log/FAILURE`), the records past the last acknowledged one
/// are cut off and described in ``unacknowledgedTail``. Any other damage makes `open` throw
/// ``LogError/Code/corrupt`` instead.
public struct RecoveryReport: Sendable, CustomStringConvertible {
    /// Why the bytes at the end of the newest segment were cut off.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case shortHeader
            case shortPayload
            case badLength
            case checksumMismatch
            case partialSegmentHeader
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// Fewer than 8 bytes of a record header.
        public static let shortHeader = Reason(.shortHeader)
        /// A header whose length runs past the end of the file.
        public static let shortPayload = Reason(.shortPayload)
        /// A length over ``SegmentedLog/maxRecordSize``.
        public static let badLength = Reason(.badLength)
        /// A complete frame whose CRC-32C does not match.
        public static let checksumMismatch = Reason(.checksumMismatch)
        /// The segment file holds only part of its 16-byte header (a crash while the segment was being created);
        /// the header is written again.
        public static let partialSegmentHeader = Reason(.partialSegmentHeader)

        init(_ damage: FrameDamage) {
            switch damage {
            case .shortHeader: self = .shortHeader
            case .shortPayload: self = .shortPayload
            case .badLength: self = .badLength
            case .checksumMismatch: self = .checksumMismatch
            }
        }

        public var description: String {
            switch wrapped {
            case .shortHeader: "shortHeader"
            case .shortPayload: "shortPayload"
            case .badLength: "badLength"
            case .checksumMismatch: "checksumMismatch"
            case .partialSegmentHeader: "partialSegmentHeader"
            }
        }
    }

    /// A torn tail that was cut off.
    public struct TornTail: Hashable, Sendable, CustomStringConvertible {
        /// The segment file.
        public var path: String
        /// Where the torn record started; the file now ends here.
        public var offset: UInt64
        /// How many bytes were cut off.
        public var bytesDropped: UInt64
        /// Why.
        public var reason: Reason
        /// The details, for a person.
        public var detail: String

        public var description: String {
            "\(path): cut \(bytesDropped) bytes at byte offset \(offset) (\(reason): \(detail))"
        }
    }

    /// Records cut off because a write or sync failed before they were acknowledged (from the failure marker).
    public struct UnacknowledgedTail: Hashable, Sendable, CustomStringConvertible {
        /// The marker file that said where the acknowledged records end (`log/FAILURE`); removed after the cut.
        public var markerPath: String
        /// How many records were acknowledged; the log now holds exactly these.
        public var acknowledgedRecords: UInt64
        /// The segment file where the acknowledged records end, and the offset it was cut at.
        public var path: String
        public var offset: UInt64
        /// Complete records found after that point (written, never acknowledged) and cut off.
        public var recordsDropped: UInt64
        /// Bytes cut off, in all files (removed segment files included).
        public var bytesDropped: UInt64
        /// Newer segment files that were removed, oldest first.
        public var removedSegments: [String]
        /// The call that failed (`fdatasync`, `pwrite`, …), its `errno`, and its message, as the marker recorded.
        public var failedCall: String
        public var errno: Int32
        public var failureMessage: String

        public var description: String {
            var text =
                "after a failed \(failedCall) (errno \(errno)): kept the \(acknowledgedRecords) acknowledged records; "
                + "cut \(recordsDropped) unacknowledged records (\(bytesDropped) bytes) at byte offset \(offset) "
                + "of \(path)"
            if !removedSegments.isEmpty {
                text += " and removed \(removedSegments.joined(separator: ", "))"
            }
            return text + " (marker \(markerPath): \(failureMessage))"
        }
    }

    /// How many segment files the log has after opening.
    public var segmentCount: Int
    /// How many records the log holds after opening.
    public var recordCount: UInt64
    /// The torn tail that was cut off, if there was one.
    public var tornTail: TornTail?
    /// Records that a failed write or sync had left unacknowledged, cut off at open, if there were any.
    public var unacknowledgedTail: UnacknowledgedTail?
    /// Segment files that opening created (the first one of a new log, or the next one after a sealed newest
    /// segment).
    public var createdSegments: [String]

    /// True when nothing was cut off.
    public var isClean: Bool { tornTail == nil && unacknowledgedTail == nil }

    public var description: String {
        var text = "\(recordCount) records in \(segmentCount) segments"
        if let tornTail {
            text += "; torn tail: \(tornTail)"
        }
        if let unacknowledgedTail {
            text += "; \(unacknowledgedTail)"
        }
        if !createdSegments.isEmpty {
            text += "; created \(createdSegments.joined(separator: ", "))"
        }
        return text
    }
}
