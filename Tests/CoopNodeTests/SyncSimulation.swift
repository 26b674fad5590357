import CoopLedger
import CoopLog
import CoopNode
import CoopSegments
import CoopSync
import CoopTestKit
import CoopWire
import Foundation
import Synchronization

/// A deterministic simulation of reconciliation: the three districts' real ``LogStore``s (files in a private
/// temporary directory, without fsync), their ``PeerSession``s and ``OwnHeadGuard``s, and the pull source the node
/// serves (``SyncProvider/lacking(_:in:limit:readBatch:_:)``), over a simulated network driven by one seed: messages
/// delivered in random order, dropped, duplicated, links cut and healed, nodes crashed (everything in memory lost:
/// sessions, calls in flight, entries waiting for a gap or held for clock skew) and restarted, clocks skewed. One
/// task runs everything in turn, so a seed replays exactly.
///
/// Not thread-safe: one simulation per task.
final class SyncSimulation {
    enum Payload {
        case hello(Hello)
        case helloAnswer(Hello)
        case pull(VersionVector)
        case pullAnswer([SignedEntry], [Equivocation])
        case notice(origin: String, sequence: UInt64)
        /// The call `id` failed (lost on the way, a peer down): the caller's timeout.
        case failure
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
        var store: LogStore?
        var sessions: [String: PeerSession] = [:]
        var guardian: OwnHeadGuard
        /// Per peer, the call in flight.
        var calls: [String: UInt64] = [:]
        var skewMs: Int64

        init(id: String, skewMs: Int64) {
            self.id = id
            self.skewMs = skewMs
            guardian = OwnHeadGuard(nodeID: id, peers: [], local: VersionVector())
        }
    }

    let seed: UInt64
    var rng: SplitMix64
    let directory: TemporaryDirectory
    let roster: RosterBook
    let catalog: CatalogBook
    let ids = Fixtures.nodes
    var nodes: [String: Node] = [:]
    var queue: [Message] = []
    var cut: Set<[String]> = []
    var dropPercent = 5
    var duplicatePercent = 3
    /// Virtual time, ms since the epoch (shared; each node adds its skew).
    let clock = VirtualClock()
    var nextCall: UInt64 = 1
    /// Every write a node acknowledged: origin, sequence number, entry id.
    var acknowledged: [(origin: String, sequence: UInt64, id: EntryID)] = []
    var settings = PeerSession.Settings()
    /// What happened, one line per event (printed for a failing seed).
    var trace: [String] = []
    var steps = 0

    init(seed: UInt64) throws {
        self.seed = seed
        rng = SplitMix64(seed: seed)
        directory = try TemporaryDirectory("coop-sim")
        roster = try Fixtures.roster()
        catalog = try Fixtures.catalog()
        settings.antiEntropyMs = 1000
        settings.minBackoffMs = 50
        settings.maxBackoffMs = 2000
        settings.refusedBackoffMs = 5000
        for id in ids {
            // Mostly small skews; now and then one clock far ahead (its entries are held until others catch up).
            let far = Int.random(in: 0..<10, using: &rng) == 0
            let skew =
                far ? Int64.random(in: 61_000...90_000, using: &rng) : Int64.random(in: -3000...3000, using: &rng)
            nodes[id] = Node(id: id, skewMs: skew)
        }
    }

    var now: UInt64 { clock.ms }

    func log(_ line: String) { trace.append("[\(steps) t=\(now % 1_000_000)] \(line)") }

    // MARK: Nodes

    func start(_ id: String) async throws {
        let node = nodes[id]!
        var options = LogStore.Options()
        options.durability = .unsafeNoSync
        let skew = node.skewMs
        let clock = self.clock
        options.physicalClock = { UInt64(Int64(clock.ms) + skew) }
        let store = try LogStore.open(
            directory: directory.file(id),
            roster: roster,
            catalog: catalog,
            identity: try NodeKeys.read(name: id, from: Fixtures.keysPath),
            options: options
        )
        node.store = store
        let peers = ids.filter { $0 != id }
        node.guardian = OwnHeadGuard(nodeID: id, peers: peers, local: store.versionVector)
        node.sessions = Dictionary(uniqueKeysWithValues: peers.map { ($0, PeerSession(peer: $0, settings: settings)) })
        node.calls = [:]
        log("\(id) starts at \(describe(store.versionVector))")
        for peer in peers { perform(id, peer, node.sessions[peer]!.start(now: now)) }
    }

