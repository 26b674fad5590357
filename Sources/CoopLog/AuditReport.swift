public import CoopLedger
public import CoopSegments
public import CoopWire

/// One thing wrong in a log, at the record where it shows.
public struct AuditProblem: Sendable, CustomStringConvertible {
    /// The record, when the problem is in one.
    public var position: RecordPosition?
    /// The file.
    public var file: String
    /// Byte offset in the file, when known.
    public var offset: UInt64?
    /// The entry's origin and sequence number, when known.
    public var origin: String?
    public var sequence: UInt64?
    /// What is wrong.
    public var reason: String

    public var description: String {
        var at = file
        if let offset { at += " offset \(offset)" }
        if let position { at += " (record #\(position.index))" }
        if let origin, let sequence { at += ", entry \(origin)#\(sequence)" }
        return "\(at): \(reason)"
    }
}

/// Evidence of equivocation found in a log.
public struct AuditedEquivocation: Sendable, CustomStringConvertible {
    public var origin: String
    public var sequence: UInt64
    public var first: EntryID
    public var second: EntryID
    public var position: RecordPosition

    public var description: String {
        "\(origin) signed two different entries #\(sequence): \(first.short) and \(second.short) "
            + "(evidence in record #\(position.index))"
    }
}

/// What `coop audit verify` found.
public struct AuditReport: Sendable {
    /// Complete records read.
    public var records: UInt64 = 0
    /// Entries among them.
    public var entries: UInt64 = 0
    /// Per origin: highest sequence number and the entry id there.
    public var origins: [OriginDigest] = []
    /// Equivocations the log holds evidence of (the log itself may still be intact).
    public var equivocations: [AuditedEquivocation] = []
    /// The local chain value after the last record.
    public var chainHead: [UInt8] = RecordCodec.genesis
    /// A torn last record (a crash artifact a node cuts off on open; also what truncating a file looks like).
    public var tornTail: RecoveryReport.TornTail?
    /// Records written after a failed write or sync, never acknowledged (the node's failure marker says where the
    /// acknowledged records end); not read, and cut off by the node when it opens the log.
    public var unacknowledgedTail: RecoveryReport.UnacknowledgedTail?
    /// Problems, by record order; the first is the first bad entry.
    public var problems: [AuditProblem] = []

    /// No problem, no torn tail and no unacknowledged tail.
    public var isIntact: Bool { problems.isEmpty && tornTail == nil && unacknowledgedTail == nil }
}
