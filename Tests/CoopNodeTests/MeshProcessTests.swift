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

/// Three real `coop node run` processes of a peering mesh on loopback: one is stopped (SIGSTOP) or killed
/// (SIGKILL) while the others write, then resumed or restarted; all converge, and no acknowledged update is lost.
@Suite(.serialized) struct MeshProcessTests {
    final class Mesh {
        let directory: TemporaryDirectory
        let mesh: MeshWriter.Mesh
        let roster: RosterBook
        let catalog: CatalogBook
        let reactor: ZMQReactor
        var nodes: [String: NodeProcess] = [:]
        var clients: [RPCClient] = []
        var runs = 0

        init() throws {
            directory = try TemporaryDirectory("coop-mesh-proc")
            mesh = try MeshWriter(directory: directory.file("mesh"), catalogPath: Fixtures.catalogPath).write()
            roster = try RosterBook.load(path: "\(mesh.directory)/roster.json")
            catalog = try CatalogBook.load(path: "\(mesh.directory)/catalog.json", roster: roster)
            reactor = try ZMQReactor(context: try ZMQContext(), name: "mesh-proc-clients")
        }

        func start(_ node: String) async throws {
            runs += 1
            let process = try NodeProcess(
                config: mesh.configs[node]!,
                directory: directory.path,
                name: "\(node)-\(runs)"
            )
            nodes[node] = process
            try await process.ready()
        }

        func client(_ node: String, as member: String) async throws -> RPCClient {
            let client = try await MeshHarness.connect(reactor, mesh: mesh, roster: roster, node: node, as: member)
            clients.append(client)
            return client
        }

        /// Writes `count` updates through `node` as its staff (retrying while its own head is unconfirmed);
        /// returns the acknowledged entry ids.
        func write(_ node: String, count: Int, note: String) async throws -> [[UInt8]] {
            let ledger = LedgerService.Client(try await client(node, as: MeshHarness.staff(node)))
            let items = catalog.items.filter { $0.participants.contains(node) }.map(\.id)
            var ids: [[UInt8]] = []
            for index in 0..<count {
                let request = UpdateStatusRequest(
                    itemId: items[index % items.count],
                    status: .inProgress,
                    progress: UInt32(min(99, index)),
                    note: "\(note) \(index)"
                )
                ids.append(try await SyncMeshTests.writeWhenOpen(ledger, request).entryId)
            }
            return ids
        }

        func digests(_ node: String) async throws -> [OriginDigest] {
            let peer = MeshHarness.nodes.first { $0 != node }!
            let sync = SyncService.Client(try await client(node, as: peer))
            return try await sync.digest(DigestRequest(), options: testCall).origins
        }

        /// Waits until the three nodes hold the same digests (at most `timeout`).
        func converged(timeout: Duration = .seconds(60)) async throws -> [OriginDigest] {
            let deadline = ContinuousClock.now + timeout
            while true {
                var all: [[OriginDigest]] = []
                for node in MeshHarness.nodes { all.append(try await digests(node)) }
                if all.allSatisfy({ $0 == all[0] }) { return all[0] }
                guard ContinuousClock.now < deadline else {
                    throw NodeProcessError(
                        message: "no convergence: \(all.map { $0.map { "\($0.origin)#\($0.sequence)" } })"
                    )
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }

        /// SIGTERM to every node; each must exit 0.
        func stopAll() async throws {
            for client in clients { await client.close() }
            clients = []
            for node in MeshHarness.nodes {
                guard let process = nodes[node], process.process.isRunning else { continue }
                process.signal(SIGCONT)
                process.signal(SIGTERM)
                let status = try await process.exit()
                #expect(status == 0, "\(node) exited \(String(describing: status)):\n\(process.stderr.suffix(2000))")
            }
            await reactor.shutdown()
        }
    }

    @Test("after reconciling, idle daemons stay idle (a woken peer link used to spin on a core for good)")
    func idleAfterPull() async throws {
        let mesh = try Mesh()
        do {
            for node in MeshHarness.nodes { try await mesh.start(node) }
            _ = try await mesh.write("cq-shapingba", count: 1, note: "跟踪")
            _ = try await mesh.converged()
            try await Task.sleep(for: .seconds(1))
            let before = MeshHarness.nodes.map { mesh.nodes[$0]!.cpuSeconds() }
            try await Task.sleep(for: .seconds(3))
            let after = MeshHarness.nodes.map { mesh.nodes[$0]!.cpuSeconds() }
            for (index, node) in MeshHarness.nodes.enumerated() {
                // Idle: anti-entropy every 2 s and a checkpoint. The spin took 2–2.5 s of CPU in these 3 s.
                #expect(
                    after[index] - before[index] < 0.5,
                    "\(node) used \(after[index] - before[index]) s of CPU idle"
                )
            }
            try await mesh.stopAll()
        } catch {
            try? await mesh.stopAll()
            throw error
        }
    }