    /// A crash: the store is dropped without a checkpoint; what it held in memory is gone.
    func crash(_ id: String) async throws {
        let node = nodes[id]!
        guard let store = node.store else { return }
        log("\(id) crashes")
        try await store.close()
        node.store = nil
        node.sessions = [:]
        node.calls = [:]
    }

    func describe(_ v: VersionVector) -> String {
        v.origins.map { "\($0.origin.suffix(4))#\($0.sequence)" }.joined(separator: ",")
    }

    // MARK: Calls

    func send(_ message: Message) {
        var message = message
        // A failure is the caller's own timeout: never lost.
        if case .failure = message.payload {
            queue.append(message)
            return
        }
        let blocked = cut.contains([message.from, message.to].sorted())
        let dropped = Int.random(in: 0..<100, using: &rng) < dropPercent
        if blocked || dropped {
            if case .notice = message.payload { return }
            // The caller times out.
            let caller = message.call != 0 && isAnswer(message.payload) ? message.to : message.from
            let callee = caller == message.from ? message.to : message.from
            message = Message(from: callee, to: caller, call: message.call, payload: .failure)
        }
        queue.append(message)
        if Int.random(in: 0..<100, using: &rng) < duplicatePercent { queue.append(message) }
    }

    func isAnswer(_ payload: Payload) -> Bool {
        switch payload {
        case .helloAnswer, .pullAnswer: true
        default: false
        }
    }

    func perform(_ id: String, _ peer: String, _ actions: [PeerSession.Action]) {
        guard let node = nodes[id], let store = node.store else { return }
        for action in actions {
            let call = nextCall
            nextCall += 1
            node.calls[peer] = call
            switch action {
            case .exchange:
                send(Message(from: id, to: peer, call: call, payload: .hello(hello(id, store))))
            case .pull(let have):
                send(Message(from: id, to: peer, call: call, payload: .pull(have)))
            }
        }
    }

    func hello(_ id: String, _ store: LogStore) -> Hello {
        Hello(
            protocolVersion: HelloCheck.protocolVersion,
            nodeId: id,
            side: roster.member(id)?.side ?? .unspecified,
            catalogHash: catalog.hash.bytes,
            rosterHash: roster.hash.bytes,
            versionVector: store.versionVector,
            evidenceCount: UInt32(store.evidence.count),
            heads: store.digests
        )
    }

    /// A lying relay: a second, different entry signed with `origin`'s key at a sequence number it already used,
    /// handed to `to` as if pulled. Every node must end with the evidence and the same view.
    func forge(origin: String, to: String) async throws {
        guard let source = nodes[origin]?.store, let target = nodes[to]?.store else { return }
        let held = source.versionVector[origin]
        guard held > 0 else { return }
        let sequence = UInt64.random(in: 1...held, using: &rng)
        guard let original = try source.entries(of: origin, after: sequence - 1, limit: 1).first else { return }
        var body = try EntryBody(wireBytes: original.body)
        guard let item = LedgerView.itemID(of: body) else { return }
        body.payload = .comment(Comment(itemId: item, text: "a second #\(sequence)", author: "forger"))
        let bytes = body.wireBytes()
        let signer = try NodeKeys.read(name: origin, from: Fixtures.keysPath).makeSigner()
        let forged = SignedEntry(body: bytes, signature: signer.sign(bytes))
        let before = target.versionVector
        let report = try await target.ingest(batch: [forged])
        log("forged \(origin)#\(sequence) handed to \(to): \(report.equivocations) \(report.pending) pending")
        announce(to, before: before)
    }

