import CoopLedger
import CoopLog
import CoopNode
import CoopRPC
import CoopServices
import CoopWire
import Foundation
import Logging
import Testing

/// The node's ledger service over real ZeroMQ with CurveZMQ: writes acknowledged only when durable, roles from the
/// authenticated key, each bad request answered with its own code and reason while the node goes on serving.
@Suite("Ledger node over CurveZMQ", .timeLimit(.minutes(5)))
struct LedgerNodeTests {
    /// An item cd-wuhou takes part in, and one it does not.
    static func items(_ harness: NodeHarness) throws -> (ours: String, theirs: String) {
        let catalog = try CatalogBook.load(path: "\(harness.mesh.directory)/catalog.json")
        let ours = catalog.items.first { $0.participants.contains(harness.nodeID) }!.id
        let theirs = catalog.items.first { !$0.participants.contains(harness.nodeID) }!.id
        return (ours, theirs)
    }

    @Test("staff update through their own node: durable, answered with the new state, in the log after restart")
    func staffUpdate() async throws {
        let harness = try await NodeHarness.start()
        let (item, _) = try Self.items(harness)
        let ledger = try await harness.ledger(as: "staff.wuhou")
        let response = try await ledger.updateStatus(
            UpdateStatusRequest(
                itemId: item,
                status: .assigned,
                progress: 5,
                note: "分办 to the department",
                reporter: "Li"
            ),
            options: testCall
        )
        #expect(response.origin == "cd-wuhou")
        #expect(response.sequence == 1)
        #expect(response.entryId.count == 32)
        #expect(response.state?.status == .assigned)
        #expect(response.state?.reporter == "Li (staff.wuhou)")
        let shown = try await ledger.getItem(GetItemRequest(itemId: item), options: testCall)
        #expect(shown.state?.status == .assigned)
        #expect(shown.item?.id == item)
        let listed = try await ledger.listItems(ListItemsRequest(statuses: [.assigned]), options: testCall)
        #expect(listed.items.map { $0.item?.id } == [item])
        let history = try await ledger.itemHistory(ItemHistoryRequest(itemId: item), options: testCall)
        #expect(history.records.count == 1)
        #expect(history.records.first?.entryId == response.entryId)
        #expect(history.records.first?.entry.map { EntryID(of: $0).bytes } == response.entryId)
        try await harness.stop()

        let roster = try RosterBook.load(path: "\(harness.mesh.directory)/roster.json")
        let catalog = try CatalogBook.load(path: "\(harness.mesh.directory)/catalog.json", roster: roster)
        let reopened = try LogStore.open(directory: harness.dataDirectory, roster: roster, catalog: catalog)
        #expect(reopened.state(of: item)?.status == .assigned)
        #expect(reopened.openReport.checkpointUsed)
        try await reopened.close()
    }

    @Test("an ItemHistory call waits for a turn; cancelled or past its deadline there, it ends without a replay")
    func historyWaitsItsTurn() async throws {
        // No short windows: under a loaded test run, tasks here can wait seconds to be scheduled.
        let gate = ReplayGate(width: 1)
        let harness = try await NodeHarness.start(replayGate: gate)
        let (item, _) = try Self.items(harness)
        let ledger = try await harness.ledger(as: "auditor.wuhou")
        func settled(_ condition: () -> Bool) async throws -> Bool {
            let limit = ContinuousClock.now + .seconds(60)
            while !condition() && ContinuousClock.now < limit { try await Task.sleep(for: .milliseconds(10)) }
            return condition()
        }
        // Hold the node's only turn.
        let (release, releaseSignal) = AsyncStream<Void>.makeStream()
        let holder = Task { try await gate.run { for await _ in release { break } } }
        #expect(try await settled { gate.load.running == 1 })

        // A call the client cancels while the node's call waits: it leaves the queue.
        let cancelled = Task { try await ledger.itemHistory(ItemHistoryRequest(itemId: item), options: testCall) }
        #expect(try await settled { gate.load.waiting == 1 }, "the call did not wait for a turn")
        cancelled.cancel()
        do {
            _ = try await cancelled.value
            Issue.record("the history was served while the turn was held")
        } catch let error as RPCError {
            #expect(error.code == .cancelled, "\(error)")
        } catch is CancellationError {}
        #expect(try await settled { gate.load.waiting == 0 }, "the cancelled call still waits for a turn")

        // A call whose deadline passes (on the server too: it was sent as remaining time) ends DEADLINE_EXCEEDED.
        do {
            _ = try await ledger.itemHistory(
                ItemHistoryRequest(itemId: item),
                options: RPCCallOptions(timeout: .seconds(1))
            )
            Issue.record("the history was served while the turn was held")
        } catch {
            #expect(error.code == .deadlineExceeded, "\(error)")
        }
        #expect(try await settled { gate.load.waiting == 0 }, "the expired call still waits for a turn")
        #expect(gate.load.running == 1)

        releaseSignal.yield()
        try await holder.value
        let history = try await ledger.itemHistory(ItemHistoryRequest(itemId: item), options: testCall)
        #expect(history.records.isEmpty)
        #expect(gate.load == (0, 0))
        try await harness.stop()
    }

