import CoopDevTools
import CoopLedger
import CoopLog
import CoopRPC
import CoopServices
import CoopTestKit
import CoopWire
import CoopZMQ
import Foundation
import Synchronization
import Testing

/// The node as an operator runs it: a real `coop node run` process, killed with SIGKILL under load or stopped with
/// SIGTERM, its data directory checked afterwards by the auditor and by reopening the log.
@Suite("Node process: SIGKILL, SIGTERM, load", .serialized, .timeLimit(.minutes(10)))
struct NodeProcessTests {
    /// Clients of one node process, authenticated as members of `mesh`.
    struct Clients {
        let reactor: ZMQReactor
        let mesh: String
        let nodeID: String
        let endpoint: String

        init(mesh: String, nodeID: String, endpoint: String) throws {
            self.reactor = try ZMQReactor(context: try ZMQContext(), name: "node-clients")
            self.mesh = mesh
            self.nodeID = nodeID
            self.endpoint = endpoint
        }

        func ledger(as member: String) async throws -> LedgerService.Client {
            let roster = try RosterBook.load(path: "\(mesh)/roster.json")
            let keys = try NodeKeys.read(name: member, from: "\(mesh)/keys")
            let client = RPCClient(
                reactor: reactor,
                endpoint: endpoint,
                curve: RPCClientCurve(
                    serverPublicKey: roster.member(nodeID)!.curvePublicKey,
                    publicKey: keys.curvePublicKey,
                    secretKey: keys.curveSecretKey
                )
            )
            try await client.connect()
            return LedgerService.Client(client)
        }
    }

    /// Items cd-wuhou takes part in.
    static func ourItems(_ mesh: String) throws -> [String] {
        try CatalogBook.load(path: "\(mesh)/catalog.json").items.filter { $0.participants.contains("cd-wuhou") }
            .map(\.id)
    }

    /// `clients` staff clients updating items until `stop` says so; returns every acknowledged entry id and the
    /// errors seen.
    static func updateLoad(
        _ ledgers: [LedgerService.Client],
        items: [String],
        stop: @escaping @Sendable (Int) -> Bool
    ) async -> (acknowledged: [[UInt8]], errors: [RPCError]) {
        final class Tally: Sendable {
            let acknowledged = Mutex<[[UInt8]]>([])
            let errors = Mutex<[RPCError]>([])
        }
        let tally = Tally()
        await withTaskGroup(of: Void.self) { group in
            for (index, ledger) in ledgers.enumerated() {
                group.addTask {
                    var round = 0
                    while !stop(tally.acknowledged.withLock { $0.count }) {
                        round += 1
                        let item = items[(index + round) % items.count]
                        let request = UpdateStatusRequest(
                            itemId: item,
                            status: .inProgress,
                            progress: UInt32((index + round) % 100),
                            note: "client \(index) round \(round)",
                            reporter: "load"
                        )
                        do {
                            let response = try await ledger.updateStatus(
                                request,
                                options: RPCCallOptions(timeout: .seconds(30))
                            )
                            tally.acknowledged.withLock { $0.append(response.entryId) }
                        } catch let error as RPCError {
                            tally.errors.withLock { $0.append(error) }
                            if error.code == .unavailable || error.code == .deadlineExceeded { return }
                        } catch {
                            tally.errors.withLock { $0.append(RPCError(code: .unknown, message: "\(error)")) }
                            return
                        }
                    }
                }
            }
        }
        return (tally.acknowledged.withLock { $0 }, tally.errors.withLock { $0 })
    }

    /// The entry ids of `origin` in the log at `data`, and whether the auditor finds the log intact.
    static func logged(_ data: String, mesh: String, origin: String) async throws -> (Set<[UInt8]>, AuditReport) {
        let roster = try RosterBook.load(path: "\(mesh)/roster.json")
        let catalog = try CatalogBook.load(path: "\(mesh)/catalog.json", roster: roster)
        let report = try Auditor.verify(directory: data, roster: roster)
        let store = try LogStore.open(directory: data, roster: roster, catalog: catalog)
        let ids = Set(try store.entries(of: origin, after: 0).map { EntryID(of: $0).bytes })
        try await store.close()
        return (ids, report)
    }

