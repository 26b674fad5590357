import CoopDevTools
import CoopLedger
import CoopRPC
import CoopServices
import CoopWire
import CoopZMQ
import Foundation
import Glibc

extension CoopBench {
    // MARK: 9c, 9d. Scale

    /// Section 9c: the scale simulation (``ScaleSimulation``: real stores and peer sessions over a simulated
    /// network, rounds of one network delay) for 15, 30 and 60 districts: rounds to converge against log₂ N, bytes
    /// sent per entry and node. 9d: as many `coop node run` children on loopback as the machine holds (3, 6, 12, …
    /// up to `--scale-nodes`), 3 peers each; the seed districts' staff write, and the time from the last
    /// acknowledged update until every node reports the same digests.
    mutating func measureScale() async throws {
        section(
            "9c. Scale, simulated: real LogStores and PeerSessions of N districts over a simulated network "
                + "(a round = one network delay; ring + random chords, 3 peers each)"
        )
        let perWriter = 10
        detail(
            "the 3 seed districts each sign \(perWriter) comments at once; the others relay. rounds: until every node "
                + "holds every entry (an entry crosses a link in 3: notice, pull, answer); bytes: protobuf bytes of "
                + "pull requests, pulled entries and head notices after the writes ÷ (entries × N)"
        )
        detail(
            "    N  log2 N  diameter  writers' ecc.  rounds  rounds/3  bytes/entry/N  entry  copies/entry/N  notices"
        )
        for count in [15, 30, 60] {
            var settings = ScaleSimulation.Settings()
            settings.nodes = count
            settings.seed = 1
            settings.entriesPerWriter = perWriter
            let simulation = try ScaleSimulation(
                directory: scratch + "/scale-sim-\(count)",
                catalogPath: data.root + "/deploy/catalog.json",
                settings: settings
            )
            let r = try await simulation.run()
            let links = simulation.topology.peers.values.map(\.count).reduce(0, +) / 2
            await simulation.close()
            guard let rounds = r.rounds else {
                throw BenchError("the \(count)-node simulation did not converge (\(r.quietAfter) rounds)")
            }
            let copies = Double(r.traffic.entries) / Double(r.entries * count)
            detail(
                String(
                    format: "   %2d  %6.2f  %8d  %13d  %6d  %8.1f  %13.0f  %5.0f  %14.2f  %7d",
                    count,
                    r.log2Nodes,
                    r.diameter,
                    r.writerEccentricity,
                    rounds,
                    Double(rounds) / 3,
                    r.bytesPerEntry,
                    r.entrySize,
                    copies,
                    r.traffic.notices
                )
            )
            let bound = 3 * (2 * r.log2Nodes + 2)
            summary.add(
                Row(
                    number: "9c",
                    what: "simulated, \(count) nodes: rounds to converge",
                    figure: "\(rounds) rounds (\(String(format: "%.1f", Double(rounds) / 3)) hops)",
                    ratio: String(format: "log2 N = %.2f", r.log2Nodes),
                    goal: String(format: "O(log N): ≤ %.0f", bound),
                    met: Double(rounds) <= bound
                )
            )
            summary.add(
                Row(
                    number: "9c",
                    what: "  bytes per entry and node",
                    figure: String(format: "%.0f B", r.bytesPerEntry),
                    ratio: String(format: "%.2f× one entry (%.0f B)", r.bytesPerEntry / r.entrySize, r.entrySize),
                    goal: "(reference)"
                )
            )
            if count == 60 {
                let hello = Double(r.startTraffic.helloBytes) / Double(max(1, r.startTraffic.hellos))
                detail(
                    String(
                        format: "not per entry: anti-entropy; a hello is %.0f B (the start's, logs empty); each of the "
                            + "%d links carries four every 2 s (each end's session sends one and is answered): "
                            + "%.0f B/s for the mesh",
                        hello,
                        links,
                        hello * 4 * Double(links) / 2
                    )
                )
            }
        }
        try await measureScaleProcesses()
    }