    @Test("an ItemHistory call that finds the replay queue full ends RESOURCE_EXHAUSTED (OVERLOADED) at once")
    func historyQueueFull() async throws {
        let gate = ReplayGate(width: 1, maxWaiting: 0)
        let harness = try await NodeHarness.start(replayGate: gate)
        let (item, _) = try Self.items(harness)
        let ledger = try await harness.ledger(as: "auditor.wuhou")
        let (release, releaseSignal) = AsyncStream<Void>.makeStream()
        let holder = Task { try await gate.run { for await _ in release { break } } }
        while gate.load.running == 0 { await Task.yield() }
        do {
            _ = try await ledger.itemHistory(ItemHistoryRequest(itemId: item), options: testCall)
            Issue.record("the history was served while the turn was held")
        } catch {
            #expect(error.code == .resourceExhausted, "\(error)")
            #expect(error.reason == RPCReason.overloaded)
            #expect(error.message.contains("the queue to replay the whole log is full"), "\(error.message)")
        }
        releaseSignal.yield()
        try await holder.value
        #expect(try await ledger.itemHistory(ItemHistoryRequest(itemId: item), options: testCall).records.isEmpty)
        try await harness.stop()
    }

    @Test("roles: auditors read only; staff write only through their own node; a peer does not write for another")
    func roles() async throws {
        let harness = try await NodeHarness.start()
        let (item, _) = try Self.items(harness)
        let update = UpdateStatusRequest(itemId: item, status: .assigned, progress: 1)
        for (member, fragment) in [
            ("auditor.wuhou", "auditors read only"),
            ("staff.shapingba", "staff write through their own node (cq-shapingba)"),
        ] {
            let ledger = try await harness.ledger(as: member)
            do {
                _ = try await ledger.updateStatus(update, options: testCall)
                Issue.record("\(member) wrote")
            } catch {
                #expect(error.code == .permissionDenied)
                #expect(error.reason == RPCReason.permissionDenied)
                #expect(error.message.contains(member) && error.message.contains(fragment), "\(error.message)")
            }
            // Reads are allowed.
            let listed = try await ledger.listItems(options: testCall)
            #expect(listed.items.count == 40)
        }
        let peer = try await harness.client(as: "cq-shapingba")
        do {
            _ = try await LedgerService.Client(peer).updateStatus(update, options: testCall)
            Issue.record("a peer wrote through another node")
        } catch {
            #expect(error.code == .permissionDenied)
        }
        try await harness.stop()
    }