    /// Delivers one message.
    func deliver(_ m: Message) async throws {
        guard let node = nodes[m.to], let store = node.store else {
            // The receiver is down: a request fails at its caller.
            switch m.payload {
            case .hello, .pull: send(Message(from: m.to, to: m.from, call: m.call, payload: .failure))
            default: break
            }
            return
        }
        switch m.payload {
        case .hello(let remote):
            observe(node, m.from, remote.versionVector ?? VersionVector())
            // As the node's Exchange handler: what the caller holds counts as notices.
            let local = store.versionVector
            for (origin, range) in local.lacking(comparedTo: remote.versionVector ?? VersionVector()) {
                perform(
                    m.to,
                    m.from,
                    node.sessions[m.from]!.notice(origin: origin, sequence: range.upperBound, local: local, now: now)
                )
            }
            send(Message(from: m.to, to: m.from, call: m.call, payload: .helloAnswer(hello(m.to, store))))
        case .pull(let have):
            var entries: [SignedEntry] = []
            try await SyncProvider.lacking(have, in: store, limit: 40, readBatch: 16) { entries += $0 }
            send(Message(from: m.to, to: m.from, call: m.call, payload: .pullAnswer(entries, store.evidence)))
        case .helloAnswer(let remote):
            guard node.calls[m.from] == m.call else { return }
            node.calls[m.from] = nil
            observe(node, m.from, remote.versionVector ?? VersionVector())
            let (actions, events) = node.sessions[m.from]!.exchanged(
                remote,
                local: store.versionVector,
                localHello: hello(m.to, store),
                now: now
            )
            if !events.isEmpty { log("\(m.to): \(events)") }
            perform(m.to, m.from, actions)
        case .pullAnswer(let entries, let evidence):
            guard node.calls[m.from] == m.call else { return }
            node.calls[m.from] = nil
            let before = store.versionVector
            for e in evidence { _ = try? await store.ingest(e) }
            let report = try await store.ingest(batch: entries)
            let after = store.versionVector
            log("\(m.to) pulled \(entries.count) from \(m.from): stored \(report.stored), now \(describe(after))")
            announce(m.to, before: before)
            observe(node, m.from, node.sessions[m.from]!.remoteVector)
            let proven = Set(store.digests.filter { $0.evidence > 0 }.map(\.origin))
            let forked = report.forked.subtracting(proven)
            perform(
                m.to,
                m.from,
                node.sessions[m.from]!.pulled(progressed: after != before, local: after, now: now, forked: forked)
            )
        case .notice(let origin, let sequence):
            let actions = node.sessions[m.from]!.notice(
                origin: origin,
                sequence: sequence,
                local: store.versionVector,
                now: now
            )
            perform(m.to, m.from, actions)
        case .failure:
            guard node.calls[m.from] == m.call else { return }
            node.calls[m.from] = nil
            _ = node.sessions[m.from]!.failed("timeout", now: now)
        }
    }

    func observe(_ node: Node, _ peer: String, _ remote: VersionVector) {
        guard let store = node.store else { return }
        if let event = node.guardian.observe(peer: peer, remote: remote, local: store.versionVector) {
            log("\(node.id) guard: \(event)")
        }
    }

    /// Head notices for origins that advanced at `id`.
    func announce(_ id: String, before: VersionVector) {
        guard let store = nodes[id]?.store else { return }
        for digest in store.digests where digest.sequence > before[digest.origin] {
            for peer in ids where peer != id {
                send(
                    Message(
                        from: id,
                        to: peer,
                        call: 0,
                        payload: .notice(origin: digest.origin, sequence: digest.sequence)
                    )
                )
            }
        }
    }

    /// Timers of every running node.
    func tick() async throws {
        for id in ids {
            guard let node = nodes[id], let store = node.store else { continue }
            _ = try await store.releaseHeldEntries()
            for peer in ids where peer != id && node.calls[peer] == nil {
                perform(id, peer, node.sessions[peer]!.tick(now: now))
            }
        }
    }

    // MARK: Writes

