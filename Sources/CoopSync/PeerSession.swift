public import CoopWire

/// What a node does about one peer, as a state machine without I/O: when to `Exchange` hellos, when to `Pull`, how
/// long to back off after a failure, and what to tell the operator. The node (or a simulation) performs the
/// ``Action``s it returns and feeds back what happened; time is a monotonic millisecond count the caller supplies.
///
/// **Threading.** A value type; one owner drives it (the node keeps it under a lock).
///
/// ```
/// starting ─start→ exchanging ─exchanged(ahead)→ pulling ─pulled(caught up)→ idle ─tick(round due)→ exchanging
///                     │  └─exchanged(nothing new)→ idle ─notice(ahead)→ pulling
///                     └─failed→ backingOff ─tick(retry due)→ exchanging        (refused: a long back-off)
/// ```
public struct PeerSession: Sendable {
    /// Timers.
    public struct Settings: Sendable, Hashable {
        /// How often an idle session exchanges hellos (anti-entropy: repairs whatever a notice missed).
        public var antiEntropyMs: UInt64 = 2000
        /// First back-off after a failure; doubles per failure up to ``maxBackoffMs``.
        public var minBackoffMs: UInt64 = 100
        public var maxBackoffMs: UInt64 = 5000
        /// Back-off after the peer was refused (catalog, roster or protocol mismatch, wrong node id).
        public var refusedBackoffMs: UInt64 = 30_000

        public init() {}
    }

    public enum Phase: String, Sendable, Hashable {
        case starting, exchanging, pulling, idle, backingOff, refused
    }

    /// What the driver does next.
    public enum Action: Sendable, Hashable {
        /// Call `Exchange` with this node's current `Hello`, then report ``exchanged(_:local:localHello:now:)`` or
        /// ``failed(_:now:)``.
        case exchange
        /// Call `Pull` with `have` (the local version vector), ingest what arrives, then report
        /// ``pulled(progressed:local:now:)`` or ``failed(_:now:)``.
        case pull(have: VersionVector)
    }

    /// Something an operator should see (the node logs it).
    public enum Event: Sendable, Hashable {
        /// The peer answered after being unknown or down.
        case up(peer: String, lag: UInt64)
        /// The peer went unreachable or a call failed.
        case down(peer: String, reason: String)
        /// The peer cannot be reconciled with (mismatch); retried after a long back-off.
        case refused(peer: String, code: String, message: String)
    }

    public let peer: String
    public let settings: Settings
    public private(set) var phase: Phase = .starting
    /// The peer's last hello.
    public private(set) var remoteHello: Hello?
    /// What the peer is known to hold: its last hello's vector, raised by its notices.
    public private(set) var remoteVector = VersionVector()
    /// Whether the last exchange or pull succeeded.
    public private(set) var isUp = false
    /// Failures in a row.
    public private(set) var failures = 0
    /// The last failure's reason.
    public private(set) var lastError: String?
    /// When the session last heard from the peer (exchange or pull done).
    public private(set) var lastContactMs: UInt64?
    /// Since when this node has been behind the peer (`nil`: not behind as far as it knows).
    public private(set) var behindSinceMs: UInt64?
    /// Completed pulls and exchanges (for status).
    public private(set) var exchanges = 0
    public private(set) var pulls = 0
    private var wakeAtMs: UInt64 = 0
    /// Origins already fetched again from their first entry to find a fork.
    public private(set) var reexamined: Set<String> = []

    public init(peer: String, settings: Settings = Settings()) {
        self.peer = peer
        self.settings = settings
    }

    /// When ``tick(now:)`` next has something to do (`nil`: waiting for a call in flight to finish).
    public var nextWakeUpMs: UInt64? {
        switch phase {
        case .idle, .backingOff, .refused, .starting: wakeAtMs
        case .exchanging, .pulling: nil
        }
    }

    /// Begins: exchange hellos at once.
    public mutating func start(now: UInt64) -> [Action] {
        guard phase == .starting else { return [] }
        phase = .exchanging
        return [.exchange]
    }

    /// A timer fired: a due anti-entropy round or retry starts an exchange.
    public mutating func tick(now: UInt64) -> [Action] {
        switch phase {
        case .starting: return start(now: now)
        case .idle, .backingOff, .refused:
            guard now >= wakeAtMs else { return [] }
            phase = .exchanging
            return [.exchange]
        case .exchanging, .pulling: return []
        }
    }

    /// The peer answered the exchange. Checks its hello against `localHello`; pulls when it holds entries this
    /// node lacks, or more evidence of equivocation (`evidence_count`) than this node.
    public mutating func exchanged(
        _ hello: Hello,
        local: VersionVector,
        localHello: Hello,
        now: UInt64
    ) -> (actions: [Action], events: [Event]) {
        guard phase == .exchanging else { return ([], []) }
        do {
            try HelloCheck.check(local: localHello, remote: hello, expectedPeer: peer)
        } catch {
            return ([], refuse(code: error.code.description, message: error.message, now: now))
        }
        var events: [Event] = []
        remoteHello = hello
        remoteVector = hello.versionVector ?? VersionVector()
        exchanges += 1
        lastContactMs = now
        failures = 0
        lastError = nil
        if !isUp {
            isUp = true
            events.append(.up(peer: peer, lag: local.lag(behind: remoteVector)))
        }
        // Both hold an origin up to the same sequence number, with different heads: a fork at equal height, which
        // no pull would ever bring (neither is behind). Fetch that origin from just below its head, once: the
        // peer's entry at that sequence number meets this node's and becomes evidence.
        let forks = Self.forksAtEqualHeight(local: localHello.heads, remote: hello.heads).subtracting(reexamined)
        if !forks.isEmpty {
            reexamined.formUnion(forks)
            var have = local.sequences
            for origin in forks {
                let held = have[origin] ?? 0
                have[origin] = held > 0 ? held - 1 : 0
            }
            phase = .pulling
            return ([.pull(have: VersionVector(have))], events)
        }
        // The peer holds evidence of equivocation this node lacks: a pull brings all of it.
        let evidenceBehind = hello.evidenceCount > localHello.evidenceCount
        return (nextAfterContact(local: local, progressed: true, now: now, evidenceBehind: evidenceBehind), events)
    }

