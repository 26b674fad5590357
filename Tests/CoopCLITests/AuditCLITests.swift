import CoopLedger
import CoopLog
import CoopSegments
import CoopTestKit
import CoopWire
import Foundation
import Testing

/// `coop audit …` as an auditor uses it (issue 3 §4), and what it does with bad input: a roster that does not
/// match the log, unreadable files, a malformed roster. Logs come from `coop dev generate-log` (seeded) or, for
/// equivocations, from `LogStore` fed hand-signed entries.
@Suite("Audit CLI")
struct AuditCLITests {
    let roster: RosterBook
    let catalog: CatalogBook

    init() throws {
        roster = try Fixtures.roster()
        catalog = try Fixtures.catalog()
    }

    /// Runs `coop` from the repository root.
    static func coop(_ arguments: [String]) throws -> ChildProcess.Result {
        try ChildProcess.run(
            try ChildProcess.product("coop"),
            arguments,
            currentDirectory: ChildProcess.repositoryRoot()
        )
    }

    /// `coop dev generate-log dir/name --entries N --seed S`: a data directory with catalog.json and roster.json.
    static func generate(
        _ dir: CoopTestKit.TemporaryDirectory,
        _ name: String = "node",
        entries: Int = 300,
        seed: UInt64
    ) throws -> String {
        let path = dir.file(name)
        let result = try coop(["dev", "generate-log", path, "--entries", "\(entries)", "--seed", "\(seed)"])
        #expect(result.status == 0, "generate-log: \(result.stderr)")
        return path
    }

    /// The roster file's JSON with `change` applied to its members, written to `path`.
    func writeRoster(_ path: String, _ change: (inout [RosterMember]) -> Void) throws -> RosterBook {
        var edited = roster.roster
        change(&edited.members)
        try JSONWriter.write(try ProtoJSON.json(edited)).write(toFile: path, atomically: true, encoding: .utf8)
        return try RosterBook.load(path: path)
    }

    // MARK: Replay

    @Test("replay --position N --json is the view after N records; --csv has a line per item")
    func replay() throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-audit")
        let node = try Self.generate(dir, seed: 7)
        for n: UInt64 in [0, 1, 137, 300] {
            let result = try Self.coop(["audit", "replay", node, "--position", "\(n)", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            guard case .array(let elements) = try JSONParser.parse(result.stdout) else {
                Issue.record("--json printed no JSON array: \(result.stdoutText.prefix(200))")
                continue
            }
            let states = try elements.map { try ProtoJSON.decode(ItemState.self, from: $0) }
            let expected = try LedgerReplay.view(directory: node, catalog: catalog, roster: roster, limit: .position(n))
            #expect(expected.records == n)
            #expect(states.count == 40)
            #expect(states == expected.view.states, "position \(n)")
        }
        // Past the end: the whole log.
        let past = try Self.coop(["audit", "replay", node, "--position", "5000", "--json"])
        let whole = try LedgerReplay.view(directory: node, catalog: catalog, roster: roster)
        guard case .array(let elements) = try JSONParser.parse(past.stdout) else {
            Issue.record("--json printed no JSON array")
            return
        }
        #expect(try elements.map { try ProtoJSON.decode(ItemState.self, from: $0) } == whole.view.states)

        let csv = try Self.coop(["audit", "replay", node, "--position", "137", "--csv"])
        #expect(csv.status == 0)
        let lines = csv.stdoutText.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 41)
        #expect(lines.first == "item,status,progress,updated_by,updated_at,heads,awaiting_sign_off,note")
        let atPosition = try LedgerReplay.view(directory: node, catalog: catalog, roster: roster, limit: .position(137))
        #expect(lines.dropFirst().map { String($0.prefix { $0 != "," }) } == atPosition.view.states.map(\.itemId))

        let one = try Self.coop(["audit", "replay", node, "--item", "CY-07", "--json"])
        guard case .array(let single) = try JSONParser.parse(one.stdout), single.count == 1 else {
            Issue.record("--item CY-07 --json: \(one.stdoutText)")
            return
        }
        #expect(try ProtoJSON.decode(ItemState.self, from: single[0]) == whole.view.state(of: "CY-07"))
    }

