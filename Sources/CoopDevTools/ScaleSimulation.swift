import CoopLedger
import CoopLog
import CoopNode
import CoopSync
import CoopWire
import Foundation
import Synchronization

/// Reconciliation at scale without sockets: up to 60 district nodes (``MeshWriter/allDistricts``), each a real
/// ``LogStore`` (files under `directory`, no fsync) with one real `PeerSession` per peer of a ``MeshTopology``
/// (``MeshTopology/ringWithChords(_:seed:)``: 3 peers a node), answering pulls with the node's own pull source
/// (`SyncProvider.lacking`), over a simulated network that runs in **rounds**: a message sent in one round is
/// delivered in the next (in an order shuffled by the seed), so a round is one one-way network delay, and an entry
/// crosses one link in three rounds (the head notice, the pull request, the pull answer).
///
/// ``run()`` starts every node (hellos until every session is idle), then lets the writers (the seed districts
/// among the nodes, the only members the catalog lets write; the others relay) each sign
/// ``Settings/entriesPerWriter`` comments at once, and runs rounds until every node holds every entry and nothing is
/// in flight. It reports the rounds until every node held every entry and everything that travelled after the
/// writes, by encoded size (protobuf bytes of hellos, pull requests, pulled entries and head notices; the RPC frames
/// and CurveZMQ around them are not counted).
///
/// **Threading.** Not thread-safe: one simulation per task; everything runs in turn in the caller's task, so a seed
/// replays exactly. Keys are derived from the seed (not secret: for simulations only).
public final class ScaleSimulation {
    /// What to simulate.
    public struct Settings: Sendable, Hashable {
        /// Nodes: the first N of ``MeshWriter/allDistricts`` (3…60).
        public var nodes = 60
        /// Drives the topology, the keys and the delivery order.
        public var seed: UInt64 = 1
        /// Comments each writer signs at once.
        public var entriesPerWriter = 10
        /// Virtual time a round takes (the sessions' timers run on it; anti-entropy is every 2,000 ms).
        public var roundMs: UInt64 = 5
        /// Rounds after which a run that has not gone quiet stops.
        public var maxRounds = 5_000

        public init() {}
    }

    /// What travelled, in protobuf bytes and messages.
    public struct Traffic: Sendable, Hashable {
        public var helloBytes = 0
        public var hellos = 0
        public var pullRequestBytes = 0
        public var pullRequests = 0
        /// Entries streamed in pull answers (`PullResponse` messages).
        public var entryBytes = 0
        public var entries = 0
        public var noticeBytes = 0
        public var notices = 0
        /// Entries a node received that it already held (pulled from two peers at once).
        public var duplicates = 0

        /// All bytes.
        public var total: Int { helloBytes + pullRequestBytes + entryBytes + noticeBytes }
    }

    /// The outcome of ``run()``.
    public struct Result: Sendable {
        public var nodes: Int
        public var writers: [String]
        /// Entries written (every node must end holding all of them).
        public var entries: Int
        /// Rounds from the writes until every node held every entry with identical digests; `nil`: never.
        public var rounds: Int?
        /// Rounds run in all (until converged and nothing in flight, or ``Settings/maxRounds``).
        public var quietAfter: Int
        /// Hops across the topology: its diameter, and the most from a writer to any node.
        public var diameter: Int
        public var writerEccentricity: Int
        /// Rounds the start took (every session's first exchange), and what it sent.
        public var startRounds: Int
        public var startTraffic: Traffic
        /// What travelled after the writes.
        public var traffic: Traffic

        /// log₂ N.
        public var log2Nodes: Double { log2(Double(nodes)) }
        /// Bytes sent after the writes ÷ (entries × nodes).
        public var bytesPerEntry: Double { Double(traffic.total) / Double(max(1, entries * nodes)) }
        /// Encoded size of one pulled entry (a `PullResponse`), on average.
        public var entrySize: Double { Double(traffic.entryBytes) / Double(max(1, traffic.entries)) }
    }

    enum Payload {
        case hello(Hello)
        case helloAnswer(Hello)
        case pull(PullRequest)
        case pullAnswer([SignedEntry])
        case notice(HeadNotice)
    }

    struct Message {
        var from: String
        var to: String
        /// The call it belongs to (0 for notices).
        var call: UInt64
        var payload: Payload
    }

    final class Node {
        let id: String
        let store: LogStore
        var sessions: [String: PeerSession]
        /// Per peer, the call in flight.
        var calls: [String: UInt64] = [:]

        init(id: String, store: LogStore, sessions: [String: PeerSession]) {
            self.id = id
            self.store = store
            self.sessions = sessions
        }
    }

    public let settings: Settings
    public let topology: MeshTopology
    let roster: RosterBook
    let catalog: CatalogBook
    let ids: [String]
    let writers: [String]
    var nodes: [String: Node] = [:]
    var rng: SplitMix64
    let clock = SimulatedClock()
    var inFlight: [Message] = []
    var nextCall: UInt64 = 1
    var traffic = Traffic()