    /// 9d: meshes of 3, 6, 12, … `coop node run` children until `--scale-nodes`, a node fails to start, or the
    /// machine is out of room.
    mutating func measureScaleProcesses() async throws {
        let coop = try NodeBench.coopPath(options)
        section(
            "9d. Scale, real processes: N `coop node run` children (\(coop)) on loopback, CurveZMQ, ring + random "
                + "chords (3 peers each)"
        )
        let updates = 10
        detail(
            "each of the 3 seed districts' staff adds \(updates) comments through its node (one at a time, the three "
                + "at once); timed from the last acknowledgement until all N report identical digests (Sync/Digest, "
                + "polled node after node every 5 ms)"
        )
        let counts = [3, 6, 12, 24, 48, 60].filter { $0 <= options.scaleNodes }
        for count in counts {
            let available = Self.memoryAvailableMB()
            // About 50 MB a node (8d: 32 MB idle, 46 MB after 8b's load), twice over.
            if available < Double(count) * 100 {
                detail("stopping before N = \(count): \(Int(available)) MB available, need about \(count * 100) MB")
                break
            }
            let outcome: ScaleRun
            do {
                outcome = try await scaleRun(count: count, coop: coop, updates: updates)
            } catch {
                detail("N = \(count): \(error)")
                summary.add(
                    Row(
                        number: "9d",
                        what: "\(count) processes: converged after the last update",
                        figure: "failed",
                        goal: "≤ 5 s",
                        met: false
                    )
                )
                break
            }
            detail(
                "N = \(count): all ready \(seconds(outcome.startup)) after the first spawn; idle "
                    + String(format: "%.2f", outcome.idleCores) + " cores for all nodes; RSS "
                    + "\(megabytes(outcome.rssTotal)) total, \(megabytes(outcome.rssMax)) the largest; first "
                    + "convergence (1 comment each) \(seconds(outcome.warmup)); after \(3 * updates) comments: "
                    + "\(seconds(outcome.converged)) (\(outcome.polls) polls, a poll of all N "
                    + "\(seconds(outcome.pollSeconds)))"
            )
            summary.add(
                Row(
                    number: "9d",
                    what: "\(count) processes: converged after the last update",
                    figure: seconds(outcome.converged),
                    ratio: "\(3 * updates) comments, 3 writers",
                    goal: "≤ 5 s",
                    met: outcome.converged <= 5
                )
            )
            if outcome.idleCores > 1.5 {
                detail("stopping: the idle nodes keep \(String(format: "%.2f", outcome.idleCores)) cores busy")
                break
            }
        }
    }

    struct ScaleRun {
        var startup: Double
        var idleCores: Double
        var rssTotal: Double
        var rssMax: Double
        var warmup: Double
        var converged: Double
        var polls: Int
        var pollSeconds: Double
    }

    /// One mesh of `count` children: start, one comment per writer until all agree, idle CPU, then the timed
    /// updates.
    func scaleRun(count: Int, coop: String, updates: Int) async throws -> ScaleRun {
        let directory = scratch + "/scale-\(count)"
        let districts = try MeshWriter.districts(count: count)
        let ids = districts.map(\.nodeID)
        let mesh = try MeshWriter(
            directory: directory,
            catalogPath: data.root + "/deploy/catalog.json",
            nodes: districts,
            topology: .ringWithChords(ids, seed: 1)
        ).write()
        let roster = try RosterBook.load(path: directory + "/roster.json")
        let catalog = try CatalogBook.load(path: directory + "/catalog.json", roster: roster)
        var children: [NodeChild] = []
        defer { for child in children where child.process.isRunning { kill(child.pid, SIGKILL) } }
        let spawned = now()
        for id in ids { children.append(try NodeChild(coop: coop, config: mesh.configs[id]!, name: id)) }
        for child in children { try await child.ready(timeout: 180) }
        let startup = now() - spawned

        let reactor = try ZMQReactor(context: try ZMQContext(), name: "bench-scale")
        var rpcs: [RPCClient] = []
        func connect(_ node: String, as member: String) async throws -> RPCClient {
            let rpc = try await mesh.client(on: reactor, roster: roster, node: node, as: member)
            rpcs.append(rpc)
            return rpc
        }
        // Digest needs a PEER: each node is asked with the next node's key.
        var digestClients: [String: SyncService.Client] = [:]
        for (index, id) in ids.enumerated() {
            digestClients[id] = SyncService.Client(try await connect(id, as: ids[(index + 1) % ids.count]))
        }
        let digests: (String) async throws -> [OriginDigest] = { node in
            try await digestClients[node]!.digest(DigestRequest(), options: RPCCallOptions(timeout: .seconds(30)))
                .origins
        }
        let writers = MeshWriter.districts
        var ledgers: [(String, LedgerService.Client, [String])] = []
        for writer in writers {
            let client = LedgerService.Client(try await connect(writer.nodeID, as: "staff.\(writer.short)"))
            let items = catalog.items.filter { $0.participants.contains(writer.nodeID) }.map(\.id)
            ledgers.append((writer.nodeID, client, items))
        }
        do {
            var run = try await timedUpdates(ids: ids, children: children, ledgers: ledgers, updates: updates, digests)
            run.startup = startup
            for rpc in rpcs { await rpc.close() }
            await reactor.shutdown()
            for child in children { child.signal(SIGTERM) }
            for child in children { await child.stop(timeout: 10) }
            return run
        } catch {
            for rpc in rpcs { await rpc.close() }
            await reactor.shutdown()
            throw error
        }
    }

