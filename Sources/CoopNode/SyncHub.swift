import CoopLedger
public import CoopLog
public import CoopRPC
public import CoopSync
public import CoopWire
import Foundation
public import Logging
import Synchronization

/// A node's side of reconciliation: its ``PeerSession`` per peer and its ``OwnHeadGuard``, the hello it sends, the
/// notices it publishes, and what it tells the operator. ``PeerLink``s drive the sessions; ``SyncProvider`` serves
/// peers; ``LedgerProvider`` asks ``checkWrite()`` before signing.
///
/// **Threading.** `Sendable`; every method may be called from any task. State is kept under one short lock, never
/// held across I/O.
public final class SyncHub: Sendable {
    public let store: LogStore
    public let nodeID: String
    public let side: Side
    public let peerIDs: [String]
    /// Peers as configured (for status).
    let peerEndpoints: [NodeConfig.Peer]
    let settings: PeerSession.Settings
    let logger: Logger
    /// Called after a pull stored new evidence of equivocation or found one.
    let onEvidence: @Sendable () -> Void
    let feed: ChangeFeed
    /// When the hub started (monotonic), for the millisecond clock of the sessions.
    private let epoch = ContinuousClock.now

    struct State {
        var guardian: OwnHeadGuard
        var sessions: [String: PeerSession]
        /// Entries stored from each peer's pulls.
        var pulled: [String: UInt64] = [:]
        /// Actions for a link to perform (set by a notice or a peer's hello that arrived between its rounds).
        var queued: [String: [PeerSession.Action]] = [:]
        /// What each link's pull in flight will bring, so that the links do not fetch the same entries twice.
        var claims = PullClaims()
    }

    let state: Mutex<State>
    /// Publishes head notices (set once the PUB socket is bound). In a struct: a `Mutex` whose value is itself a
    /// function type reabstracts it on every `withLock` (out of its generic storage and back in through the `inout`),
    /// adding two thunks each time, so every announce walked a chain that grew by two calls per write (10% of a busy
    /// node's CPU, and a stack deeper with every write) — as the RPC transports' handlers once did.
    private let publisher = Mutex<Publisher?>(nil)

    private struct Publisher {
        let publish: @Sendable ([HeadNotice]) -> Void
    }
    /// Wakes a peer's link (set by the link).
    let wakers = Mutex<[String: @Sendable () -> Void]>([:])

    public init(
        store: LogStore,
        nodeID: String,
        peers: [NodeConfig.Peer],
        settings: PeerSession.Settings,
        feed: ChangeFeed,
        logger: Logger,
        onEvidence: @escaping @Sendable () -> Void = {}
    ) {
        self.store = store
        self.nodeID = nodeID
        self.side = store.roster.member(nodeID)?.side ?? .unspecified
        self.peerIDs = peers.map(\.id)
        self.peerEndpoints = peers
        let peers = peers.map(\.id)
        self.settings = settings
        self.feed = feed
        self.logger = logger
        self.onEvidence = onEvidence
        let local = store.versionVector
        state = Mutex(
            State(
                guardian: OwnHeadGuard(nodeID: nodeID, peers: peers, local: local),
                sessions: Dictionary(
                    uniqueKeysWithValues: peers.map { ($0, PeerSession(peer: $0, settings: settings)) }
                )
            )
        )
        if !peers.isEmpty {
            logger.info(
                "signing nothing until a peer shows what it holds of this node's own entries",
                metadata: ["held": .stringConvertible(local[nodeID]), "peers": .string(peers.joined(separator: ","))]
            )
        }
    }

