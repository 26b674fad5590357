public import CoopWire

/// Which peer links are pulling what right now, so that a node catching up from several peers does not fetch (and
/// verify) the same entries from each of them at once.
///
/// When a link starts a pull it claims what its peer holds; another link that starts a pull while that claim is
/// fresh asks its own peer only for what lies beyond it. A claim is released when its pull ends and counts only
/// while its pull makes progress (``touch(peer:now:)``): a stalled or dead peer holds nobody up for longer than
/// ``staleAfterMs``, and whatever a failed pull left behind is fetched by the next round.
///
/// **Threading.** A value type without I/O; the node keeps it under its hub's lock.
public struct PullClaims: Sendable {
    /// A claim not touched for this long is ignored.
    public var staleAfterMs: UInt64
    private var claims: [String: (sequences: [String: UInt64], touchedMs: UInt64)] = [:]

    public init(staleAfterMs: UInt64 = 1_000) {
        self.staleAfterMs = staleAfterMs
    }

    /// Claims what `peer` holds (`remote`) for the pull about to start, and returns what to ask that peer for:
    /// `have`, raised per origin to what other links' fresh claims will bring. Origins that `have` deliberately
    /// asks for from below what `local` holds (a fork being re-examined) are left as they are.
    public mutating func claim(
        peer: String,
        have: VersionVector,
        local: VersionVector,
        remote: VersionVector,
        now: UInt64
    ) -> VersionVector {
        var asked = have.sequences
        let held = local.sequences
        var raised: Set<String> = []
        for (other, claim) in claims where other != peer && now &- claim.touchedMs <= staleAfterMs {
            for (origin, sequence) in claim.sequences
            where (asked[origin] ?? 0) >= (held[origin] ?? 0) && sequence > (asked[origin] ?? 0) {
                asked[origin] = sequence
                raised.insert(origin)
            }
        }
        // This pull claims only what it will itself fetch: not the origins another claim covers (were this claim to
        // cover them too, the two could hand an origin back and forth with nobody fetching it).
        claims[peer] = (remote.sequences.filter { !raised.contains($0.key) }, now)
        return VersionVector(asked)
    }

    /// The pull from `peer` stored entries: its claim stays fresh. (A pull that only brings duplicates, refused or
    /// waiting entries must not keep others from fetching.)
    public mutating func touch(peer: String, now: UInt64) {
        claims[peer]?.touchedMs = now
    }

    /// The pull from `peer` ended (done or failed).
    public mutating func release(peer: String) {
        claims[peer] = nil
    }

    /// Peers with a claim (fresh or stale).
    public var claimants: [String] { claims.keys.sorted() }
}