    @Test("SIGKILL under update load: every acknowledged update is there after restart; the audit is clean")
    func sigkillUnderLoad() async throws {
        let directory = try TemporaryDirectory("coop-node-kill")
        let mesh = try MeshWriter(directory: directory.file("mesh"), catalogPath: Fixtures.catalogPath, peering: false)
            .write()
        let config = mesh.configs["cd-wuhou"]!
        let data = "\(mesh.directory)/data/cd-wuhou"
        let items = try Self.ourItems(mesh.directory)
        var random = SeededRandom(seed: UInt64.random(in: 0...UInt64.max))
        var acknowledged: [[UInt8]] = []
        for round in 0..<2 {
            let node = try NodeProcess(config: config, directory: directory.path, name: "node-\(round)")
            try await node.ready()
            let clients = try Clients(mesh: mesh.directory, nodeID: "cd-wuhou", endpoint: node.endpoint)
            var ledgers: [LedgerService.Client] = []
            for _ in 0..<8 { ledgers.append(try await clients.ledger(as: "staff.wuhou")) }
            // Kill after a number of acknowledgements (an event, not a delay), while the clients keep writing.
            let target = Int.random(in: 40...200, using: &random)
            let killed = Mutex(false)
            let pid = node.pid
            let load = await Self.updateLoad(ledgers, items: items) { count in
                if count >= target {
                    let first = killed.withLock { k in
                        defer { k = true }
                        return !k
                    }
                    if first { kill(pid, SIGKILL) }
                    return true
                }
                return false
            }
            #expect(try await node.exit() != nil)
            #expect(node.terminatedBySignal, "round \(round): the node was not killed by the signal")
            #expect(load.acknowledged.count >= target, "round \(round)")
            for error in load.errors {
                #expect(
                    error.code == .unavailable || error.code == .deadlineExceeded,
                    "round \(round): only the kill may fail calls: \(error)"
                )
            }
            acknowledged += load.acknowledged
            await clients.reactor.shutdown()

            let (ids, report) = try await Self.logged(data, mesh: mesh.directory, origin: "cd-wuhou")
            #expect(report.isIntact, "round \(round): \(report.problems.first.map { "\($0)" } ?? "torn tail")")
            let missing = acknowledged.filter { !ids.contains($0) }
            #expect(
                missing.isEmpty,
                "round \(round): \(missing.count) of \(acknowledged.count) acknowledged updates lost"
            )
        }
        // The node starts again on the killed directory, serves, and stops cleanly on SIGTERM.
        let node = try NodeProcess(config: config, directory: directory.path, name: "node-final")
        try await node.ready()
        let clients = try Clients(mesh: mesh.directory, nodeID: "cd-wuhou", endpoint: node.endpoint)
        let listed = try await clients.ledger(as: "auditor.wuhou").listItems(
            options: RPCCallOptions(timeout: .seconds(30))
        )
        #expect(listed.items.count == 40)
        node.signal(SIGTERM)
        #expect(try await node.exit() == 0, "\(node.stderr)")
        await clients.reactor.shutdown()
        let audit = try ChildProcess.run(
            try ChildProcess.product("coop"),
            [
                "audit", "verify", data, "--roster", "\(mesh.directory)/roster.json", "--catalog",
                "\(mesh.directory)/catalog.json",
            ]
        )
        #expect(audit.status == 0, "\(audit.stdoutText)\(audit.stderr)")
    }

    @Test("50 concurrent clients for a bounded time: no errors, every acknowledged update kept, memory flat")
    func fiftyClients() async throws {
        let directory = try TemporaryDirectory("coop-node-load")
        let mesh = try MeshWriter(directory: directory.file("mesh"), catalogPath: Fixtures.catalogPath, peering: false)
            .write()
        let config = mesh.configs["cd-wuhou"]!
        let items = try Self.ourItems(mesh.directory)
        let node = try NodeProcess(config: config, directory: directory.path, name: "node")
        try await node.ready()
        let clients = try Clients(mesh: mesh.directory, nodeID: "cd-wuhou", endpoint: node.endpoint)
        var ledgers: [LedgerService.Client] = []
        for _ in 0..<50 { ledgers.append(try await clients.ledger(as: "staff.wuhou")) }
        // Two equal phases; resident memory after each. Bounded by time, not count (the machine is shared).
        var resident: [Int] = []
        var acknowledged: [[UInt8]] = []
        for _ in 0..<2 {
            let end = ContinuousClock.now + .seconds(6)
            let load = await Self.updateLoad(ledgers, items: items) { _ in ContinuousClock.now >= end }
            #expect(load.errors.isEmpty, "\(load.errors.prefix(3))")
            acknowledged += load.acknowledged
            resident.append(node.residentKiB() ?? 0)
        }
        #expect(acknowledged.count > 50)
        // Flat: the second phase (as many writes again) grows the node by less than 16 MiB.
        #expect(resident[1] - resident[0] < 16 << 10, "resident KiB after each phase: \(resident)")
        node.signal(SIGTERM)
        #expect(try await node.exit() == 0, "\(node.stderr)")
        await clients.reactor.shutdown()
        let (ids, report) = try await Self.logged(
            "\(mesh.directory)/data/cd-wuhou",
            mesh: mesh.directory,
            origin: "cd-wuhou"
        )
        #expect(report.isIntact)
        #expect(acknowledged.allSatisfy { ids.contains($0) })
        #expect(ids.count == acknowledged.count)
    }
}