    @Test("SIGSTOP and SIGKILL of a daemon while the others write: all converge, nothing acknowledged is lost")
    func stopAndKill() async throws {
        let mesh = try Mesh()
        do {
            for node in MeshHarness.nodes { try await mesh.start(node) }
            var acknowledged: [String: [[UInt8]]] = [:]
            acknowledged["cd-wuhou", default: []] += try await mesh.write("cd-wuhou", count: 5, note: "落实")
            acknowledged["cq-shapingba", default: []] += try await mesh.write("cq-shapingba", count: 5, note: "落实")
            _ = try await mesh.converged()

            // Frozen: the others write on; it catches up when resumed.
            mesh.nodes["cd-qingbaijiang"]!.signal(SIGSTOP)
            acknowledged["cd-wuhou", default: []] += try await mesh.write("cd-wuhou", count: 20, note: "跟踪")
            acknowledged["cq-shapingba", default: []] += try await mesh.write("cq-shapingba", count: 20, note: "跟踪")
            mesh.nodes["cd-qingbaijiang"]!.signal(SIGCONT)
            _ = try await mesh.converged()

            // Killed while a writer is busy: it restarts, pulls what it missed, and the writers lose nothing.
            mesh.nodes["cd-qingbaijiang"]!.signal(SIGKILL)
            _ = try await mesh.nodes["cd-qingbaijiang"]!.exit()
            acknowledged["cd-wuhou", default: []] += try await mesh.write("cd-wuhou", count: 20, note: "反馈")
            try await mesh.start("cd-qingbaijiang")
            acknowledged["cd-qingbaijiang", default: []] += try await mesh.write(
                "cd-qingbaijiang",
                count: 5,
                note: "上报"
            )
            // A writer itself killed and restarted: what it acknowledged reaches everyone.
            mesh.nodes["cq-shapingba"]!.signal(SIGKILL)
            _ = try await mesh.nodes["cq-shapingba"]!.exit()
            try await mesh.start("cq-shapingba")
            acknowledged["cq-shapingba", default: []] += try await mesh.write("cq-shapingba", count: 5, note: "上报")
            let digests = try await mesh.converged()
            #expect(digests.first { $0.origin == "cd-wuhou" }?.sequence == 45)
            #expect(digests.first { $0.origin == "cq-shapingba" }?.sequence == 30)
            #expect(digests.allSatisfy { $0.evidence == 0 })
            try await mesh.stopAll()

            // Every log is intact and holds every acknowledged entry.
            for node in MeshHarness.nodes {
                let data = "\(mesh.mesh.directory)/data/\(node)"
                for (origin, ids) in acknowledged {
                    let (held, report) = try await NodeProcessTests.logged(
                        data,
                        mesh: mesh.mesh.directory,
                        origin: origin
                    )
                    #expect(report.isIntact, "\(node): \(report.problems.first.map { "\($0)" } ?? "torn tail")")
                    #expect(Set(ids).isSubset(of: held), "\(node) lacks acknowledged entries of \(origin)")
                }
            }
        } catch {
            try? await mesh.stopAll()
            throw error
        }
    }
}
