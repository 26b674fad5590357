import CoopLedger
import CoopTestKit
import CoopWire
import Foundation
import Testing

/// `coop item …` as real child processes against a ``TestNode`` over CurveZMQ on tcp 127.0.0.1: what they print (the
/// JSON mapping and the tables), their exit codes, and what reached the node.
@Suite("coop item against a node", .serialized)
struct ItemCLITests {
    /// Runs `coop` with `arguments` and returns the result.
    static func coop(
        _ arguments: [String],
        environment: [String: String] = [:],
        stdin: [UInt8] = []
    ) async throws
        -> CLIProcess.Result
    {
        try await CLIProcess.run(arguments, environment: environment, stdin: stdin)
    }

    /// `text` parsed as JSON.
    static func json(_ text: String) throws -> JSONValue {
        try JSONParser.parse(text)
    }

    @Test("list --json: every item, as the ListItemsResponse mapping; the node knows the caller by its key")
    func listJSON() async throws {
        let dir = try TemporaryDirectory("coop-item")
        try await TestNode.with(in: dir) { node in
            let result = try await Self.coop(["item", "list", "--json"] + node.asStaff)
            #expect(result.status == 0, "\(result)")
            let json = try Self.json(result.stdout)
            guard case .array(let items)? = json["items"] else {
                Issue.record("no items array: \(result.stdout)")
                return
            }
            #expect(items.map { $0["item"]?["id"] } == ["CY-01", "CY-07", "CY-12"].map { .string($0) })
            #expect(items[1]["state"]?["status"] == .string("ITEM_STATUS_IN_PROGRESS"))
            #expect(node.fake.calls.map(\.caller) == [TestNode.staffID])
            #expect(result.stderr.isEmpty, "no warning over CurveZMQ: \(result.stderr)")
        }
    }

    @Test("list filters reach the node: --status (repeated, any spelling), --participant, --conflicts")
    func listFilters() async throws {
        let dir = try TemporaryDirectory("coop-item")
        try await TestNode.with(in: dir) { node in
            let result = try await Self.coop(
                [
                    "item", "list", "--status", "in-progress", "--status", "ITEM_STATUS_COMPLETED", "--participant",
                    "cd-wuhou", "--conflicts", "--json",
                ] + node.asStaff
            )
            #expect(result.status == 0, "\(result)")
            let request = try #require(node.fake.state.withLock { $0.listRequests.first })
            #expect(request.statuses == [.inProgress, .completed])
            #expect(request.participant == "cd-wuhou")
            #expect(request.conflictsOnly)
            guard case .array(let items)? = try Self.json(result.stdout)["items"] else {
                Issue.record("no items: \(result.stdout)")
                return
            }
            #expect(items.map { $0["item"]?["id"] } == [.string("CY-07")])
        }
    }

    @Test("list as a table, with English and Chinese headers and titles")
    func listTable() async throws {
        let dir = try TemporaryDirectory("coop-item")
        try await TestNode.with(in: dir) { node in
            let english = try await Self.coop(["item", "list"] + node.asStaff)
            #expect(english.status == 0, "\(english)")
            let header = try #require(english.lines.first)
            #expect(header.hasPrefix("ID") && header.contains("Title") && header.contains("Status"), "\(header)")
            #expect(english.stdout.contains("Transport links"))
            #expect(english.stdout.contains("2 CONFLICT"))
            #expect(english.stdout.contains("COMPLETED (awaiting sign-off)"))
            #expect(english.lines.last == "3 items")

            let chinese = try await Self.coop(["item", "list", "--lang", "zh"] + node.asStaff)
            #expect(chinese.status == 0, "\(chinese)")
            #expect(chinese.lines.first?.hasPrefix("编号") == true, "\(chinese.stdout)")
            #expect(chinese.stdout.contains("交通互联"))
            #expect(chinese.stdout.contains("2 冲突"))
        }
    }

    @Test("show: one item as JSON and as a table; an unknown item is NOT_FOUND, exit 1")
    func show() async throws {
        let dir = try TemporaryDirectory("coop-item")
        try await TestNode.with(in: dir) { node in
            let json = try await Self.coop(["item", "show", "CY-07", "--json"] + node.asStaff)
            #expect(json.status == 0, "\(json)")
            let view = try Self.json(json.stdout)
            #expect(view["item"]?["titleEn"] == .string("Transport links"))
            #expect(view["state"]?["progress"] == .number("40"))
            #expect(view["state"]?["heads"] == .array(FakeLedger.heads.map { .string(Base64.encode($0)) }))

            let table = try await Self.coop(["item", "show", "CY-07"] + node.asStaff)
            #expect(table.status == 0, "\(table)")
            #expect(table.stdout.contains(Hex.encode(FakeLedger.heads[0])), "both heads listed in full")
            #expect(table.stdout.contains(Hex.encode(FakeLedger.heads[1])))
            #expect(table.stdout.contains("40%"))

            let unknown = try await Self.coop(["item", "show", "XX-99"] + node.asStaff)
            #expect(unknown.status == 1, "\(unknown)")
            #expect(unknown.stderr.contains("error: NOT_FOUND (UNKNOWN_ITEM): no item XX-99"), "\(unknown.stderr)")
            #expect(unknown.stdout.isEmpty)
        }
    }

