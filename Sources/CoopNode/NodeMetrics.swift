public import CoopSegments
public import CoreMetrics
import Synchronization

/// The metrics a node records as it works, through swift-metrics with an explicit factory (so that two nodes in one
/// process, or a benchmark measuring with and without, do not share a global backend): RPC calls by method and code
/// with their latency, and entries the node appended. What can be read off the node at any time (peers, lag, log
/// size, …) is not recorded here but read when scraped (`CoopWeb`).
///
/// **Threading.** `Sendable`; every method may be called from any thread.
public final class NodeMetrics: Sendable {
    public let factory: any MetricsFactory
    private let appended: Counter
    private let commitRecords: Recorder
    private let fsyncLatency: Timer
    private let calls = Mutex<[String: (count: Counter, latency: Timer)]>([:])

    /// Metrics made by `factory`.
    public init(factory: any MetricsFactory) {
        self.factory = factory
        appended = Counter(label: "coop_entries_appended_total", factory: factory)
        commitRecords = Recorder(label: Self.groupCommitRecords, factory: factory)
        fsyncLatency = Timer(label: "coop_log_fsync_duration_seconds", factory: factory)
    }

    /// The label of the histogram of records per group commit (its buckets are the factory's to choose).
    public static let groupCommitRecords = "coop_log_group_commit_records"

    /// Records each group commit of the node's log: its size in records, and how long each of its syncs took.
    public var commitObserver: SegmentedLog.CommitObserver {
        SegmentedLog.CommitObserver { [commitRecords, fsyncLatency] sample in
            commitRecords.record(sample.records)
            for nanoseconds in sample.syncNanoseconds { fsyncLatency.recordNanoseconds(Int64(clamping: nanoseconds)) }
        }
    }

    /// One call of `method` that ended with `code`, after `nanoseconds`.
    public func call(method: String, code: String, nanoseconds: Int64) {
        let key = method + " " + code
        let pair = calls.withLock { cache in
            if let pair = cache[key] { return pair }
            let dimensions = [("method", method), ("code", code)]
            let pair = (
                Counter(label: "coop_rpc_calls_total", dimensions: dimensions, factory: factory),
                Timer(label: "coop_rpc_call_duration_seconds", dimensions: dimensions, factory: factory)
            )
            cache[key] = pair
            return pair
        }
        pair.count.increment()
        pair.latency.recordNanoseconds(nanoseconds)
    }

    /// The node appended `count` entries of its own (signed and durable).
    public func appendedEntries(_ count: Int = 1) {
        appended.increment(by: count)
    }
}
