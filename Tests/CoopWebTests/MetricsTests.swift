import CoopNode
import CoopWire
import Foundation
import Testing

/// `/metrics` in the Prometheus text format, and the health probes.
@Suite("Metrics and health", .timeLimit(.minutes(3)))
struct MetricsTests {
    /// Parses the text format: every line is a comment (`# HELP`, `# TYPE`) or `name{labels} value`; returns the
    /// samples keyed by `name{labels}` as written. Throws on a line that is neither.
    static func samples(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.isEmpty {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") { continue }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                throw HTTPProbe.Failure(description: "not a sample: \(line)")
            }
            let key = String(line[..<space])
            let name = key.prefix { $0 != "{" }
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }), !name.isEmpty else {
                throw HTTPProbe.Failure(description: "bad metric name in: \(line)")
            }
            if key.contains("{") && !key.hasSuffix("}") { throw HTTPProbe.Failure(description: "bad labels: \(line)") }
            samples[key] = value
        }
        return samples
    }

    static let updateCalls = "coop_rpc_calls_total{method=\"/coop.v1.Ledger/UpdateStatus\",code=\"OK\"}"

    @Test func metricsParseAndCountAnUpdate() async throws {
        try await WebHarness.run { node in
            let before = try Self.samples(try await node.get("/metrics").body)
            #expect(before[Self.updateCalls] == nil)
            #expect(before["coop_log_records"] != nil)
            let page = try await node.get("/").body
            let overdueRows = page.components(separatedBy: "class=\"item overdue").count - 1
            #expect(overdueRows > 0)
            #expect(before["coop_items_overdue"] == Double(overdueRows), "the page and the metric agree")
            let ledger = try await node.ledger()
            _ = try await ledger.updateStatus(
                UpdateStatusRequest(itemId: "CY-02", status: .assigned, progress: 5, note: "metrics"),
                options: testCall
            )
            let answer = try await node.get("/metrics")
            #expect(answer.status == 200)
            #expect(answer.headers["content-type"]?.hasPrefix("text/plain") == true)
            let after = try Self.samples(answer.body)
            #expect(after[Self.updateCalls] == 1, "\(answer.body)")
            #expect(after["coop_entries_appended_total"] == 1)
            #expect((after["coop_log_records"] ?? 0) == (before["coop_log_records"] ?? 0) + 1)
            #expect((after["coop_log_records_written_total"] ?? 0) >= 1)
            #expect((after["coop_log_group_commits_total"] ?? 0) >= 1)
            #expect((after["coop_log_syncs_total"] ?? 0) >= 1)
            #expect((after["coop_log_bytes"] ?? 0) > 0)
            let count = "coop_rpc_call_duration_seconds_count{method=\"/coop.v1.Ledger/UpdateStatus\",code=\"OK\"}"
            #expect(after[count] == 1, "\(answer.body)")
            #expect(after["coop_equivocations"] == 0)
            #expect(after["coop_peers_up"] == 0)
            #expect(after["coop_may_write"] == 1)
            #expect(answer.body.contains("# TYPE coop_rpc_call_duration_seconds histogram"))
        }
    }

    @Test func metricsOffIsNotFound() async throws {
        try await WebHarness.run(metrics: false) { node in
            let answer = try await node.get("/metrics")
            #expect(answer.status == 404)
            #expect(answer.body.contains("metrics are off"))
            #expect(try await node.get("/").status == 200)
        }
    }

    @Test func healthAndReadiness() async throws {
        try await WebHarness.run { node in
            let health = try await node.get("/healthz")
            #expect(health.status == 200)
            #expect(health.body.hasPrefix("SERVING"))
            let ready = try await node.get("/readyz")
            #expect(ready.status == 200)
            #expect(ready.body == "READY\n")
        }
    }
}