    @Test("bad requests, each with its own code and reason; the node goes on serving")
    func badRequests() async throws {
        let harness = try await NodeHarness.start()
        let (ours, theirs) = try Self.items(harness)
        let ledger = try await harness.ledger(as: "staff.wuhou")
        let cases: [(UpdateStatusRequest, RPCStatus.Code, String)] = [
            (UpdateStatusRequest(itemId: "CY-99", status: .assigned), .notFound, NodeReason.unknownItem),
            (UpdateStatusRequest(itemId: "", status: .assigned), .notFound, NodeReason.unknownItem),
            (
                UpdateStatusRequest(itemId: ours, status: .inProgress, progress: 101), .invalidArgument,
                NodeReason.progressOutOfRange
            ),
            (UpdateStatusRequest(itemId: ours, status: .unspecified), .invalidArgument, NodeReason.invalidValue),
            (
                UpdateStatusRequest(itemId: ours, status: .completed, progress: 100), .failedPrecondition,
                NodeReason.invalidTransition
            ),
            (UpdateStatusRequest(itemId: theirs, status: .assigned), .permissionDenied, NodeReason.notParticipant),
            (
                UpdateStatusRequest(itemId: ours, status: .assigned, expectedHeads: [[1, 2, 3]]), .invalidArgument,
                NodeReason.invalidValue
            ),
            (
                UpdateStatusRequest(itemId: ours, status: .assigned, expectedHeads: [Array(repeating: 7, count: 32)]),
                .failedPrecondition, NodeReason.staleHeads
            ),
        ]
        for (request, code, reason) in cases {
            do {
                _ = try await ledger.updateStatus(request, options: testCall)
                Issue.record("accepted \(request)")
            } catch {
                #expect(error.code == code, "\(request): \(error)")
                #expect(error.reason == reason, "\(request): \(error)")
                #expect(!error.message.isEmpty)
            }
        }
        // Text with NUL never reaches the log: protobuf-c would cut it there. Swift's encoder cannot send it
        // (it stops at the NUL too), so the request is made by hand: item_id, status ASSIGNED, note "a\0b".
        let nul: [UInt8] =
            [0x0A, UInt8(ours.utf8.count)] + Array(ours.utf8) + [0x10, UInt8(ItemStatus.assigned.rawValue)]
            + [0x22, 3, 0x61, 0x00, 0x62]
        do {
            _ = try await ledger.rpc.unary(LedgerService.Method.updateStatus.fullName, nul, options: testCall)
            Issue.record("accepted a note with NUL")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.lowercased().contains("nul"), "\(error.message)")
        }
        let ok = try await ledger.updateStatus(UpdateStatusRequest(itemId: ours, status: .assigned), options: testCall)
        #expect(ok.sequence == 1)
        try await harness.stop()
    }

    @Test("watch changes: initial states, then each change as it is acknowledged")
    func watch() async throws {
        let harness = try await NodeHarness.start()
        let (item, _) = try Self.items(harness)
        let reader = try await harness.ledger(as: "auditor.wuhou")
        let writer = try await harness.ledger(as: "staff.wuhou")
        let stream = try reader.watchChanges(WatchChangesRequest(itemIds: [item], sendInitial: true), options: testCall)
        var iterator = stream.makeAsyncIterator()
        let initial = try await iterator.next()
        #expect(initial?.initial == true)
        #expect(initial?.state?.status == .planned)
        let written = try await writer.updateStatus(
            UpdateStatusRequest(itemId: item, status: .inProgress, progress: 30),
            options: testCall
        )
        let change = try await iterator.next()
        #expect(change?.initial == false)
        #expect(change?.entryId == written.entryId)
        #expect(change?.state?.progress == 30)
        try await harness.stop()
    }

    @Test("a second node on the same data directory is refused, naming the directory and the process")
    func heldDataDirectory() async throws {
        let harness = try await NodeHarness.start()
        var config = try NodeConfig.load(path: harness.mesh.configs["cd-wuhou"]!)
        config.listen = "tcp://127.0.0.1:0"
        let second = LedgerNode(config: config, logger: .init(label: "second"))
        do {
            try await second.run()
            Issue.record("a second node opened a held data directory")
        } catch let error as NodeError {
            #expect(error.code == .dataDirectoryHeld)
            #expect(error.message.contains("/mesh/data/cd-wuhou is held"), "\(error.message)")
            #expect(error.message.contains("by process"))
        }
        try await harness.stop()
    }
}

@Suite("Idle checkpoints", .timeLimit(.minutes(5)))
struct IdleCheckpointTests {
    @Test("a node that opened a log without a checkpoint writes one at its first idle moment, without any write")
    func checkpointAfterReplay() async throws {
        let harness = try await NodeHarness.start()
        let (item, _) = try LedgerNodeTests.items(harness)
        _ = try await harness.ledger(as: "staff.wuhou").updateStatus(
            UpdateStatusRequest(itemId: item, status: .assigned),
            options: testCall
        )
        try await harness.stop()
        let checkpoint = "\(harness.dataDirectory)/checkpoint"
        #expect(FileManager.default.fileExists(atPath: checkpoint))
        try FileManager.default.removeItem(atPath: checkpoint)

        var config = try NodeConfig.load(path: harness.mesh.configs["cd-wuhou"]!)
        config.listen = "tcp://127.0.0.1:0"
        config.checkpointIdleMs = 20
        let node = LedgerNode(config: config, logger: Logger(label: "idle"))
        let task = Task { try await node.run() }
        var appeared = false
        for _ in 0..<3000 where !appeared {
            try await Task.sleep(for: .milliseconds(20))
            appeared = FileManager.default.fileExists(atPath: checkpoint)
        }
        #expect(appeared, "no checkpoint was written while the node ran")
        task.cancel()
        try await task.value
    }
}
