import Foundation
import Testing

/// The deterministic simulation (``SyncSimulation``) over many seeds: every run ends with identical views, digests
/// and evidence on all nodes and every acknowledged write on every node. `COOP_SIM_SEEDS=10000` runs a stress
/// count; `COOP_SIM_SEED=N` replays one seed (and prints its trace).
@Suite struct SyncSimulationTests {
    static var seeds: [UInt64] {
        let env = ProcessInfo.processInfo.environment
        if let one = env["COOP_SIM_SEED"].flatMap(UInt64.init) { return [one] }
        let count = env["COOP_SIM_SEEDS"].flatMap(UInt64.init) ?? 200
        return Array(1...max(1, count))
    }

    @Test("seeded runs with partitions, drops, duplicates, reordering, crashes and skew all converge")
    func seeds() async throws {
        var failures: [String] = []
        for seed in Self.seeds {
            let sim = try SyncSimulation(seed: seed)
            let problem = try await sim.run(steps: 300)
            await sim.close()
            if let problem {
                failures.append(
                    "seed \(seed): \(problem) (replay: COOP_SIM_SEED=\(seed) swift test --filter SyncSimulationTests)"
                )
                if Self.seeds.count == 1 { print(sim.trace.joined(separator: "\n")) }
            }
            if ProcessInfo.processInfo.environment["COOP_SIM_SEED"] != nil {
                print(sim.trace.suffix(60).joined(separator: "\n"))
            }
        }
        #expect(
            failures.isEmpty,
            "\(failures.count) of \(Self.seeds.count) seeds diverged:\n\(failures.prefix(10).joined(separator: "\n"))"
        )
    }

    @Test("a seed replays exactly: the same trace twice")
    func replays() async throws {
        var traces: [[String]] = []
        for _ in 0..<2 {
            let sim = try SyncSimulation(seed: 42)
            _ = try await sim.run(steps: 200)
            await sim.close()
            traces.append(sim.trace)
        }
        #expect(traces[0].count > 50)
        #expect(traces[0] == traces[1])
    }

    @Test("a fork at equal height, its origin gone: the two holders find it from the heads in their hellos")
    func forkAtEqualHeight() async throws {
        for seed: UInt64 in [1, 2, 3] {
            let sim = try SyncSimulation(seed: seed)
            for id in sim.ids { try await sim.start(id) }
            for _ in 0..<6 { for id in sim.ids { try await sim.write(id) } }
            try await sim.settle()
            #expect(sim.converged() == nil, "seed \(seed): \(sim.trace.suffix(20))")
            let (origin, first, second) = (sim.ids[0], sim.ids[1], sim.ids[2])
            try await sim.forkAtEqualHeight(origin: origin, first: first, second: second)
            try await sim.settle(keepingDown: [origin])
            for id in [first, second] {
                let store = try #require(sim.nodes[id]?.store)
                let proven = store.digests.first { $0.origin == origin }?.evidence ?? 0
                #expect(proven == 1, "seed \(seed): \(id) holds \(proven) evidence against \(origin)")
            }
            #expect(sim.converged(among: [first, second]) == nil, "seed \(seed)")
            await sim.close()
        }
    }
}
