import CoopDevTools
import CoopLedger
import CoopLog
import CoopRPC
import CoopSegments
import CoopServices
import CoopWire
import CoopZMQ
import Foundation

extension CoopBench {
    // MARK: 9. Reconciliation

    /// Section 9: two `coop node run` children of a peering mesh whose logs diverged while they were apart (9a:
    /// from both ready to identical digests), then an empty node catching up `--catch-up` entries from one peer
    /// (9b), against raw Ed25519 verification on all cores (the faster of libsodium and swift-crypto) measured in the
    /// same run.
    mutating func measureSync() async throws {
        let coop = try NodeBench.coopPath(options)
        let perSide = options.quick ? 2_000 : 10_000
        section("9. Reconciliation: `coop node run` children (\(coop)) of a peering mesh, CurveZMQ on loopback")
        let directory = scratch + "/sync"
        let mesh = try MeshWriter(directory: directory, catalogPath: data.root + "/deploy/catalog.json").write()
        let roster = try RosterBook.load(path: directory + "/roster.json")
        let catalog = try CatalogBook.load(path: directory + "/catalog.json", roster: roster)
        // The fastest verifier on this machine is the reference (libsodium, which coop uses, where it is faster),
        // measured first, with nothing else of this run busy.
        let bodies = AppendBench.bodies(data, count: 1024)
        let raw = VerifyBench.Verifier.allCases.map {
            VerifyBench.run(bodies: bodies, seconds: options.quick ? 1 : 3, repeats: 1, verifier: $0)
        }.max { $0.allCores < $1.allCores }!
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
        // One client per node, authenticated with another node's key (a PEER may call Digest).
        var clients: [String: RPCClient] = [:]
        for node in MeshWriter.districts.map(\.nodeID) {
            let member = node == "cd-qingbaijiang" ? "cd-wuhou" : "cd-qingbaijiang"
            clients[node] = try await mesh.client(on: reactor, roster: roster, node: node, as: member)
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
        // Both nodes share this machine's cores and each verifies the other's entries: no exchange can be faster
        // than verifying all of them at the raw rate.
        let floor = Double(2 * perSide) / raw.allCores
        detail(
            "9a floor on this machine: \(grouped(2 * perSide)) signatures at the raw \(raw.workers)-core rate "
                + "\(rate(raw.allCores)) take \(seconds(floor)); the figure is \(times(heal / floor)) of that"
        )
        summary.add(
            Row(
                number: "9a",
                what: "convergence, \(grouped(perSide)) divergent entries per side",
                figure: seconds(heal),
                ratio: "\(times(heal / floor)) of the verify floor \(seconds(floor))",
                goal: "≤ 1 s after heal",
                met: heal <= 1
            )
        )

        for child in children.values { await child.stop() }
        children = [:]

        // 9b: one peer holding `catchUp` entries, one empty node catching up from it (its other peer is down).
        let catchUp = max(options.catchUpEntries, 2 * perSide)
        let extra = catchUp - 2 * perSide
        let filled = now()
        if extra > 0 {
            try await Self.fill(
                directory,
                node: "cq-shapingba",
                count: extra,
                roster: roster,
                catalog: catalog,
                durability: .unsafeNoSync
            )
        }
        detail(
            "9b cq-shapingba given \(grouped(extra)) more entries (\(grouped(catchUp)) in all, "
                + "\(seconds(now() - filled)) to sign and write); started with an empty cd-qingbaijiang (cd-wuhou down)"
        )
        let pair = ["cq-shapingba", "cd-qingbaijiang"]
        for node in pair {
            children[node] = try NodeChild(coop: coop, config: mesh.configs[node]!, name: node)
        }
        try await children["cq-shapingba"]!.ready(timeout: 300)
        let catchStart = now()
        try await children["cd-qingbaijiang"]!.ready(timeout: 120)
        _ = try await Self.waitEqual(pair, total: UInt64(catchUp), digests)
        let catchUpTime = now() - catchStart
        let catchRate = Double(catchUp) / catchUpTime
        let catchMemory = children["cd-qingbaijiang"]!.memory()
        let catchCPU = children["cd-qingbaijiang"]!.cpuSeconds()
        let serverCPU = children["cq-shapingba"]!.cpuSeconds()
        for child in children.values { await child.stop() }
        detail(
            "9b cd-qingbaijiang caught up \(grouped(catchUp)) entries (verified, fsynced) in \(seconds(catchUpTime)) "
                + "from its start = \(rate(catchRate)); peak RSS "
                + String(format: "%.0f MB", catchMemory.hwm)
                + "; raw verify on \(raw.workers) cores in this run: \(rate(raw.allCores)) → "
                + "\(times(catchRate / raw.allCores))"
        )
        let perEntry = catchCPU / Double(catchUp)
        let perVerify = raw.singleCPU / raw.singleCore
        detail(
            String(
                format: "9b CPU of the catching-up node %.1f µs per entry (its whole life: start, hellos, pulls), of "
                    + "which %.1f µs is the raw signature check → CPU-bound ceiling %.2f× of raw verify; the serving "
                    + "peer used %.1f µs per entry",
                perEntry * 1e6,
                perVerify * 1e6,
                perVerify / perEntry,
                serverCPU / Double(catchUp) * 1e6
            )
        )
        summary.add(
            Row(
                number: "9b",
                what: "catch-up of \(grouped(catchUp)) entries from a peer",
                figure: rate(catchRate),
                ratio: "\(times(catchRate / raw.allCores)) of raw verify, all cores",
                goal: "≥ 0.9×",
                met: catchRate >= 0.9 * raw.allCores
            )
        )
        for client in clients.values { await client.close() }
        await reactor.shutdown()
    }

    /// Appends `count` comments signed by `node` to its data directory in the mesh (fsync on, as the node would, unless
    /// `durability` says otherwise).
    static func fill(
        _ mesh: String,
        node: String,
        count: Int,
        roster: RosterBook,
        catalog: CatalogBook,
        durability: SegmentedLog.Durability = .durable
    ) async throws {
        var options = LogStore.Options()
        options.durability = durability
        let store = try LogStore.open(
            directory: "\(mesh)/data/\(node)",
            roster: roster,
            catalog: catalog,
            identity: try NodeKeys.read(name: node, from: mesh + "/keys"),
            options: options
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
