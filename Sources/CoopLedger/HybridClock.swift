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
    ///
    /// Throws ``LedgerError`` (`.resourceExhausted`) instead of wrapping when the logical counter is at its
    /// maximum and physical time has not moved past `last`: the event must wait for the next millisecond.
    public mutating func tick(physicalMs: UInt64) throws(LedgerError) -> HybridTimestamp {
        if physicalMs > last.wallMs {
            last = HybridTimestamp(wallMs: physicalMs, logical: 0)
        } else {
            guard last.logical < UInt32.max else {
                throw LedgerError(
                    code: .resourceExhausted,
                    message: "the hybrid clock's counter is exhausted at \(last.wallMs) ms (physical time "
                        + "\(physicalMs) ms has not caught up); try again when it has"
                )
            }
            last = HybridTimestamp(wallMs: last.wallMs, logical: last.logical + 1)
        }
        return last
    }

    /// Takes a remote timestamp into account. Returns how far (ms) the remote clock runs ahead of physical
    /// time when that exceeds `maxSkewMs`, for the operator.
    ///
    /// A remote time more than `maxSkewMs` ahead of `physicalMs` is never adopted: the clock moves at most to
    /// `physicalMs + maxSkewMs`, so one member whose clock runs far ahead cannot drag everyone's clocks with it.
    /// (The log store holds such entries until its clock catches up, so it never observes them.)
    @discardableResult
    public mutating func observe(_ remote: HybridTimestamp, physicalMs: UInt64) -> UInt64? {
        let bound = physicalMs.addingReportingOverflow(maxSkewMs)
        let limit = bound.overflow ? UInt64.max : bound.partialValue
        let adopted = remote.wallMs > limit ? HybridTimestamp(wallMs: limit, logical: 0) : remote
        if adopted > last { last = adopted }
        if physicalMs > last.wallMs { last = HybridTimestamp(wallMs: physicalMs, logical: 0) }
        let ahead = remote.wallMs > physicalMs ? remote.wallMs - physicalMs : 0
        return ahead > maxSkewMs ? ahead : nil
    }

    /// This clock with `last` lowered to at most `physicalMs + maxSkewMs` (for a clock restored from a log that
    /// holds entries stamped far ahead).
    public func bounded(physicalMs: UInt64) -> HybridClock {
        let bound = physicalMs.addingReportingOverflow(maxSkewMs)
        guard !bound.overflow, last.wallMs > bound.partialValue else { return self }
        return HybridClock(last: HybridTimestamp(wallMs: bound.partialValue, logical: 0), maxSkewMs: maxSkewMs)
    }
}
