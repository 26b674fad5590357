public import CoopWire

/// A hybrid logical clock (Kulkarni et al.): timestamps that follow physical time but never go backwards and
/// order every event a node has seen before the events it writes next.
///
/// A value with no I/O: the caller passes the physical time. Not shared; one owner (the log writer).
public struct HybridClock: Sendable {
    /// The last timestamp issued or observed.
    public private(set) var last: HybridTimestamp
    /// A remote clock further ahead than this is reported as skewed.
    public var maxSkewMs: UInt64

    /// A clock that has seen `last` (zero for a new node).
    public init(last: HybridTimestamp = HybridTimestamp(), maxSkewMs: UInt64 = 60_000) {
        self.last = last
        self.maxSkewMs = maxSkewMs
    }

    /// The timestamp for a new local event at physical time `physicalMs`.
    public mutating func tick(physicalMs: UInt64) -> HybridTimestamp {
        if physicalMs > last.wallMs {
            last = HybridTimestamp(wallMs: physicalMs, logical: 0)
        } else {
            last = HybridTimestamp(wallMs: last.wallMs, logical: last.logical &+ 1)
        }
        return last
    }

    /// Takes a remote timestamp into account. Returns how far (ms) the remote clock runs ahead of physical
    /// time when that exceeds `maxSkewMs`, for the operator; the entry is never refused for it.
    @discardableResult
    public mutating func observe(_ remote: HybridTimestamp, physicalMs: UInt64) -> UInt64? {
        if remote > last { last = remote }
        if physicalMs > last.wallMs { last = HybridTimestamp(wallMs: physicalMs, logical: 0) }
        let ahead = remote.wallMs > physicalMs ? remote.wallMs - physicalMs : 0
        return ahead > maxSkewMs ? ahead : nil
    }
}
