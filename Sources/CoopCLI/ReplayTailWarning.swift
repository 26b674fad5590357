import CoopSegments

/// What `coop audit replay`, `history` and `diff` leave out of a log, said on standard error: a torn last record
/// (the copy was taken while a node wrote, or the file was cut), or records a node wrote but never acknowledged (a
/// failed write or sync). Replay reads the records before them, as the node will when it opens the log; an auditor
/// reading a copy must still be told that the copy ends early.
///
/// Threading: call from the command's task; it reads the log's files (read-only) once more.
enum ReplayTailWarning {
    /// The warnings for the log in `directory` (none when it ends cleanly, or when it cannot be opened: the command
    /// itself reports that); `used` says what was done with the records before the tail ("replayed", "compared").
    static func lines(directory: String, used: String = "replayed") -> [String] {
        guard let reader = try? LogReader.open(directory: directory) else { return [] }
        var lines: [String] = []
        if let torn = reader.tornTail {
            lines.append("warning: \(describe(torn)); only the \(reader.recordCount) records before it were \(used)")
        }
        if let tail = reader.unacknowledgedTail {
            lines.append(
                "warning: \(tail.markerPath): the node stopped after a failed write (\(tail.failedCall), errno "
                    + "\(tail.errno)); only the \(tail.acknowledgedRecords) acknowledged records were \(used), not "
                    + "the \(tail.recordsDropped) written after them"
            )
        }
        return lines
    }

    /// A torn last record as the audit commands name it: the file, the offset, the bytes and why.
    static func describe(_ torn: RecoveryReport.TornTail) -> String {
        "\(torn.path) offset \(torn.offset): a torn last record (\(torn.bytesDropped) bytes, \(torn.detail))"
    }

    /// Writes ``lines(directory:used:)`` to standard error.
    static func emit(directory: String, used: String = "replayed") {
        for line in lines(directory: directory, used: used) { CLIOutput.err(line) }
    }
}
