import CoopSegments

/// What `coop audit replay` and `coop audit history` leave out of a log, said on standard error: a torn last record
/// (the copy was taken while a node wrote, or the file was cut), or records a node wrote but never acknowledged (a
/// failed write or sync). Replay reads the records before them, as the node will when it opens the log; an auditor
/// reading a copy must still be told that the copy ends early.
///
/// Threading: call from the command's task; it reads the log's files (read-only) once more.
enum ReplayTailWarning {
    /// The warnings for the log in `directory` (none when it ends cleanly, or when it cannot be opened: the replay
    /// itself reports that).
    static func lines(directory: String) -> [String] {
        guard let reader = try? LogReader.open(directory: directory) else { return [] }
        var lines: [String] = []
        if let torn = reader.tornTail {
            lines.append(
                "warning: \(torn.path) offset \(torn.offset): a torn last record (\(torn.bytesDropped) bytes, "
                    + "\(torn.detail)); only the \(reader.recordCount) records before it were replayed"
            )
        }
        if let tail = reader.unacknowledgedTail {
            lines.append(
                "warning: \(tail.markerPath): the node stopped after a failed write (\(tail.failedCall), errno "
                    + "\(tail.errno)); only the \(tail.acknowledgedRecords) acknowledged records were replayed, not "
                    + "the \(tail.recordsDropped) written after them"
            )
        }
        return lines
    }

    /// Writes ``lines(directory:)`` to standard error.
    static func emit(directory: String) {
        for line in lines(directory: directory) { CLIOutput.err(line) }
    }
}
