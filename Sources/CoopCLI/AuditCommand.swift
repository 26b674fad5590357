import ArgumentParser
import CoopLedger
import CoopLog
import CoopWire
import Foundation

/// `coop audit …`: offline checks of a copy of a node's data directory.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify and replay a node's log offline, from a copy of its data directory.",
        discussion: """
            Works on the files alone: no daemon, no network, nothing written. The catalog and roster default to \
            DIR/catalog.json and DIR/roster.json.
            """,
        subcommands: [AuditVerify.self, AuditReplay.self, AuditHistory.self, AuditDiff.self]
    )
}

/// The data directory and the reference files to judge it by.
struct DataDirectoryOptions: ParsableArguments {
    @Argument(help: "A copy of a node's data directory (holding log/).")
    var directory: String

    @Option(name: .long, help: "The roster file. Default: DIR/roster.json.")
    var roster: String?

    @Option(name: .long, help: "The catalog file. Default: DIR/catalog.json.")
    var catalog: String?

    func rosterBook() throws -> RosterBook {
        try RosterBook.load(path: roster ?? directory + "/roster.json")
    }

    func catalogBook(_ roster: RosterBook) throws -> CatalogBook {
        try CatalogBook.load(path: catalog ?? directory + "/catalog.json", roster: roster)
    }

    func validate() throws {
        try ArgumentCheck.notEmpty(directory, "<directory>")
        try ArgumentCheck.notEmpty(roster, "--roster")
        try ArgumentCheck.notEmpty(catalog, "--catalog")
    }
}

struct AuditVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check framing, CRCs, chains, sequence numbers, signatures and equivocations.",
        discussion: """
            Exit 0: intact. Exit 1: something is wrong; the first bad entry is named (segment file, offset, \
            record, origin and sequence number when known) with the reason. Exit 3: the log is intact but holds \
            evidence that a node signed two different entries with one sequence number.
            """
    )

    @OptionGroup var data: DataDirectoryOptions

    func run() async throws {
        let roster: RosterBook
        do { roster = try data.rosterBook() } catch { throw CLIOutput.fail(error) }
        let bar = ProgressBar(label: "verifying", unit: .bytes)
        let report: AuditReport
        do {
            report = try Auditor.verify(directory: data.directory, roster: roster) { done, total in
                bar.update(done, of: total)
            }
        } catch {
            bar.finish()
            throw CLIOutput.fail(error)
        }
        bar.finish()
        CLIOutput.out(
            "\(data.directory): \(report.records) records, \(report.entries) entries, "
                + "\(report.origins.count) origins, \(report.equivocations.count) equivocations"
        )
        for origin in report.origins {
            CLIOutput.out("  \(origin.origin)  #\(origin.sequence)  head \(Hex.encode(origin.head.prefix(6)))")
        }
        // The chain-head line; its format is fixed in docs/LOG-FORMAT.md ("The local chain").
        CLIOutput.out("  local chain head \(Hex.encode(report.chainHead)) after \(report.records) records")
        if let torn = report.tornTail {
            CLIOutput.err(
                "error: \(ReplayTailWarning.describe(torn)); a node cuts it off when it opens the log, or the file was "
                    + "truncated"
            )
        }
        if let tail = report.unacknowledgedTail {
            CLIOutput.err(
                "error: \(tail.markerPath): the node stopped after a failed write; \(tail.acknowledgedRecords) records "
                    + "were acknowledged and were checked; \(tail.recordsDropped) records after them were never "
                    + "acknowledged (a node cuts them off when it opens the log): \(tail.failedCall) failed with errno "
                    + "\(tail.errno): \(tail.failureMessage)"
            )
        }
        if let first = report.problems.first {
            CLIOutput.err("error: first bad entry: \(first)")
            for problem in report.problems.dropFirst() { CLIOutput.err("  then: \(problem)") }
        }
        if !report.isIntact { throw ExitCode(CLIOutput.invalid) }
        if !report.equivocations.isEmpty {
            for e in report.equivocations { CLIOutput.err("equivocation: \(e)") }
            throw ExitCode(3)
        }
        CLIOutput.out("ok: intact")
    }
}