    /// A staff update through `id`: a valid next status of an item it takes part in, or a comment.
    func write(_ id: String) async throws {
        guard let node = nodes[id], let store = node.store, node.guardian.mayWrite else { return }
        let items = catalog.items.filter { $0.participants.contains(id) }
        guard let item = items.randomElement(using: &rng), let state = store.state(of: item.id) else { return }
        let payload: EntryBody.Payload
        let next = Lifecycle.allowed[state.status]?.filter { $0 != .cancelled }.sorted { $0.rawValue < $1.rawValue }
        if let next, let status = next.randomElement(using: &rng), Int.random(in: 0..<4, using: &rng) > 0 {
            let progress =
                status == .completed
                ? 100 : UInt32.random(in: min(state.progress, 99)...min(99, state.progress + 20), using: &rng)
            payload = .statusUpdate(
                StatusUpdate(
                    itemId: item.id,
                    status: status,
                    progress: progress,
                    note: "step \(steps)",
                    reporter: "staff"
                )
            )
        } else {
            payload = .comment(Comment(itemId: item.id, text: "跟踪 \(steps)", author: "staff"))
        }
        let before = store.versionVector
        do {
            let result = try await store.append(payload)
            acknowledged.append((id, result.body.sequence, result.id))
            log("\(id) writes #\(result.body.sequence) on \(item.id)")
            announce(id, before: before)
        } catch let error as LogError where error.code == .refused {
            log("\(id) write refused: \(error.message)")
        }
    }

    // MARK: Run

    /// The random phase, then a quiet phase (links healed, nothing dropped, every node up, time moved past any
    /// skew) that runs until nothing is left to do. Returns a description of any divergence (`nil`: converged).
    func run(steps count: Int) async throws -> String? {
        for id in ids { try await start(id) }
        for _ in 0..<count {
            steps += 1
            let roll = Int.random(in: 0..<100, using: &rng)
            switch roll {
            case 0..<25:
                try await write(ids.randomElement(using: &rng)!)
            case 25..<65:
                if !queue.isEmpty {
                    let m = queue.remove(at: Int.random(in: 0..<queue.count, using: &rng))
                    try await deliver(m)
                }
            case 65..<85:
                clock.advance(UInt64.random(in: 0...400, using: &rng))
                try await tick()
            case 85..<90:
                let pair = Array(ids.shuffled(using: &rng).prefix(2)).sorted()
                if cut.contains(pair) {
                    cut.remove(pair)
                    log("link \(pair) heals")
                } else {
                    cut.insert(pair)
                    log("link \(pair) cut")
                }
            case 90:
                if Int.random(in: 0..<3, using: &rng) == 0 {
                    let pair = ids.shuffled(using: &rng)
                    try await forge(origin: pair[0], to: pair[1])
                }
            case 91..<94:
                let id = ids.randomElement(using: &rng)!
                if nodes[id]?.store != nil { try await crash(id) }
            case 94..<97:
                for id in ids where nodes[id]?.store == nil {
                    try await start(id)
                    break
                }
            default:
                // A burst: several messages at once.
                for _ in 0..<min(queue.count, 5) { try await deliver(queue.removeFirst()) }
            }
        }
        try await settle()
        return converged() ?? lostWrites()
    }

    /// The quiet phase: links healed, nothing dropped, every node but `down` up, time moved past any skew; runs
    /// until the running nodes agree and nothing is in flight (or 400 rounds).
    func settle(keepingDown down: Set<String> = []) async throws {
        log("heal: links restored, no drops, nodes up but \(down.sorted()), clocks past the skew")
        cut.removeAll()
        dropPercent = 0
        duplicatePercent = 0
        for id in ids where nodes[id]?.store == nil && !down.contains(id) { try await start(id) }
        clock.advance(120_000)
        let running = ids.filter { !down.contains($0) }
        for _ in 0..<400 {
            while !queue.isEmpty { try await deliver(queue.removeFirst()) }
            if converged(among: running) == nil && allIdle() { break }
            clock.advance(settings.antiEntropyMs)
            try await tick()
        }
    }