    /// Milliseconds since the hub started (monotonic).
    var nowMs: UInt64 {
        let elapsed = ContinuousClock.now - epoch
        return UInt64(elapsed.components.seconds) * 1000
            + UInt64(elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    /// This node's hello: identity, hashes, what it holds.
    public func localHello() -> Hello {
        Hello(
            protocolVersion: HelloCheck.protocolVersion,
            nodeId: nodeID,
            side: side,
            catalogHash: store.catalog.hash.bytes,
            rosterHash: store.roster.hash.bytes,
            versionVector: store.versionVector,
            heartbeatIntervalMs: 1000,
            heartbeatLiveness: 3,
            clock: nil,
            evidenceCount: UInt32(store.evidence.count),
            heads: store.digests
        )
    }

    /// Throws UNAVAILABLE (`OWN_LOG_UNCONFIRMED`) while the node may not sign new entries.
    public func checkWrite() throws(RPCError) {
        let refusal: String? = state.withLock { s in
            s.guardian.mayWrite ? nil : s.guardian.refusal(peers: peerIDs)
        }
        if let refusal {
            throw RPCError(code: .unavailable, message: refusal, reason: NodeReason.ownLogUnconfirmed)
        }
    }

    /// Whether the node may sign new entries now.
    public var mayWrite: Bool { state.withLock { $0.guardian.mayWrite } }

    /// A peer's version vector was seen: feeds the own-head guard and logs what it decided.
    func observe(peer: String, remote: VersionVector) {
        let local = store.versionVector
        guard let event = state.withLock({ $0.guardian.observe(peer: peer, remote: remote, local: local) }) else {
            return
        }
        switch event {
        case .mustLearn(let peer, let held, let peerHolds):
            let message =
                "\(peer) holds entries of this node's own that its log lacks (#\(held + 1)…#\(peerHolds)): the log "
                + "lost its end (restored from an old copy?); pulling them before signing anything new"
            logger.warning(
                "\(message)",
                metadata: ["peer": .string(peer)]
            )
        case .confirmed(let peer, let held, let learned):
            let message =
                learned > 0
                ? "own log confirmed by \(peer) at #\(held) after learning \(learned) of its own entries from peers; "
                    + "writes open"
                : "own log confirmed by \(peer) at #\(held); writes open"
            logger.info(
                "\(message)",
                metadata: ["peer": .string(peer)]
            )
        }
    }

    /// Runs `body` on one peer's session under the lock.
    func withSession<T>(_ peer: String, _ body: (inout PeerSession) -> T) -> T? {
        state.withLock { s in
            guard var session = s.sessions[peer] else { return nil }
            defer { s.sessions[peer] = session }
            return body(&session)
        }
    }

    /// Queues actions for a peer's link and wakes it.
    func queue(_ actions: [PeerSession.Action], for peer: String) {
        guard !actions.isEmpty else { return }
        state.withLock { $0.queued[peer, default: []].append(contentsOf: actions) }
        wakers.withLock { $0[peer] }?()
    }

    func takeQueued(_ peer: String) -> [PeerSession.Action] {
        state.withLock { s in
            defer { s.queued[peer] = nil }
            return s.queued[peer] ?? []
        }
    }

    /// A head notice from a peer's PUB socket.
    func notice(_ notice: HeadNotice) {
        // Only origins that can sign entries; anything else would only grow what the session remembers.
        guard store.roster.member(notice.origin)?.role == .peer else { return }
        let local = store.versionVector
        let now = nowMs
        let actions =
            withSession(notice.fromNode) {
                $0.notice(origin: notice.origin, sequence: notice.sequence, local: local, now: now)
            } ?? []
        queue(actions, for: notice.fromNode)
    }

    /// A peer called `Exchange`: what its hello says it holds counts as notices (this node pulls what it lacks at
    /// once rather than at its next round).
    func peerHello(_ hello: Hello) {
        let remote = hello.versionVector ?? VersionVector()
        observe(peer: hello.nodeId, remote: remote)
        let local = store.versionVector
        let now = nowMs
        var actions: [PeerSession.Action] = []
        for (origin, range) in local.lacking(comparedTo: remote) {
            actions +=
                withSession(hello.nodeId) {
                    $0.notice(origin: origin, sequence: range.upperBound, local: local, now: now)
                } ?? []
        }
        queue(actions, for: hello.nodeId)
    }

    /// Sets how notices are published (the node's PUB socket).
    func setPublisher(_ publish: @escaping @Sendable ([HeadNotice]) -> Void) {
        publisher.withLock { $0 = Publisher(publish: publish) }
    }

    /// Announces new entries: one notice per origin that advanced (its new head), and tells watchers.
    func announce(_ heads: [(origin: String, sequence: UInt64, id: [UInt8])]) {
        guard !heads.isEmpty, let publisher = publisher.withLock({ $0 }) else { return }
        publisher.publish(
            heads.map { HeadNotice(fromNode: nodeID, origin: $0.origin, sequence: $0.sequence, entryId: $0.id) }
        )
    }

    /// After a batch from a peer was stored: announce the heads that moved, tell watchers about the items touched.
    func stored(batch: [SignedEntry], before: VersionVector) {
        var items = Set<String>()
        for entry in batch {
            if let body = try? EntryBody(wireBytes: entry.body), let item = LedgerView.itemID(of: body) {
                items.insert(item)
            }
        }
        for item in items.sorted() {
            if let state = store.state(of: item) {
                feed.publish(ItemChange(state: state, logRecords: store.recordCount))
            }
        }
        let digests = store.digests
        let moved = digests.filter { $0.sequence > before[$0.origin] }
        announce(moved.map { ($0.origin, $0.sequence, $0.head) })
    }

    /// How the node and its peer links stand (`Sync/Status`).
    public func status() -> NodeStatus {
        let local = store.versionVector
        let now = nowMs
        let (sessions, pulled, guardian) = state.withLock { s in
            (peerIDs.compactMap { s.sessions[$0] }, s.pulled, s.guardian)
        }
        let endpoints = Dictionary(uniqueKeysWithValues: peerEndpoints.map { ($0.id, $0.endpoint) })
        let states = store.states
        return NodeStatus(
            nodeId: nodeID,
            side: side,
            records: store.recordCount,
            versionVector: local,
            digests: store.digests,
            peers: sessions.map { session in
                PeerStatus(
                    peer: session.peer,
                    endpoint: endpoints[session.peer] ?? "",
                    phase: session.phase.rawValue,
                    up: session.isUp,
                    lagEntries: session.lag(local: local),
                    lagMs: session.behindSinceMs.map { now - min(now, $0) } ?? 0,
                    peerLacks: session.peerLag(local: local),
                    lastContactMsAgo: session.lastContactMs.map { max(1, now - min(now, $0)) } ?? 0,
                    failures: UInt32(min(session.failures, Int(UInt32.max))),
                    lastError: session.lastError ?? "",
                    pulled: pulled[session.peer] ?? 0,
                    versionVector: session.remoteVector
                )
            },
            conflicts: states.filter { $0.heads.count > 1 }.map(\.itemId),
            equivocations: UInt32(store.evidence.count),
            clockSkews: store.clockSkews.keys.sorted().map { ClockSkew(origin: $0, aheadMs: store.clockSkews[$0]!) },
            pending: UInt64(store.pendingCounts.values.reduce(0, +)),
            held: UInt64(store.heldCounts.values.reduce(0, +)),
            mayWrite: guardian.mayWrite,
            ownHeadConfirmedBy: guardian.confirmedBy ?? "",
            uptimeSeconds: now / 1000
        )
    }

    /// Each peer's session, for status.
    public var sessions: [PeerSession] {
        state.withLock { s in peerIDs.compactMap { s.sessions[$0] } }
    }

    /// Entries stored from each peer's pulls.
    public var pulledCounts: [String: UInt64] { state.withLock { $0.pulled } }
}
