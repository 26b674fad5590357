extension HybridTimestamp: Comparable {
    /// Hybrid logical clock order: wall time, then the logical counter.
    public static func < (lhs: HybridTimestamp, rhs: HybridTimestamp) -> Bool {
        (lhs.wallMs, lhs.logical) < (rhs.wallMs, rhs.logical)
    }
}