    /// A fork at equal height: `origin` signs two different next entries, hands one to each of `first` and `second`
    /// (as if each had pulled it), and goes down for good. Neither node is behind the other.
    func forkAtEqualHeight(origin: String, first: String, second: String) async throws {
        guard let source = nodes[origin]?.store else { return }
        let head = source.digests.first { $0.origin == origin }
        let sequence = (head?.sequence ?? 0) + 1
        let signer = try NodeKeys.read(name: origin, from: Fixtures.keysPath).makeSigner()
        try await crash(origin)
        for (to, text) in [(first, "the first #\(sequence)"), (second, "another #\(sequence)")] {
            let body = EntryBody(
                origin: origin,
                sequence: sequence,
                previous: head?.head ?? [],
                timestamp: HybridTimestamp(wallMs: now, logical: 0),
                payload: .comment(Comment(itemId: catalog.items[0].id, text: text, author: origin))
            )
            let bytes = body.wireBytes()
            let report = try await nodes[to]!.store!.ingest(batch: [
                SignedEntry(body: bytes, signature: signer.sign(bytes))
            ])
            log("\(origin)#\(sequence) (\(text)) handed to \(to): stored \(report.stored)")
        }
    }

    func allIdle() -> Bool {
        nodes.values.allSatisfy { $0.calls.isEmpty }
    }

    /// `nil` when every node holds the same digests, evidence and item states; else how they differ.
    func converged(among ids: [String]? = nil) -> String? {
        let ids = ids ?? self.ids
        let stores = ids.compactMap { nodes[$0]?.store }
        guard stores.count == ids.count else { return "not every node is up" }
        let first = stores[0]
        func key(_ e: Equivocation) -> String {
            let body = e.first.flatMap { try? EntryBody(wireBytes: $0.body) }
            return "\(body?.origin ?? "?")#\(body?.sequence ?? 0)"
        }
        let proven = Set(first.digests.filter { $0.evidence > 0 }.map(\.origin))
        // After an equivocation, nodes may hold different branches of that origin past the fork; both set it aside.
        func honest(_ store: LogStore) -> [OriginDigest] { store.digests.filter { !proven.contains($0.origin) } }
        for (id, store) in zip(ids, stores).dropFirst() {
            if Set(store.evidence.map(key)) != Set(first.evidence.map(key)) {
                return
                    "\(id) evidence \(store.evidence.map(key).sorted()) ≠ \(ids[0]) \(first.evidence.map(key).sorted())"
            }
            if honest(store) != honest(first) {
                return "\(id) digests \(store.digests.map { "\($0.origin)#\($0.sequence)/e\($0.evidence)" }) ≠ "
                    + "\(ids[0]) \(first.digests.map { "\($0.origin)#\($0.sequence)/e\($0.evidence)" })"
            }
            // `setAside` counts the entries this node holds and sets aside: past a fork nodes may hold different
            // branches of the equivocating origin, so only that count may differ.
            func view(_ store: LogStore) -> [ItemState] {
                store.states.map { state in
                    var state = state
                    state.setAside = 0
                    return state
                }
            }
            if view(store) != view(first) {
                let diff = zip(view(store), view(first)).first { $0 != $1 }
                return "\(id)'s view differs from \(ids[0])'s: \(String(describing: diff))"
            }
        }
        return nil
    }

    /// `nil` when every acknowledged write is held by every node; else the first missing one.
    func lostWrites() -> String? {
        for id in ids {
            guard let store = nodes[id]?.store else { return "\(id) is down" }
            let proven = Set(store.digests.filter { $0.evidence > 0 }.map(\.origin))
            for w in acknowledged where !proven.contains(w.origin) {
                let held = (try? store.entries(of: w.origin, after: w.sequence - 1, limit: 1))?.first
                if held.map({ EntryID(of: $0) }) != w.id { return "\(id) lacks acknowledged \(w.origin)#\(w.sequence)" }
            }
        }
        return nil
    }

    func close() async {
        for id in ids { try? await nodes[id]?.store?.close() }
    }
}

/// Virtual time in milliseconds since the epoch, read by the stores' clocks. Thread-safe.
final class VirtualClock: Sendable {
    private let value = Mutex<UInt64>(1_790_000_000_000)
    var ms: UInt64 { value.withLock { $0 } }
    func advance(_ by: UInt64) { value.withLock { $0 += by } }
}