    /// Origins both sides hold up to the same sequence number (at least 1) with different head entries, where this
    /// node holds no evidence against the origin yet.
    public static func forksAtEqualHeight(local: [OriginDigest], remote: [OriginDigest]) -> Set<String> {
        guard !local.isEmpty, !remote.isEmpty else { return [] }
        var mine: [String: OriginDigest] = [:]
        for digest in local { mine[digest.origin] = digest }
        var forks: Set<String> = []
        for theirs in remote {
            guard let own = mine[theirs.origin], own.sequence > 0, own.sequence == theirs.sequence,
                own.evidence == 0, !theirs.head.isEmpty, own.head != theirs.head
            else { continue }
            forks.insert(theirs.origin)
        }
        return forks
    }

    /// A pull ended (its stream finished). `progressed`: it stored entries. `forked`:
    /// origins whose entries from the peer did not chain onto what this node holds, with no evidence known yet; each
    /// is fetched once more from its first entry, so that the two entries at the fork meet and become evidence.
    public mutating func pulled(
        progressed: Bool,
        local: VersionVector,
        now: UInt64,
        forked: Set<String> = []
    ) -> [Action] {
        guard phase == .pulling else { return [] }
        pulls += 1
        lastContactMs = now
        failures = 0
        let again = forked.subtracting(reexamined)
        if !again.isEmpty {
            reexamined.formUnion(again)
            return [.pull(have: VersionVector(local.sequences.filter { !again.contains($0.key) }))]
        }
        return nextAfterContact(local: local, progressed: progressed, now: now)
    }

    /// The exchange or pull in flight failed (unreachable, deadline, refused by the peer): back off, doubling.
    public mutating func failed(_ reason: String, now: UInt64) -> [Event] {
        guard phase == .exchanging || phase == .pulling else { return [] }
        failures += 1
        lastError = reason
        phase = .backingOff
        let shift = UInt64(min(failures - 1, 20))
        wakeAtMs = now + min(settings.maxBackoffMs, settings.minBackoffMs << shift)
        guard isUp else { return [] }
        isUp = false
        return [.down(peer: peer, reason: reason)]
    }

    /// The peer refused this node (its answer named a mismatch, or denied it as a peer): retried only after
    /// ``Settings/refusedBackoffMs``, since it needs an operator.
    public mutating func refused(code: String, message: String, now: UInt64) -> [Event] {
        guard phase == .exchanging || phase == .pulling else { return [] }
        return refuse(code: code, message: message, now: now)
    }

    private mutating func refuse(code: String, message: String, now: UInt64) -> [Event] {
        phase = .refused
        isUp = false
        failures += 1
        lastError = "\(code): \(message)"
        wakeAtMs = now + settings.refusedBackoffMs
        return [.refused(peer: peer, code: code, message: message)]
    }

    /// The peer announced a new entry (`HeadNotice`): pull now if idle and behind; otherwise the pull in flight or
    /// the next round takes it.
    public mutating func notice(origin: String, sequence: UInt64, local: VersionVector, now: UInt64) -> [Action] {
        var held = remoteVector.sequences
        if sequence > (held[origin] ?? 0) {
            held[origin] = sequence
            remoteVector = VersionVector(held)
        }
        noteLag(local: local, now: now)
        guard phase == .idle, local[origin] < sequence else { return [] }
        phase = .pulling
        return [.pull(have: local)]
    }

    /// Entries this node lacks that the peer is known to hold.
    public func lag(local: VersionVector) -> UInt64 { local.lag(behind: remoteVector) }

    /// Entries the peer lacks that this node holds (as of the peer's last hello and notices).
    public func peerLag(local: VersionVector) -> UInt64 { remoteVector.lag(behind: local) }

    private mutating func nextAfterContact(
        local: VersionVector,
        progressed: Bool,
        now: UInt64,
        evidenceBehind: Bool = false
    ) -> [Action] {
        noteLag(local: local, now: now)
        if evidenceBehind || (progressed && !local.covers(remoteVector)) {
            phase = .pulling
            return [.pull(have: local)]
        }
        // Caught up, or the peer sent nothing this node could store (entries refused or waiting for a gap): wait
        // for the next round rather than asking again at once.
        phase = .idle
        wakeAtMs = now + settings.antiEntropyMs
        return []
    }

    private mutating func noteLag(local: VersionVector, now: UInt64) {
        if local.covers(remoteVector) {
            behindSinceMs = nil
        } else if behindSinceMs == nil {
            behindSinceMs = now
        }
    }
}