    // MARK: History

    @Test("history lists an item's entries in log order, with how each was treated")
    func history() throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-audit")
        let node = try Self.generate(dir, seed: 8)
        // The item with the most entries.
        let (item, changes) = try catalog.items.map(\.id).prefix(12).map {
            ($0, try LedgerReplay.history(directory: node, catalog: catalog, roster: roster, itemID: $0))
        }.max { $0.1.count < $1.1.count }!
        #expect(changes.count >= 3)
        let result = try Self.coop(["audit", "history", node, item])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdoutText.split(separator: "\n").filter { $0.hasPrefix("#") }
        #expect(rows.map { String($0.prefix { $0 != " " }) } == changes.map { "#\($0.position.index)" })
        let indices = changes.map(\.position.index)
        #expect(indices == indices.sorted())
        // Each change carries the whole body its signed bytes hold (replay leaves `previous` out of the others).
        #expect(changes.contains { $0.body.sequence > 1 })
        for change in changes {
            let signed = try SignedEntry(wireBytes: change.signed)
            #expect(try EntryBody(wireBytes: signed.body) == change.body)
            #expect(change.body.sequence == 1 || change.body.previous.count == 32)
        }
        for (row, change) in zip(rows, changes) {
            #expect(row.contains(change.id.short) && row.contains("\(change.body.origin)#\(change.body.sequence)"))
            if change.disposition.kind == .applied {
                #expect(row.hasSuffix("applied"), "\(row)")
            } else {
                #expect(row.contains(change.disposition.kind.protoValueName), "\(row)")
            }
        }
        #expect(rows.contains { $0.hasSuffix("applied") })
        #expect(result.stdoutText.hasSuffix("\n\(changes.count) entries about \(item)\n"))

        let unknown = try Self.coop(["audit", "history", node, "XX-99"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("XX-99 is not an item of the catalog"))
        // An id no catalog can hold is a usage error, quoted short, not echoed whole.
        let long = try Self.coop(["audit", "history", node, String(repeating: "X", count: 100_000)])
        #expect(long.status == 64 && long.stderr.contains("is not an item id"), "\(long.stderr.prefix(300))")
        #expect(long.stderr.utf8.count < 1_000, "\(long.stderr.utf8.count) bytes on stderr")
    }

