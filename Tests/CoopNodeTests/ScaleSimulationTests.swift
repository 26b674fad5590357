import CoopDevTools
import CoopLedger
import CoopNode
import CoopTestKit
import CoopWire
import Foundation
import Testing

/// Issue 8 §6's scale run, small: the seed districts write, every other node relays, over a ring with chords.
@Suite("Scale simulation: rounds to converge and bytes per entry")
struct ScaleSimulationTests {
    @Test(
        "every node holds every entry within 3 rounds a hop of the writers' eccentricity, and O(log N) rounds",
        arguments: [15, 30]
    )
    func converges(nodes: Int) async throws {
        let directory = try TemporaryDirectory("coop-scale")
        var settings = ScaleSimulation.Settings()
        settings.nodes = nodes
        settings.seed = UInt64(nodes)
        settings.entriesPerWriter = 5
        let simulation = try ScaleSimulation(
            directory: directory.path,
            catalogPath: Fixtures.catalogPath,
            settings: settings
        )
        let result = try await simulation.run()
        await simulation.close()
        let rounds = try #require(result.rounds, "the nodes never converged (quiet after \(result.quietAfter) rounds)")
        print(
            "scale N=\(nodes): \(rounds) rounds (log2 N = \(String(format: "%.1f", result.log2Nodes)), diameter "
                + "\(result.diameter), writers' eccentricity \(result.writerEccentricity)), "
                + String(
                    format: "%.0f bytes per entry per node (an entry %.0f B, %.2f copies per entry and node)",
                    result.bytesPerEntry,
                    result.entrySize,
                    Double(result.traffic.entries) / Double(result.entries * nodes)
                )
        )
        #expect(result.entries == 3 * 5)
        // The topology's diameter grows as log N (the chords), not N / 2 (the ring alone).
        #expect(Double(result.diameter) <= 2 * result.log2Nodes + 2)
        // Each hop costs a notice, a pull and its answer: at least 3 rounds, and little more (a pull already in
        // flight when a notice arrives delays the next by one round trip). A node that waited for anti-entropy
        // (2,000 ms = 400 rounds) instead of acting on notices would miss this by far.
        #expect(rounds >= 3 * result.writerEccentricity)
        #expect(rounds <= 3 * result.writerEccentricity + 6)
        #expect(Double(rounds) <= 3 * (2 * result.log2Nodes + 2))
        // Every entry reaches every node; duplicates (pulled from two peers at once) cost at most the peer count.
        #expect(result.traffic.entries >= result.entries * (nodes - 1))
        #expect(result.traffic.entries <= result.entries * (nodes - 1) * 3)
        #expect(result.traffic.hellos == 0)
    }

    @Test("a seed replays exactly")
    func deterministic() async throws {
        var settings = ScaleSimulation.Settings()
        settings.nodes = 12
        settings.seed = 7
        settings.entriesPerWriter = 3
        var results: [ScaleSimulation.Result] = []
        for _ in 0..<2 {
            let directory = try TemporaryDirectory("coop-scale")
            let simulation = try ScaleSimulation(
                directory: directory.path,
                catalogPath: Fixtures.catalogPath,
                settings: settings
            )
            results.append(try await simulation.run())
            await simulation.close()
        }
        #expect(results[0].rounds == results[1].rounds)
        #expect(results[0].traffic == results[1].traffic)
        #expect(results[0].startTraffic == results[1].startTraffic)
    }

    @Test("ring with chords: symmetric, connected, 3 peers a node (one with 4 when N is odd)", arguments: 0..<50)
    func topology(seed: UInt64) throws {
        for count in [5, 15, 30, 60] {
            let ids = try MeshWriter.districts(count: count).map(\.nodeID)
            let topology = MeshTopology.ringWithChords(ids, seed: seed)
            #expect(topology.diameter != nil)
            for id in ids {
                let peers = topology.peers[id] ?? []
                #expect(!peers.contains(id))
                #expect(Set(peers).count == peers.count)
                for peer in peers { #expect(topology.peers[peer]?.contains(id) == true) }
            }
            let degrees = ids.map { topology.peers[$0]?.count ?? 0 }.sorted()
            if count % 2 == 0 {
                #expect(degrees.allSatisfy { $0 == 3 }, "N=\(count): \(degrees)")
            } else {
                #expect(degrees.dropLast().allSatisfy { $0 == 3 } && degrees.last == 4, "N=\(count): \(degrees)")
            }
        }
    }

    @Test("60 districts, both cities, seed districts first; ids valid and distinct")
    func districts() throws {
        let all = MeshWriter.allDistricts
        #expect(all.count == 60)
        #expect(Set(all.map(\.nodeID)).count == 60)
        #expect(Array(all.prefix(3).map(\.nodeID)) == MeshWriter.districts.map(\.nodeID))
        #expect(all.filter { $0.side == .chongqing }.count == 38)
        #expect(all.filter { $0.side == .chengdu }.count == 22)
        for district in all { #expect(RosterBook.isValidMemberID(district.nodeID), "\(district.nodeID)") }
        // The first 15 are a sample of both cities.
        let fifteen = try MeshWriter.districts(count: 15)
        #expect(fifteen.filter { $0.side == .chengdu }.count >= 4)
        #expect(throws: (any Error).self) { try MeshWriter.districts(count: 61) }
    }

    @Test("a mesh of N nodes: each node's [[peers]] are its topology peers; the default mesh is unchanged")
    func meshOfN() throws {
        let directory = try TemporaryDirectory("coop-scale-mesh")
        let districts = try MeshWriter.districts(count: 12)
        let topology = MeshTopology.ringWithChords(districts.map(\.nodeID), seed: 3)
        let mesh = try MeshWriter(
            directory: directory.file("twelve"),
            catalogPath: Fixtures.catalogPath,
            nodes: districts,
            topology: topology
        ).write()
        #expect(mesh.configs.count == 12)
        #expect(Set(mesh.endpoints.values).count == 12)
        for district in districts {
            let config = try NodeConfig.load(path: mesh.configs[district.nodeID]!)
            #expect(config.peers.map(\.id) == topology.peers[district.nodeID])
            for peer in config.peers {
                #expect(peer.endpoint == mesh.endpoints[peer.id])
                #expect(peer.publish == mesh.publishEndpoints[peer.id])
            }
        }
        let three = try MeshWriter(directory: directory.file("three"), catalogPath: Fixtures.catalogPath).write()
        for district in MeshWriter.districts {
            let config = try NodeConfig.load(path: three.configs[district.nodeID]!)
            #expect(config.peers.map(\.id) == MeshWriter.districts.map(\.nodeID).filter { $0 != district.nodeID })
        }
    }
}