    /// Builds the roster (keys derived from the seed), opens one store per node under `directory` (created if
    /// missing; it should be empty) and the sessions. `catalogPath`: the 40-item catalog (`deploy/catalog.json`).
    public init(directory: String, catalogPath: String, settings: Settings) throws {
        guard settings.nodes >= MeshWriter.districts.count else {
            throw LedgerError(
                code: .invalidArgument,
                message: "a scale simulation needs at least the \(MeshWriter.districts.count) seed districts"
            )
        }
        self.settings = settings
        var rng = SplitMix64(seed: settings.seed)
        let districts = try MeshWriter.districts(count: settings.nodes)
        ids = districts.map(\.nodeID)
        var keys: [String: NodeKeys] = [:]
        var members: [RosterMember] = []
        for district in districts {
            let secret = (0..<64).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let key = try NodeKeys(
                name: district.nodeID,
                signingSeed: Array(secret[..<32]),
                curveSecret: Array(secret[32...])
            )
            keys[district.nodeID] = key
            members.append(key.rosterMember(side: district.side, role: .peer, displayName: district.displayName))
        }
        self.rng = rng
        roster = try RosterBook(Roster(version: "scale-\(settings.seed)", members: members))
        catalog = try CatalogBook.load(path: catalogPath, roster: roster)
        topology = .ringWithChords(ids, seed: settings.seed)
        let seeds = Set(MeshWriter.districts.map(\.nodeID))
        writers = ids.filter { seeds.contains($0) }
        var options = LogStore.Options()
        options.durability = .unsafeNoSync
        options.segmentSize = 1 << 20
        let clock = self.clock
        options.physicalClock = { clock.ms }
        var sessionSettings = PeerSession.Settings()
        sessionSettings.antiEntropyMs = 2000
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw LedgerError(code: .io, message: "\(directory): cannot create the directory: \(error)")
        }
        for id in ids {
            let store = try LogStore.open(
                directory: "\(directory)/\(id)",
                roster: roster,
                catalog: catalog,
                identity: keys[id]!,
                options: options
            )
            let peers = topology.peers[id] ?? []
            nodes[id] = Node(
                id: id,
                store: store,
                sessions: Dictionary(
                    uniqueKeysWithValues: peers.map { ($0, PeerSession(peer: $0, settings: sessionSettings)) }
                )
            )
        }
    }

    /// Starts every node, writes, and runs rounds until every node holds every entry and nothing is in flight (at most
    /// ``Settings/maxRounds``).
    public func run() async throws -> Result {
        for id in ids {
            for peer in topology.peers[id] ?? [] { perform(id, peer, nodes[id]!.sessions[peer]!.start(now: clock.ms)) }
        }
        var startRounds = 0
        while !isQuiet && startRounds < settings.maxRounds {
            try await round()
            startRounds += 1
        }
        let startTraffic = traffic
        traffic = Traffic()

        var written = 0
        for writer in writers {
            let node = nodes[writer]!
            let items = catalog.items.filter { $0.participants.contains(writer) }.map(\.id)
            for index in 0..<settings.entriesPerWriter {
                let result = try await node.store.append(
                    .comment(Comment(itemId: items[index % items.count], text: "跟踪 \(index)", author: "staff"))
                )
                written += 1
                // A node publishes a notice for each entry it signs.
                announce(writer, [(writer, result.body.sequence, result.id.bytes)])
            }
        }
        var rounds = 0
        var convergedAt: Int?
        // Until converged and quiet: a quiet mesh that has not converged waits for its anti-entropy timers.
        while (convergedAt == nil || !isQuiet) && rounds < settings.maxRounds {
            try await round()
            rounds += 1
            if convergedAt == nil && converged(total: written) { convergedAt = rounds }
        }
        return Result(
            nodes: ids.count,
            writers: writers,
            entries: written,
            rounds: convergedAt,
            quietAfter: rounds,
            diameter: topology.diameter ?? -1,
            writerEccentricity: writers.compactMap { topology.eccentricity($0) }.max() ?? -1,
            startRounds: startRounds,
            startTraffic: startTraffic,
            traffic: traffic
        )
    }

    /// Closes every store.
    public func close() async {
        for node in nodes.values { try? await node.store.close() }
    }

    // MARK: Rounds

    var isQuiet: Bool { inFlight.isEmpty && nodes.values.allSatisfy { $0.calls.isEmpty } }

    /// Delivers what the previous round sent, in a shuffled order; then time moves on and due timers fire.
    func round() async throws {
        var messages = inFlight
        inFlight = []
        messages.shuffle(using: &rng)
        for message in messages { try await deliver(message) }
        clock.advance(settings.roundMs)
        for id in ids {
            let node = nodes[id]!
            for peer in topology.peers[id] ?? [] where node.calls[peer] == nil {
                perform(id, peer, node.sessions[peer]!.tick(now: clock.ms))
            }
        }
    }

    /// Every node holds all `total` entries and the same digests.
    func converged(total: Int) -> Bool {
        let first = nodes[ids[0]]!.store.digests
        guard first.reduce(0, { $0 + Int($1.sequence) }) == total else { return false }
        return ids.dropFirst().allSatisfy { nodes[$0]!.store.digests == first }
    }

    // MARK: Messages

    func send(_ message: Message) {
        switch message.payload {
        case .hello(let hello), .helloAnswer(let hello):
            traffic.hellos += 1
            traffic.helloBytes += hello.wireBytes().count
        case .pull(let request):
            traffic.pullRequests += 1
            traffic.pullRequestBytes += request.wireBytes().count
        case .pullAnswer(let entries):
            traffic.entries += entries.count
            for entry in entries { traffic.entryBytes += PullResponse(item: .entry(entry)).wireBytes().count }
        case .notice(let notice):
            traffic.notices += 1
            traffic.noticeBytes += notice.wireBytes().count
        }
        inFlight.append(message)
    }

    func perform(_ id: String, _ peer: String, _ actions: [PeerSession.Action]) {
        let node = nodes[id]!
        for action in actions {
            let call = nextCall
            nextCall += 1
            node.calls[peer] = call
            switch action {
            case .exchange:
                send(Message(from: id, to: peer, call: call, payload: .hello(hello(node))))
            case .pull(let have):
                // As the peer link asks: everything lacking, with evidence.
                let request = PullRequest(have: have, limit: 0, includeEvidence: true)
                send(Message(from: id, to: peer, call: call, payload: .pull(request)))
            }
        }
    }

    func hello(_ node: Node) -> Hello {
        Hello(
            protocolVersion: HelloCheck.protocolVersion,
            nodeId: node.id,
            side: roster.member(node.id)?.side ?? .unspecified,
            catalogHash: catalog.hash.bytes,
            rosterHash: roster.hash.bytes,
            versionVector: node.store.versionVector,
            evidenceCount: UInt32(node.store.evidence.count),
            heads: node.store.digests
        )
    }

    /// Head notices from `id` to every peer (its PUB socket reaches exactly its subscribers, the topology's peers).
    func announce(_ id: String, _ heads: [(origin: String, sequence: UInt64, id: [UInt8])]) {
        for peer in topology.peers[id] ?? [] {
            for head in heads {
                let notice = HeadNotice(fromNode: id, origin: head.origin, sequence: head.sequence, entryId: head.id)
                send(Message(from: id, to: peer, call: 0, payload: .notice(notice)))
            }
        }
    }

    func deliver(_ m: Message) async throws {
        let node = nodes[m.to]!
        let now = clock.ms
        switch m.payload {
        case .hello(let remote):
            // As the node's Exchange handler: what the caller holds counts as notices.
            let local = node.store.versionVector
            for (origin, range) in local.lacking(comparedTo: remote.versionVector ?? VersionVector()) {
                let actions =
                    node.sessions[m.from]?.notice(origin: origin, sequence: range.upperBound, local: local, now: now)
                perform(m.to, m.from, actions ?? [])
            }
            send(Message(from: m.to, to: m.from, call: m.call, payload: .helloAnswer(hello(node))))
        case .helloAnswer(let remote):
            guard node.calls[m.from] == m.call else { return }
            node.calls[m.from] = nil
            let (actions, _) = node.sessions[m.from]!.exchanged(
                remote,
                local: node.store.versionVector,
                localHello: hello(node),
                now: now
            )
            perform(m.to, m.from, actions)
        case .pull(let request):
            var entries: [SignedEntry] = []
            try await SyncProvider.lacking(request.have ?? VersionVector(), in: node.store) { entries += $0 }
            send(Message(from: m.to, to: m.from, call: m.call, payload: .pullAnswer(entries)))
        case .pullAnswer(let entries):
            guard node.calls[m.from] == m.call else { return }
            node.calls[m.from] = nil
            let before = node.store.versionVector
            var start = 0
            // As the peer link ingests: in batches of `pull_batch` (512), announcing the heads that moved.
            while start < entries.count {
                let batch = Array(entries[start..<min(entries.count, start + 512)])
                let beforeBatch = node.store.versionVector
                let report = try await node.store.ingest(batch: batch)
                traffic.duplicates += report.duplicates
                let moved = node.store.digests.filter { $0.sequence > beforeBatch[$0.origin] }
                announce(m.to, moved.map { ($0.origin, $0.sequence, $0.head) })
                start += batch.count
            }
            let after = node.store.versionVector
            perform(
                m.to,
                m.from,
                node.sessions[m.from]!.pulled(progressed: after != before, local: after, now: now)
            )
        case .notice(let notice):
            let actions = node.sessions[m.from]!.notice(
                origin: notice.origin,
                sequence: notice.sequence,
                local: node.store.versionVector,
                now: now
            )
            perform(m.to, m.from, actions)
        }
    }
}

/// Virtual time in milliseconds since the epoch, read by the simulated stores' clocks. Thread-safe.
final class SimulatedClock: Sendable {
    private let value = Mutex<UInt64>(1_790_000_000_000)
    var ms: UInt64 { value.withLock { $0 } }
    func advance(_ by: UInt64) { value.withLock { $0 += by } }
}
