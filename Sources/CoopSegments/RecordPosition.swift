/// Where a record is in the log. A plain value; thread-safe.
public struct RecordPosition: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The segment number (`00000001.seg` is segment 1).
    public var segment: UInt32
    /// The byte offset of the record's frame header in the segment file.
    public var offset: UInt64
    /// The record's 0-based number in the whole log.
    public var index: UInt64

    public init(segment: UInt32, offset: UInt64, index: UInt64) {
        self.segment = segment
        self.offset = offset
        self.index = index
    }

    /// Orders by `index` (positions from one log never share an index).
    public static func < (lhs: RecordPosition, rhs: RecordPosition) -> Bool {
        (lhs.index, lhs.segment, lhs.offset) < (rhs.index, rhs.segment, rhs.offset)
    }

    public var description: String {
        "#\(index) (\(SegmentHeader.fileName(segment: segment)) @\(offset))"
    }
}

/// A record read back from the log, with its bytes copied out. A plain value; thread-safe.
public struct StoredRecord: Hashable, Sendable {
    /// Where the record is.
    public var position: RecordPosition
    /// The bytes that were appended.
    public var payload: [UInt8]

    public init(position: RecordPosition, payload: [UInt8]) {
        self.position = position
        self.payload = payload
    }
}