    @Test("update: every option reaches the node; the AppendResponse as JSON and as a summary")
    func update() async throws {
        let dir = try TemporaryDirectory("coop-item")
        try await TestNode.with(in: dir) { node in
            // One head in hex (as tables show it), one in base64 (as --json gives it).
            let heads = Hex.encode(FakeLedger.heads[0]) + "," + Base64.encode(FakeLedger.heads[1])
            let result = try await Self.coop(
                [
                    "item", "update", "CY-07", "--status", "delayed", "--progress", "45", "--note", "land 审批 pending",
                    "--reporter", "Wang Fang", "--assignee", "交通局", "--expect-heads", heads, "--json",
                ] + node.asStaff
            )
            #expect(result.status == 0, "\(result)")
            let request = try #require(node.fake.state.withLock { $0.updates.first })
            #expect(request.itemId == "CY-07")
            #expect(request.status == .delayed)
            #expect(request.progress == 45)
            #expect(request.note == "land 审批 pending")
            #expect(request.reporter == "Wang Fang")
            #expect(request.assignee == "交通局")
            #expect(request.expectedHeads == FakeLedger.heads)
            let json = try Self.json(result.stdout)
            #expect(json["entryId"] == .string(Base64.encode(FakeLedger.appendedEntry)))
            #expect(json["sequence"] == .string("42"))
            #expect(json["state"]?["status"] == .string("ITEM_STATUS_DELAYED"))

            let summary = try await Self.coop(
                ["item", "update", "CY-01", "--status", "ASSIGNED", "--progress", "0"] + node.asStaff
            )
            #expect(summary.status == 0, "\(summary)")
            #expect(summary.stdout.contains("appended entry " + Hex.encode(FakeLedger.appendedEntry)))
            #expect(summary.stdout.contains("CY-01 is now ASSIGNED 0%"), "\(summary.stdout)")
        }
    }

    @Test(
        "update refused by the node: stale heads FAILED_PRECONDITION exit 1, not a participant PERMISSION_DENIED exit 4"
    )
    func updateRefused() async throws {
        let dir = try TemporaryDirectory("coop-item")
        try await TestNode.with(in: dir) { node in
            let stale = try await Self.coop(
                [
                    "item", "update", "CY-07", "--status", "in-progress", "--progress", "50", "--expect-heads",
                    String(repeating: "0", count: 64),
                ] + node.asStaff
            )
            #expect(stale.status == 1, "\(stale)")
            #expect(stale.stderr.contains("error: FAILED_PRECONDITION (STALE_HEADS): CY-07 has other heads"))

            let denied = try await Self.coop(["item", "update", "CY-12", "--status", "suspended"] + node.asStaff)
            #expect(denied.status == 4, "\(denied)")
            #expect(denied.stderr.contains("error: PERMISSION_DENIED (NOT_PARTICIPANT): cd-wuhou does not take part"))
        }
    }

    @Test("comment (text from stdin) and sign-off reach the node as given")
    func commentAndSignOff() async throws {
        let dir = try TemporaryDirectory("coop-item")
        try await TestNode.with(in: dir) { node in
            let comment = try await Self.coop(
                ["item", "comment", "CY-07", "-", "--author", "Li Wei"] + node.asStaff,
                stdin: Array("第一行\nsecond line\n".utf8)
            )
            #expect(comment.status == 0, "\(comment)")
            let added = try #require(node.fake.state.withLock { $0.comments.first })
            #expect(added.text == "第一行\nsecond line")
            #expect(added.author == "Li Wei")

            let entry = Hex.encode(FakeLedger.heads[1])
            let signOff = try await Self.coop(
                ["item", "sign-off", "CY-12", "--entry", entry, "--signer", "Zhao", "--note", "checked", "--json"]
                    + node.asStaff
            )
            #expect(signOff.status == 0, "\(signOff)")
            let signed = try #require(node.fake.state.withLock { $0.signOffs.first })
            #expect(signed.entryId == FakeLedger.heads[1])
            #expect(signed.signer == "Zhao" && signed.note == "checked")
            #expect(try Self.json(signOff.stdout)["origin"] == .string("cd-wuhou"))
        }
    }

