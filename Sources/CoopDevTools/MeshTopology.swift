import CoopLedger

/// Who peers with whom in a mesh: an undirected graph over node ids (each node lists its neighbours as `[[peers]]`,
/// and each pair of neighbours subscribes to each other's head notices).
///
/// A value; thread-safe.
///
/// ``ringWithChords(_:seed:)`` is the topology of the scale runs: the nodes in a ring (in an order shuffled by the
/// seed) plus one chord per node to a random other node (a random perfect matching over the nodes, avoiding ring
/// neighbours), so every node has 3 peers (one has 4 when the count is odd). The ring keeps the graph connected
/// whatever the seed; the chords make its diameter grow as log₂ N rather than N / 2.
public struct MeshTopology: Sendable, Hashable {
    /// The nodes, in the order given.
    public let nodes: [String]
    /// Node → its peers, in the order of ``nodes``.
    public let peers: [String: [String]]

    /// A topology from neighbour lists; each edge is taken in both directions.
    public init(nodes: [String], edges: [(String, String)]) {
        var sets: [String: Set<String>] = Dictionary(uniqueKeysWithValues: nodes.map { ($0, []) })
        for (a, b) in edges where a != b {
            sets[a, default: []].insert(b)
            sets[b, default: []].insert(a)
        }
        let order = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($1, $0) })
        self.nodes = nodes
        self.peers = sets.mapValues { $0.sorted { order[$0, default: .max] < order[$1, default: .max] } }
    }

    /// Every node peers with every other (the three-district mesh of `coop dev mesh`).
    public static func complete(_ nodes: [String]) -> MeshTopology {
        var edges: [(String, String)] = []
        for (i, a) in nodes.enumerated() {
            for b in nodes[(i + 1)...] { edges.append((a, b)) }
        }
        return MeshTopology(nodes: nodes, edges: edges)
    }

    /// A ring in an order shuffled by `seed`, plus a random perfect matching of chords (3 peers a node). Up to 4
    /// nodes this is the complete graph.
    public static func ringWithChords(_ nodes: [String], seed: UInt64) -> MeshTopology {
        guard nodes.count > 4 else { return complete(nodes) }
        var rng = SplitMix64(seed: seed)
        let ring = nodes.shuffled(using: &rng)
        let n = ring.count
        var edges = (0..<n).map { (ring[$0], ring[($0 + 1) % n]) }
        let adjacent = Set(edges.map { [$0.0, $0.1].sorted() })
        // A matching that avoids ring edges: reshuffle until it does (a few tries suffice); give up on a pair
        // only after many tries (it then stays a ring edge, and the node has 2 peers).
        var chords: [(String, String)] = []
        for _ in 0..<100 {
            let order = nodes.shuffled(using: &rng)
            chords = stride(from: 0, to: n - 1, by: 2).map { (order[$0], order[$0 + 1]) }
            if n % 2 == 1 {
                let last = order[n - 1]
                let partner = order.first { $0 != last && !adjacent.contains([last, $0].sorted()) } ?? order[0]
                chords.append((last, partner))
            }
            if chords.allSatisfy({ !adjacent.contains([$0.0, $0.1].sorted()) }) { break }
        }
        edges += chords
        return MeshTopology(nodes: nodes, edges: edges)
    }

    /// Hops from `node` to every node it reaches (breadth-first).
    public func distances(from node: String) -> [String: Int] {
        var distance = [node: 0]
        var frontier = [node]
        while !frontier.isEmpty {
            var next: [String] = []
            for current in frontier {
                for peer in peers[current] ?? [] where distance[peer] == nil {
                    distance[peer] = distance[current]! + 1
                    next.append(peer)
                }
            }
            frontier = next
        }
        return distance
    }

    /// The most hops from `node` to any node; `nil` when some node cannot be reached.
    public func eccentricity(_ node: String) -> Int? {
        let distance = distances(from: node)
        return distance.count == nodes.count ? distance.values.max() : nil
    }

    /// The largest eccentricity; `nil` when the graph is not connected.
    public var diameter: Int? {
        var largest = 0
        for node in nodes {
            guard let e = eccentricity(node) else { return nil }
            largest = max(largest, e)
        }
        return largest
    }
}
