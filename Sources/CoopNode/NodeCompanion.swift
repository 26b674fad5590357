public import CoopLog
public import CoopServices

/// Something that runs beside a node for as long as it serves, with access to its parts: the HTTP listener of
/// `CoopWeb` (the wall chart, metrics, health probes). Keeps HTTP out of this module: the node only starts it.
///
/// **Threading.** `Sendable`; ``run(_:bound:)`` is called once, on a task of the node's own, and must return soon
/// after that task is cancelled or the node's graceful shutdown begins.
public protocol NodeCompanion: Sendable {
    /// Runs until cancelled or shut down gracefully. Calls `bound` once, with the address it serves (for the
    /// readiness line), before the node reports ready; throwing before that stops the node with the error.
    func run(_ parts: NodeParts, bound: @escaping @Sendable (String) -> Void) async throws
}

/// What a running node lends to its companions. Every part is thread-safe.
public struct NodeParts: Sendable {
    public let config: NodeConfig
    public let store: LogStore
    /// Item changes as they happen (local writes and entries stored from peers).
    public let feed: ChangeFeed
    /// Reconciliation: peers, lag, own-head guard (`status()`).
    public let sync: SyncHub
    /// The health service's statuses.
    public let health: HealthProvider
    /// The node's metrics, when it records any.
    public let metrics: NodeMetrics?
    /// Whose turn it is to replay the whole log for an item's history: the node's, shared with its `ItemHistory` calls.
    public let replayGate: ReplayGate

    public init(
        config: NodeConfig,
        store: LogStore,
        feed: ChangeFeed,
        sync: SyncHub,
        health: HealthProvider,
        metrics: NodeMetrics?,
        replayGate: ReplayGate = .shared
    ) {
        self.config = config
        self.store = store
        self.feed = feed
        self.sync = sync
        self.health = health
        self.metrics = metrics
        self.replayGate = replayGate
    }
}