    @Test("history: the records as JSON and as a table with how the node treated each")
    func history() async throws {
        let dir = try TemporaryDirectory("coop-item")
        try await TestNode.with(in: dir) { node in
            let json = try await Self.coop(["item", "history", "CY-07", "--json"] + node.asStaff)
            #expect(json.status == 0, "\(json)")
            guard case .array(let records)? = try Self.json(json.stdout)["records"] else {
                Issue.record("no records: \(json.stdout)")
                return
            }
            #expect(records.count == 2)
            #expect(records[0]["body"]?["statusUpdate"]?["progress"] == .number("40"))
            #expect(records[1]["disposition"] == .string("ENTRY_DISPOSITION_REJECTED_BY_POLICY"))

            let table = try await Self.coop(["item", "history", "CY-07"] + node.asStaff)
            #expect(table.status == 0, "\(table)")
            #expect(table.stdout.contains("IN_PROGRESS 40%"))
            #expect(table.stdout.contains("REJECTED_BY_POLICY: cq-yuzhong is not a participant"))
            #expect(table.stdout.contains("comment: site visit on Friday"))
            #expect(table.lines.last == "2 entries about CY-07")
        }
    }

    @Test("watch --initial --json: one ItemChange a line until the node ends the stream, exit 0")
    func watchUntilEnd() async throws {
        let dir = try TemporaryDirectory("coop-item")
        try await TestNode.with(in: dir) { node in
            let result = try await Self.coop(["item", "watch", "CY-07", "CY-01", "--initial", "--json"] + node.asStaff)
            #expect(result.status == 0, "\(result)")
            let changes = try result.lines.map { try Self.json($0) }
            #expect(changes.count == 4, "\(result.stdout)")
            #expect(changes.prefix(2).allSatisfy { $0["initial"] == .bool(true) })
            #expect(changes.dropFirst(2).allSatisfy { $0["initial"] == nil && $0["entryId"] != nil })
            #expect(changes.map { $0["state"]?["itemId"] } == ["CY-01", "CY-07", "CY-01", "CY-07"].map { .string($0) })

            let lines = try await Self.coop(["item", "watch", "CY-07"] + node.asStaff)
            #expect(lines.status == 0, "\(lines)")
            #expect(lines.lines.count == 1)
            #expect(lines.stdout.contains("CY-07  IN_PROGRESS  50%  by cd-wuhou"), "\(lines.stdout)")
        }
    }

    @Test("watch ends on Ctrl-C (exit 0) and the node sees the stream cancelled")
    func watchInterrupted() async throws {
        let dir = try TemporaryDirectory("coop-item")
        try await TestNode.with(in: dir, fake: FakeLedger(holdWatchOpen: true)) { node in
            let watch = try CLIProcess(["item", "watch", "--initial"] + node.asStaff)
            let saw = try await watch.waitForOutput(containing: "CY-12")
            #expect(saw, "no initial state printed: \(watch.stdoutSoFar)")
            watch.interrupt()
            let result = await watch.wait()
            #expect(result.status == 0 && !result.signaled, "\(result)")
            #expect(result.stderr.contains("watch ended (interrupted)"))
            var cancelled = false
            for _ in 0..<1500 where !cancelled {
                cancelled = node.fake.state.withLock { $0.watchCancelled }
                if !cancelled { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(cancelled, "the node's watch was not cancelled")
        }
    }

    @Test("watch --for: the stream ends after that long, exit 0")
    func watchFor() async throws {
        let dir = try TemporaryDirectory("coop-item")
        try await TestNode.with(in: dir, fake: FakeLedger(holdWatchOpen: true)) { node in
            let result = try await Self.coop(["item", "watch", "CY-07", "--for", "1.5", "--json"] + node.asStaff)
            #expect(result.status == 0, "\(result)")
            #expect(result.lines.count == 1)
            #expect(result.seconds < 30)
        }
    }

    @Test("the profile comes from --client, or from COOP_CLIENT when no option names one")
    func profileSources() async throws {
        let dir = try TemporaryDirectory("coop-item")
        try await TestNode.with(in: dir) { node in
            let client = try await Self.coop([
                "item", "show", "CY-01", "--client", node.profile, "--json", "--timeout", "30",
            ])
            #expect(client.status == 0, "\(client)")
            let environment = try await Self.coop(
                ["item", "show", "CY-01", "--json", "--timeout", "30"],
                environment: ["COOP_CLIENT": node.profile]
            )
            #expect(environment.status == 0, "\(environment)")
            #expect(try Self.json(environment.stdout)["item"]?["id"] == .string("CY-01"))
            #expect(node.fake.calls.count == 2)
        }
    }
}
