import CoopLedger
import CoopLog
public import CoopNode
import Foundation
public import Prometheus
import Synchronization

/// The node's metrics in the Prometheus text format: what the node recorded as it worked (``NodeMetrics``: calls by
/// method and code with latency histograms, entries appended), and what is read off the node at each scrape — peers
/// up, lag per peer in entries and seconds, entries ingested from each peer, the segmented log's appends, records,
/// group commits and syncs, conflicts, equivocation evidence, log records and bytes, checkpoint age, overdue and stale
/// items.
///
/// **Threading.** `Sendable`; ``emit(_:nowMs:staleDays:)`` may be called from concurrent requests (scrapes are
/// serialized by a lock, the registry is thread-safe).
public final class NodeScrape: Sendable {
    /// The registry `/metrics` emits; the node's ``NodeMetrics`` record into it too.
    public let registry: PrometheusCollectorRegistry
    /// Counters of totals kept elsewhere, with the value last added, so that each scrape adds the difference.
    private let totals = Mutex<[String: (counter: Counter, last: UInt64)]>([:])
    private let scrape = Mutex(())

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// A metrics factory over ``registry`` with latency buckets from 100 µs to 10 s, and group-commit sizes in
    /// powers of two from 1 to 1,024 records.
    public func makeFactory() -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        factory.valueHistogramBuckets[NodeMetrics.groupCommitRecords] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
        return factory
    }

    private func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: Self.descriptor(name, help), labels: labels)
    }

    /// Adds to the counter `name` what `total` grew by since the last scrape.
    private func total(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ total: UInt64) {
        let key = name + labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
        totals.withLock { totals in
            let entry =
                totals[key]
                ?? (
                    registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels),
                    0
                )
            if total > entry.last { entry.counter.increment(by: Int64(total - entry.last)) }
            totals[key] = (entry.counter, max(entry.last, total))
        }
    }

    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Reads the node and returns the text format of every metric.
    public func emit(_ parts: NodeParts, nowMs: UInt64, staleDays: Int) -> String {
        scrape.withLock { _ in
            let store = parts.store
            let status = parts.sync.status()
            gauge("coop_peers_configured", "Peers in the node's configuration.").set(Int64(status.peers.count))
            gauge("coop_peers_up", "Peers whose link is up.").set(Int64(status.peers.filter(\.up).count))
            let pulled = parts.sync.pulledCounts
            for peer in status.peers {
                let labels = [("peer", peer.peer)]
                gauge("coop_peer_up", "1 when the link to the peer is up.", labels).set(Int64(peer.up ? 1 : 0))
                gauge("coop_peer_lag_entries", "Entries the peer holds that this node lacks.", labels)
                    .set(Int64(clamping: peer.lagEntries))
                gauge("coop_peer_lag_seconds", "How long this node has been behind the peer.", labels)
                    .set(Double(peer.lagMs) / 1000)
                total(
                    "coop_entries_ingested_total",
                    "Entries stored from the peer's pulls since the node started.",
                    labels,
                    pulled[peer.peer] ?? 0
                )
            }
            let statistics = store.logStatistics
            total(
                "coop_log_append_calls_total",
                "Appends to the segmented log since it was opened.",
                [],
                statistics.appendCalls
            )
            total(
                "coop_log_records_written_total",
                "Records written since the log was opened.",
                [],
                statistics.recordsWritten
            )
            total(
                "coop_log_group_commits_total",
                "Group commits (one write, and one sync when durable) since the log was opened; records written "
                    + "divided by this is the mean group-commit size.",
                [],
                statistics.groupCommits
            )
            total("coop_log_syncs_total", "fsync calls that made appended records durable.", [], statistics.syncs)
            gauge("coop_log_records", "Records in the node's log.").set(Int64(clamping: store.recordCount))
            gauge("coop_log_bytes", "Bytes of the log's segment files.").set(
                Int64(clamping: Self.logBytes(store.directory))
            )
            gauge("coop_conflicts", "Items whose view shows concurrent updates (more than one head).")
                .set(Int64(status.conflicts.count))
            gauge("coop_equivocations", "Pieces of equivocation evidence the node holds.").set(
                Int64(status.equivocations)
            )
            gauge("coop_entries_pending", "Entries waiting for their predecessor.").set(Int64(clamping: status.pending))
            gauge("coop_entries_held", "Entries held for clock skew.").set(Int64(clamping: status.held))
            gauge("coop_may_write", "1 when the node may sign new entries (own log confirmed).").set(
                Int64(status.mayWrite ? 1 : 0)
            )
            gauge(
                "coop_checkpoint_age_seconds",
                "Seconds since the checkpoint file was written; -1 when there is none."
            )
            .set(Self.checkpointAge(store.directory))
            let rows = ChartRow.all(
                catalog: store.catalog,
                roster: store.roster,
                states: store.states,
                evidenceOrigins: [],
                nowMs: nowMs,
                staleDays: staleDays
            )
            gauge("coop_items_overdue", "Items past their due date and not completed or cancelled.")
                .set(Int64(rows.filter(\.supervision.overdue).count))
            gauge("coop_items_stale", "Items without an update for the configured number of days.")
                .set(Int64(rows.filter(\.supervision.stale).count))
            gauge("coop_items_awaiting_sign_off", "Joint completions waiting for a side's sign-off.")
                .set(Int64(rows.filter { !$0.supervision.missingSignOff.isEmpty }.count))
            return registry.emitToString()
        }
    }

    /// Bytes of `directory/log/*.seg`.
    static func logBytes(_ directory: String) -> UInt64 {
        let log = directory + "/log"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: log)) ?? []
        return names.filter { $0.hasSuffix(".seg") }.reduce(UInt64(0)) { sum, name in
            let size = (try? FileManager.default.attributesOfItem(atPath: log + "/" + name)[.size] as? NSNumber)??
                .uint64Value
            return sum + (size ?? 0)
        }
    }

    /// Seconds since `directory/checkpoint` was written; -1 when there is none.
    static func checkpointAge(_ directory: String) -> Double {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/checkpoint"),
            let modified = attributes[.modificationDate] as? Date
        else { return -1 }
        return max(0, Date().timeIntervalSince(modified))
    }
}