struct AuditReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Show the ledger as it was: at a log position, at a time, or now.",
        discussion: """
            --position N: after the first N records, exactly as the node's view was then. --at TIME: entries \
            written (hybrid clock) at or before TIME, an ISO 8601 date or date-time in UTC. Signatures are not \
            checked (use `coop audit verify`).
            """
    )

    @OptionGroup var data: DataDirectoryOptions

    @Option(name: .long, help: "Replay up to this time (e.g. 2025-06-30 or 2025-06-30T12:00:00Z).")
    var at: String?

    @Option(name: .long, parsing: .unconditional, help: "Replay the first N records.")
    var position: UInt64?

    @Option(name: .long, help: "Show only this item.")
    var item: String?

    @Flag(name: .long, help: "JSON: a list of coop.v1.ItemState objects.")
    var json = false

    @Flag(name: .long, help: "CSV with a header line.")
    var csv = false

    func validate() throws {
        if at != nil && position != nil { throw ValidationError("give --at or --position, not both") }
        if json && csv { throw ValidationError("give --json or --csv, not both") }
        if let item { try ArgumentCheck.itemID(item, "--item") }
        if let at {
            do {
                _ = try Timestamps.parse(at)
            } catch {
                throw ValidationError(
                    "--at \(CLIOutput.quoted(at)): \(error.reason); give a date (2025-06-30) or a date-time in UTC "
                        + "(2025-06-30T12:00:00Z), years 0000–9999"
                )
            }
        }
    }

    func run() async throws {
        do {
            let roster = try data.rosterBook()
            let catalog = try data.catalogBook(roster)
            var limit = LedgerReplay.Limit.end
            if let position { limit = .position(position) }
            if let at { limit = .time(wallMs: try Timestamps.parse(at)) }
            let (view, records) = try LedgerReplay.view(
                directory: data.directory,
                catalog: catalog,
                roster: roster,
                limit: limit
            )
            var states = view.states
            if let item {
                guard let state = view.state(of: item) else {
                    throw CLIOutput.fail("\(item) is not an item of the catalog")
                }
                states = [state]
            }
            if json {
                CLIOutput.out(JSONWriter.write(.array(try states.map { try ProtoJSON.json($0) })))
            } else if csv {
                CLIOutput.out("item,status,progress,updated_by,updated_at,heads,awaiting_sign_off,note")
                for s in states {
                    let fields = [
                        s.itemId, s.status.protoValueName, "\(s.progress)", s.updatedBy, Timestamps.format(s.updatedAt),
                        "\(s.heads.count)", s.awaitingSignOff ? "true" : "false", s.note,
                    ]
                    CLIOutput.out(fields.map(CSV.field).joined(separator: ","))
                }
            } else {
                CLIOutput.out(ItemTable.render(states))
                CLIOutput.out("\n\(states.count) items after \(records) records")
            }
            if position.map({ $0 > records }) ?? true { ReplayTailWarning.emit(directory: data.directory) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw CLIOutput.fail(error)
        }
    }
}

struct AuditHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Every change to one item: when, who, signed by which key, from what to what."
    )

    @OptionGroup var data: DataDirectoryOptions

    @Argument(help: "The item id, e.g. CY-07.")
    var item: String

    func validate() throws {
        try ArgumentCheck.itemID(item, "<item>")
    }

    func run() async throws {
        do {
            let roster = try data.rosterBook()
            let catalog = try data.catalogBook(roster)
            let changes = try LedgerReplay.history(
                directory: data.directory,
                catalog: catalog,
                roster: roster,
                itemID: item
            )
            var table = TextTable(["Record", "When (UTC)", "Entry", "By", "Key", "Change", "Treated"])
            for c in changes {
                table.add([
                    "#\(c.position.index)", Timestamps.format(c.body.timestamp), c.id.short,
                    "\(c.body.origin)#\(c.body.sequence)", c.keyFingerprint, Self.describe(c),
                    c.disposition.kind == .applied
                        ? "applied" : "\(c.disposition.kind.protoValueName): \(c.disposition.reason)",
                ])
            }
            CLIOutput.out(table.render())
            CLIOutput.out("\n\(changes.count) entries about \(item)")
            ReplayTailWarning.emit(directory: data.directory)
        } catch {
            throw CLIOutput.fail(error)
        }
    }

    static func describe(_ c: LedgerReplay.Change) -> String {
        switch c.body.payload {
        case .statusUpdate(let u):
            let from = "\(ItemTable.short(c.before.status)) \(c.before.progress)%"
            let to = "\(ItemTable.short(c.after.status)) \(c.after.progress)%"
            let heads = c.after.heads.count > 1 ? " [\(c.after.heads.count) heads]" : ""
            return "\(from) → \(to)\(heads) (wrote \(ItemTable.short(u.status)) \(u.progress)%)"
        case .comment(let comment):
            return "comment: \(comment.text)"
        case .signOff(let s):
            return "sign-off of \(EntryID(bytes: s.entryId)?.short ?? "?") by \(s.signer)"
        case nil:
            return "(no payload)"
        }
    }
}

struct AuditDiff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two nodes' logs: per origin, what one has that the other lacks, and any forks.",
        discussion: "Exit 0 when both hold the same entries, 1 when they differ, 3 when they fork."
    )

    @Argument(help: "The first data directory.")
    var left: String

    @Argument(help: "The second data directory.")
    var right: String

    func validate() throws {
        try ArgumentCheck.notEmpty(left, "<left>")
        try ArgumentCheck.notEmpty(right, "<right>")
    }

    func run() async throws {
        let comparisons: [LedgerReplay.OriginComparison]
        do {
            comparisons = try LedgerReplay.diff(left: left, right: right)
        } catch {
            throw CLIOutput.fail(error)
        }
        var table = TextTable(["Origin", "Left", "Right", "Difference"])
        var differ = false
        var forked = false
        for c in comparisons {
            var notes: [String] = []
            if let fork = c.forkAt {
                notes.append("FORK at #\(fork): different entries")
                forked = true
            }
            if c.left > c.right { notes.append("right lacks #\(c.right + 1)…#\(c.left)") }
            if c.right > c.left { notes.append("left lacks #\(c.left + 1)…#\(c.right)") }
            if c.leftEvidence != c.rightEvidence {
                notes.append("equivocation evidence: left \(c.leftEvidence), right \(c.rightEvidence)")
            }
            differ = differ || !notes.isEmpty
            table.add([c.origin, "#\(c.left)", "#\(c.right)", notes.isEmpty ? "same" : notes.joined(separator: "; ")])
        }
        CLIOutput.out(table.render())
        for directory in [left, right] { ReplayTailWarning.emit(directory: directory, used: "compared") }
        if forked { throw ExitCode(3) }
        if differ { throw ExitCode(1) }
    }
}
