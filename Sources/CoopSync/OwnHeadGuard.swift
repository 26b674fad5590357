public import CoopWire

/// Keeps a node from equivocating by accident. A node that lost the end of its own log (restored from an old
/// backup, a disk that lost its last writes) would sign a second, different entry at a sequence number its peers
/// already hold. So after it starts, it signs nothing until a peer has shown what it holds of this node's own
/// entries, and it has pulled any it lacks. A node with no peers configured may write at once.
///
/// **Threading.** A value type; the node keeps it under a lock.
public struct OwnHeadGuard: Sendable {
    /// What changed, for the node's log.
    public enum Event: Sendable, Hashable {
        /// A peer holds more of this node's own entries than its log: they are pulled before anything is signed.
        case mustLearn(peer: String, held: UInt64, peerHolds: UInt64)
        /// A peer holds no more of this node's entries than its log: writes may go ahead.
        case confirmed(peer: String, held: UInt64, learned: UInt64)
    }

    public let nodeID: String
    /// The peer whose vector confirmed the head ("" when no peers are configured); `nil` while unconfirmed.
    public private(set) var confirmedBy: String?
    /// This node's own highest sequence number when it started.
    public let startedAt: UInt64
    /// The highest of its own sequence numbers a peer was seen holding.
    public private(set) var highestSeen: UInt64

    public init(nodeID: String, peers: [String], local: VersionVector) {
        self.nodeID = nodeID
        startedAt = local[nodeID]
        highestSeen = startedAt
        confirmedBy = peers.isEmpty ? "" : nil
    }

    /// Whether the node may sign new entries.
    public var mayWrite: Bool { confirmedBy != nil }

    /// A peer's vector was seen (its hello, in either direction, or after a pull from it).
    public mutating func observe(peer: String, remote: VersionVector, local: VersionVector) -> Event? {
        let theirs = remote[nodeID]
        let mine = local[nodeID]
        guard confirmedBy == nil else { return nil }
        if theirs <= mine {
            confirmedBy = peer
            return .confirmed(peer: peer, held: mine, learned: mine - startedAt)
        }
        guard theirs > highestSeen else { return nil }
        highestSeen = theirs
        return .mustLearn(peer: peer, held: mine, peerHolds: theirs)
    }

    /// Why a write is refused now, for the caller.
    public func refusal(peers: [String]) -> String {
        "\(nodeID) has not yet learned from a peer whether it holds all of its own entries (it holds up to "
            + "#\(startedAt); peers \(peers.joined(separator: ", ")) have not answered yet, or it is still pulling "
            + "up to #\(highestSeen)); it signs nothing new until then, so that it cannot equivocate. Retry shortly"
    }
}