    /// The warm-up (one comment each until all agree), the idle cost, then the timed updates.
    func timedUpdates(
        ids: [String],
        children: [NodeChild],
        ledgers: [(String, LedgerService.Client, [String])],
        updates: Int,
        _ digests: (String) async throws -> [OriginDigest]
    ) async throws -> ScaleRun {
        // Warm-up: one comment each (a writer may refuse until a peer confirmed its own log), then agreement.
        let warmStart = now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (node, ledger, items) in ledgers {
                group.addTask {
                    let deadline = now() + 120
                    while true {
                        do {
                            _ = try await ledger.addComment(
                                AddCommentRequest(itemId: items[0], text: "规模测试 预热", author: "coop-bench"),
                                options: RPCCallOptions(timeout: .seconds(10))
                            )
                            return
                        } catch {
                            guard now() < deadline else { throw BenchError("\(node) refused every write: \(error)") }
                            try await Task.sleep(for: .milliseconds(50))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        _ = try await Self.waitEqual(ids, total: UInt64(ledgers.count), digests)
        let warmup = now() - warmStart

        // Idle: what the nodes cost doing nothing but anti-entropy.
        let cpuBefore = children.map { $0.cpuSeconds() }.reduce(0, +)
        let idleStart = now()
        try await Task.sleep(for: .seconds(3))
        let idleCores = (children.map { $0.cpuSeconds() }.reduce(0, +) - cpuBefore) / (now() - idleStart)
        let rss = children.map { $0.memory().rss }

        // The timed updates.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (_, ledger, items) in ledgers {
                group.addTask {
                    for index in 0..<updates {
                        _ = try await ledger.addComment(
                            AddCommentRequest(
                                itemId: items[(index + 1) % items.count],
                                text: "规模测试 \(index)",
                                author: "coop-bench"
                            ),
                            options: RPCCallOptions(timeout: .seconds(30))
                        )
                    }
                }
            }
            try await group.waitForAll()
        }
        let lastAck = now()
        let polls = try await Self.waitEqual(ids, total: UInt64(ledgers.count * (1 + updates)), digests)
        let converged = now() - lastAck
        let pollStart = now()
        for id in ids { _ = try await digests(id) }
        let pollSeconds = now() - pollStart

        return ScaleRun(
            startup: 0,
            idleCores: idleCores,
            rssTotal: rss.reduce(0, +),
            rssMax: rss.max() ?? .nan,
            warmup: warmup,
            converged: converged,
            polls: polls,
            pollSeconds: pollSeconds
        )
    }

    /// MemAvailable from /proc/meminfo, in MB.
    static func memoryAvailableMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return .infinity }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            return (Double(String(line.filter(\.isNumber))) ?? .infinity) / 1024
        }
        return .infinity
    }
}
