import CoopDevTools
import CoopLedger
import CoopLog
import CoopRPC
import CoopServices
import CoopWire
import CoopZMQ
import Foundation

extension CoopBench {
    // MARK: 9. Reconciliation

    /// Section 9: two `coop node run` children of a peering mesh whose logs diverged while they were apart (9a:
    /// from both ready to identical digests), then a third, empty node catching up with both (9b), against raw
    /// Ed25519 verification on all cores measured in the same run.
    mutating func measureSync() async throws {
        let coop = try NodeBench.coopPath(options)
        let perSide = options.quick ? 2_000 : 10_000
        section("9. Reconciliation: `coop node run` children (\(coop)) of a peering mesh, CurveZMQ on loopback")
        let directory = scratch + "/sync"
        let mesh = try MeshWriter(directory: directory, catalogPath: data.root + "/deploy/catalog.json").write()
        let roster = try RosterBook.load(path: directory + "/roster.json")
        let catalog = try CatalogBook.load(path: directory + "/catalog.json", roster: roster)
        let sides = ["cq-shapingba", "cd-wuhou"]
        for node in sides {
            try await Self.fill(directory, node: node, count: perSide, roster: roster, catalog: catalog)
        }
        detail(
            "9a \(grouped(perSide)) entries written by each of \(sides.joined(separator: " and ")) while apart "
                + "(their logs, fsync on); both started; timed from both ready to identical digests"
        )
        var children: [String: NodeChild] = [:]
        defer { for child in children.values where child.process.isRunning { kill(child.pid, SIGKILL) } }
        let reactor = try ZMQReactor(context: try ZMQContext(), name: "bench-sync")
        // One client per node, authenticated with the third node's key (a PEER may call Digest).
        let keys = try NodeKeys.read(name: "cd-qingbaijiang", from: directory + "/keys")
        var clients: [String: RPCClient] = [:]
        for node in MeshWriter.districts.map(\.nodeID) {
            let client = RPCClient(
                reactor: reactor,
                endpoint: mesh.endpoints[node]!,
                curve: RPCClientCurve(
                    serverPublicKey: roster.member(node)!.curvePublicKey,
                    publicKey: node == "cd-qingbaijiang"
                        ? (try NodeKeys.read(name: "cd-wuhou", from: directory + "/keys")).curvePublicKey
                        : keys.curvePublicKey,
                    secretKey: node == "cd-qingbaijiang"
                        ? (try NodeKeys.read(name: "cd-wuhou", from: directory + "/keys")).curveSecretKey
                        : keys.curveSecretKey
                )
            )
            try await client.connect()
            clients[node] = client
        }
        let digests: (String) async throws -> [OriginDigest] = { node in
            try await SyncService.Client(clients[node]!).digest(
                DigestRequest(),
                options: RPCCallOptions(timeout: .seconds(30))
            ).origins
        }
        for node in sides {
            children[node] = try NodeChild(coop: coop, config: mesh.configs[node]!, name: node)
        }
        for node in sides { try await children[node]!.ready(timeout: 120) }
        let started = now()
        let a = try await Self.waitEqual(sides, total: UInt64(2 * perSide), digests)
        let heal = now() - started
        detail(
            "9a converged in \(seconds(heal)) after both were ready (\(grouped(2 * perSide)) entries exchanged; "
                + "polled every 5 ms; \(a) polls)"
        )
        summary.add(
            Row(
                number: "9a",
                what: "convergence, \(grouped(perSide)) divergent entries per side",
                figure: seconds(heal),
                goal: "≤ 1 s after heal",
                met: heal <= 1
            )
        )

        let bodies = AppendBench.bodies(data, count: 1024)
        // The fastest verifier on this machine is the reference (libsodium, which coop uses, where it is faster).
        let raw = VerifyBench.Verifier.allCases.map {
            VerifyBench.run(bodies: bodies, seconds: options.quick ? 1 : 3, repeats: 1, verifier: $0)
        }.max { $0.allCores < $1.allCores }!
        children["cd-qingbaijiang"] = try NodeChild(
            coop: coop,
            config: mesh.configs["cd-qingbaijiang"]!,
            name: "cd-qingbaijiang"
        )
        try await children["cd-qingbaijiang"]!.ready(timeout: 120)
        let catchStart = now()
        _ = try await Self.waitEqual(MeshWriter.districts.map(\.nodeID), total: UInt64(2 * perSide), digests)
        let catchUp = now() - catchStart
        let catchRate = Double(2 * perSide) / catchUp
        detail(
            "9b an empty cd-qingbaijiang caught up \(grouped(2 * perSide)) entries (verified, fsynced) in "
                + "\(seconds(catchUp)) = \(rate(catchRate)); raw verify on \(raw.workers) cores in this run: "
                + "\(rate(raw.allCores)) → \(times(catchRate / raw.allCores))"
        )
        summary.add(
            Row(
                number: "9b",
                what: "catch-up of \(grouped(2 * perSide)) entries from peers",
                figure: rate(catchRate),
                ratio: "\(times(catchRate / raw.allCores)) of raw verify, all cores",
                goal: "≥ 0.9×",
                met: catchRate >= 0.9 * raw.allCores
            )
        )
        for child in children.values { await child.stop() }
        for client in clients.values { await client.close() }
        await reactor.shutdown()
    }

    /// Appends `count` comments signed by `node` to its data directory in the mesh (fsync on, as the node would).
    static func fill(_ mesh: String, node: String, count: Int, roster: RosterBook, catalog: CatalogBook) async throws {
        let store = try LogStore.open(
            directory: "\(mesh)/data/\(node)",
            roster: roster,
            catalog: catalog,
            identity: try NodeKeys.read(name: node, from: mesh + "/keys")
        )
        let items = catalog.items.filter { $0.participants.contains(node) }.map(\.id)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<32 {
                group.addTask {
                    var index = writer
                    while index < count {
                        _ = try await store.append(
                            .comment(Comment(itemId: items[index % items.count], text: "跟踪 \(index)", author: node))
                        )
                        index += 32
                    }
                }
            }
            try await group.waitForAll()
        }
        try await store.close()
    }

    /// Polls until `nodes` report identical digests covering `total` entries; returns the number of polls.
    static func waitEqual(
        _ nodes: [String],
        total: UInt64,
        _ digests: (String) async throws -> [OriginDigest]
    ) async throws -> Int {
        var polls = 0
        let deadline = now() + 600
        while now() < deadline {
            polls += 1
            var all: [[OriginDigest]] = []
            for node in nodes { all.append(try await digests(node)) }
            if all.allSatisfy({ $0 == all[0] }) && all[0].reduce(0, { $0 + $1.sequence }) >= total { return polls }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw BenchError("the nodes did not converge within 600 s")
    }
}