    @Test("replay and history of a copy that ends in a torn record say so on stderr, and replay what is before it")
    func tornCopy() throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-audit")
        let node = try Self.generate(dir, seed: 10)
        let whole = try Self.coop(["audit", "replay", node])
        #expect(whole.status == 0 && !whole.stderr.contains("warning"), "\(whole.stderr)")
        let records = try LogTamper(directory: node).records
        // Cut record 250 in the middle: a copy taken while the node wrote it.
        let cut = records[250]
        try LogTamper.truncate(cut.file, to: cut.offset + 20)
        let expected = "a torn last record"
        for arguments in [
            ["audit", "replay", node], ["audit", "history", node, "CY-07"], ["audit", "replay", node, "--json"],
        ] {
            let result = try Self.coop(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(
                result.stderr.contains("warning: \(cut.file) offset \(cut.offset): \(expected)"),
                "\(result.stderr)"
            )
            #expect(result.stderr.contains("only the 250 records before it were replayed"), "\(result.stderr)")
        }
        let replay = try Self.coop(["audit", "replay", node])
        #expect(replay.stdoutText.hasSuffix("items after 250 records\n"), "\(replay.stdoutText)")
        // A position inside what is there needs no warning; one past it does.
        let inside = try Self.coop(["audit", "replay", node, "--position", "100"])
        #expect(inside.status == 0 && !inside.stderr.contains("warning"), "\(inside.stderr)")
        let past = try Self.coop(["audit", "replay", node, "--position", "260"])
        #expect(past.stderr.contains(expected), "\(past.stderr)")
        // diff names the torn copy, whichever side it is on.
        let intact = try Self.generate(dir, "intact", seed: 10)
        for (left, right) in [(node, intact), (intact, node)] {
            let diff = try Self.coop(["audit", "diff", left, right])
            #expect(diff.status == 1, "\(diff.stdoutText)")
            #expect(
                diff.stderr.contains("warning: \(cut.file) offset \(cut.offset): \(expected)")
                    && diff.stderr.contains("only the 250 records before it were compared"),
                "\(diff.stderr)"
            )
            #expect(!diff.stderr.contains(intact), "\(diff.stderr)")
        }
    }

    // MARK: Diff

    @Test("diff: a copy equals itself; a prefix of the log lacks the rest, named per origin")
    func diff() throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-audit")
        let node = try Self.generate(dir, seed: 9)
        let copy = dir.file("copy")
        try LogTamper.copyDirectory(node, to: copy)
        let same = try Self.coop(["audit", "diff", node, copy])
        #expect(same.status == 0, "\(same.stdoutText)")
        #expect(same.stdoutText.split(separator: "\n").filter { $0.hasSuffix("same") }.count == 3)

        // Keep the first 200 records.
        let records = try LogTamper(directory: copy).records
        let cut = records[200]
        try LogTamper.truncate(cut.file, to: cut.offset)
        let prefix = try Self.coop(["audit", "diff", copy, node])
        #expect(prefix.status == 1)
        let reversed = try Self.coop(["audit", "diff", node, copy])
        #expect(reversed.status == 1)
        for origin in Fixtures.nodes {
            let lost = records[200...].filter { $0.origin == origin }.compactMap(\.sequence)
            guard let low = lost.min(), let high = lost.max() else { continue }
            #expect(prefix.stdoutText.contains("left lacks #\(low)…#\(high)"), "\(origin): \(prefix.stdoutText)")
            #expect(reversed.stdoutText.contains("right lacks #\(low)…#\(high)"), "\(origin): \(reversed.stdoutText)")
        }
        #expect(!prefix.stdoutText.contains("FORK"))
    }

    // MARK: Equivocation

    /// A store in `directory` that ingests `entries` in that order (no identity: it only relays).
    func store(_ directory: String, ingesting entries: [SignedEntry]) async throws -> [IngestOutcome] {
        var options = LogStore.Options()
        options.durability = .unsafeNoSync
        let store = try LogStore.open(
            directory: directory,
            roster: roster,
            catalog: catalog,
            identity: nil,
            options: options
        )
        var outcomes: [IngestOutcome] = []
        for entry in entries { outcomes.append(try await store.ingest(entry)) }
        try await store.close()
        return outcomes
    }

    @Test("equivocation: verify exits 3 and names it; two stores that kept different first entries FORK")
    func equivocation() async throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-audit")
        let wuhou = try EntryFactory(origin: "cd-wuhou")
        let first = wuhou.entry(sequence: 1, previous: nil, payload: .comment(Comment(itemId: "CY-01", text: "甲")))
        let second = wuhou.entry(sequence: 1, previous: nil, payload: .comment(Comment(itemId: "CY-01", text: "乙")))
        let other = try EntryFactory(origin: "cq-shapingba").chain(2)
        let left = dir.file("left")
        let right = dir.file("right")
        let leftOutcomes = try await store(left, ingesting: other + [first, second])
        let rightOutcomes = try await store(right, ingesting: [second] + other + [first])
        #expect(leftOutcomes.last == .equivocation(origin: "cd-wuhou", sequence: 1))
        #expect(rightOutcomes.last == .equivocation(origin: "cd-wuhou", sequence: 1))

        let report = try Auditor.verify(directory: left, roster: roster)
        #expect(report.isIntact, "\(report.problems)")
        #expect(report.records == 4 && report.entries == 3)
        #expect(report.equivocations.count == 1)
        let e = try #require(report.equivocations.first)
        #expect(e.origin == "cd-wuhou" && e.sequence == 1 && e.position.index == 3)
        #expect(e.first == EntryID(of: first) && e.second == EntryID(of: second))

        let verify = try Self.coop(["audit", "verify", left, "--roster", Fixtures.rosterPath])
        #expect(verify.status == 3, "\(verify.stderr)")
        #expect(verify.stdoutText.contains("4 records, 3 entries, 2 origins, 1 equivocations"))
        #expect(!verify.stdoutText.contains("ok: intact"))
        #expect(
            verify.stderr.contains(
                "equivocation: cd-wuhou signed two different entries #1: \(EntryID(of: first).short) and "
                    + "\(EntryID(of: second).short) (evidence in record #3)"
            ),
            "\(verify.stderr)"
        )
        #expect(try Self.coop(["audit", "verify", right, "--roster", Fixtures.rosterPath]).status == 3)

        let fork = try Self.coop(["audit", "diff", left, right])
        #expect(fork.status == 3, "\(fork.stdoutText)")
        let row = fork.stdoutText.split(separator: "\n").first { $0.hasPrefix("cd-wuhou") }
        #expect(row?.contains("FORK at #1: different entries") == true, "\(fork.stdoutText)")
        #expect(
            fork.stdoutText.split(separator: "\n").first { $0.hasPrefix("cq-shapingba") }?.hasSuffix("same") == true
        )
        // Both hold the same evidence count, so the fork is the only difference named for cd-wuhou.
        #expect(row?.contains("equivocation evidence") == false)
    }

    // MARK: Bad input

    @Test("a roster that does not match the log: wrong key, missing node, malformed or unreadable file")
    func mismatchedRoster() throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-audit")
        let node = try Self.generate(dir, entries: 120, seed: 10)
        let records = try LogTamper(directory: node).records

        // cq-shapingba listed with cd-wuhou's signing key: each of its entries fails its signature, nothing else.
        let wuhouKey = try #require(roster.member("cd-wuhou")?.signingPublicKey)
        let rekeyed = try writeRoster(dir.file("rekeyed.json")) { members in
            for i in members.indices where members[i].id == "cq-shapingba" { members[i].signingPublicKey = wuhouKey }
        }
        let report = try Auditor.verify(directory: node, roster: rekeyed)
        let shapingba = records.filter { $0.origin == "cq-shapingba" }
        let firstOfShapingba = try #require(shapingba.first)
        #expect(report.problems.count == min(shapingba.count, Auditor.maxProblems))
        #expect(
            report.problems.map(\.position?.index) == shapingba.prefix(Auditor.maxProblems).map { UInt64($0.index) }
        )
        #expect(
            report.problems.allSatisfy { $0.reason == "the signature does not verify with cq-shapingba's roster key" }
        )
        let rekeyedCLI = try Self.coop(["audit", "verify", node, "--roster", dir.file("rekeyed.json")])
        #expect(rekeyedCLI.status == 1)
        #expect(
            rekeyedCLI.stderr.contains(
                "first bad entry: \(firstOfShapingba.file) offset \(firstOfShapingba.offset) (record "
                    + "#\(firstOfShapingba.index)), entry cq-shapingba#1: the signature does not verify"
            ),
            "\(rekeyedCLI.stderr)"
        )

        // A roster without cd-qingbaijiang (and its staff, whose home node it is).
        let smaller = try writeRoster(dir.file("smaller.json")) { members in
            members.removeAll { $0.id == "cd-qingbaijiang" || $0.homeNode == "cd-qingbaijiang" }
        }
        let missing = try Auditor.verify(directory: node, roster: smaller)
        let qingbaijiang = records.filter { $0.origin == "cd-qingbaijiang" }
        let firstOfQingbaijiang = try #require(qingbaijiang.first)
        let firstMissing = try #require(missing.problems.first)
        #expect(firstMissing.position?.index == UInt64(firstOfQingbaijiang.index))
        #expect(firstMissing.origin == "cd-qingbaijiang" && firstMissing.sequence == 1)
        #expect(missing.problems.allSatisfy { $0.reason == "origin \"cd-qingbaijiang\" is not a peer in the roster" })
        #expect(missing.problems.count == min(qingbaijiang.count, Auditor.maxProblems))
        let smallerCLI = try Self.coop(["audit", "verify", node, "--roster", dir.file("smaller.json")])
        #expect(smallerCLI.status == 1)
        #expect(
            smallerCLI.stderr.contains(
                "entry cd-qingbaijiang#1: origin \"cd-qingbaijiang\" is not a peer in the roster"
            )
        )

        // An unknown key in the roster file: refused before anything is read, naming the key and its line.
        let text = try String(contentsOfFile: Fixtures.rosterPath, encoding: .utf8)
        try text.replacingOccurrences(of: "\"keyEpoch\"", with: "\"keyEpoc\"")
            .write(toFile: dir.file("typo.json"), atomically: true, encoding: .utf8)
        let typo = try Self.coop(["audit", "verify", node, "--roster", dir.file("typo.json")])
        #expect(typo.status == 1)
        #expect(typo.stderr.hasPrefix("error: \(dir.file("typo.json")): "), "\(typo.stderr)")
        #expect(typo.stderr.contains("unknown field \"keyEpoc\""), "\(typo.stderr)")
        #expect(typo.stdoutText.isEmpty)

        // An unreadable roster file: exit 2.
        let absent = try Self.coop(["audit", "verify", node, "--roster", dir.file("absent.json")])
        #expect(absent.status == 2)
        #expect(absent.stderr.contains("\(dir.file("absent.json")): cannot read"), "\(absent.stderr)")
        // Without --roster the default is DIR/roster.json.
        try FileManager.default.removeItem(atPath: node + "/roster.json")
        let noDefault = try Self.coop(["audit", "verify", node])
        #expect(noDefault.status == 2)
        #expect(noDefault.stderr.contains("\(node)/roster.json: cannot read"), "\(noDefault.stderr)")
    }

    @Test("unreadable or odd log folders: clear errors, no crash")
    func unreadableLog() throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-audit")
        let node = try Self.generate(dir, entries: 20, seed: 12)

        // No log folder at all.
        let empty = dir.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect(throws: LogError.self) { try Auditor.verify(directory: empty, roster: roster) }
        let noLog = try Self.coop(["audit", "verify", empty, "--roster", Fixtures.rosterPath])
        #expect(noLog.stderr.hasPrefix("error: "), "\(noLog.stderr)")
        #expect(noLog.stderr.contains("\(empty)/log"), "\(noLog.stderr)")
        #expect(noLog.stdoutText.isEmpty)
        #expect(noLog.status != 0 && noLog.status != 3)
        // A missing log folder is "cannot read" (2), not "problem found" (1).
        #expect(noLog.status == 2)
        let replayNoLog = try Self.coop([
            "audit", "replay", empty, "--roster", Fixtures.rosterPath, "--catalog", Fixtures.catalogPath,
        ])
        #expect(replayNoLog.status != 0 && replayNoLog.stderr.contains("\(empty)/log"))
        let diffNoLog = try Self.coop(["audit", "diff", node, empty])
        #expect(diffNoLog.status != 0 && diffNoLog.stderr.contains("\(empty)/log"))

        // Files in log/ that are not segments are ignored; a .seg file with a malformed name is damage, named.
        try Data("notes".utf8).write(to: URL(fileURLWithPath: node + "/log/README.txt"))
        #expect(try Auditor.verify(directory: node, roster: roster).isIntact)
        #expect(try Self.coop(["audit", "verify", node]).status == 0)
        let stray = node + "/log/1.seg"
        try FileManager.default.copyItem(atPath: node + "/log/00000001.seg", toPath: stray)
        let report = try Auditor.verify(directory: node, roster: roster)
        #expect(report.problems.count == 1 && report.problems.first?.file == stray, "\(report.problems)")
        #expect(report.problems.first?.reason.contains("segment files are named like 00000001.seg") == true)
        let strayCLI = try Self.coop(["audit", "verify", node])
        #expect(strayCLI.status == 1)
        #expect(strayCLI.stderr.contains("error: first bad entry: \(stray)"), "\(strayCLI.stderr)")
        try FileManager.default.removeItem(atPath: stray)

        // A segment whose header is not one (its magic overwritten).
        let segment = node + "/log/00000001.seg"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: segment)))
        bytes.replaceSubrange(0..<8, with: Array("NOTALOG!".utf8))
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        let junk = try Self.coop(["audit", "verify", node])
        #expect(junk.status == 1)
        #expect(junk.stderr.contains("first bad entry: \(segment) offset 0 (record #0): "), "\(junk.stderr)")
        #expect(junk.stderr.contains("bad segment header magic"), "\(junk.stderr)")
    }
}
