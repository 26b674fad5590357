import CoopLedger
import CoopLog
import CoopNode
import CoopServices
import CoopTestKit
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
            // The log's group commits: sizes and fsync latency, as histograms (the node's config syncs).
            #expect(answer.body.contains("# TYPE coop_log_fsync_duration_seconds histogram"))
            #expect(answer.body.contains("# TYPE coop_log_group_commit_records histogram"))
            let syncs = after["coop_log_syncs_total"] ?? 0
            #expect(after["coop_log_fsync_duration_seconds_count"] == syncs, "one latency sample per counted sync")
            #expect((after["coop_log_fsync_duration_seconds_sum"] ?? 0) > 0)
            let commits = after["coop_log_group_commits_total"] ?? 0
            #expect(after["coop_log_group_commit_records_count"] == commits)
            #expect(after["coop_log_group_commit_records_sum"] == after["coop_log_records_written_total"])
            #expect(after["coop_log_group_commit_records_bucket{le=\"1.0\"}"] != nil, "\(answer.body)")
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

    @Test("equivocation evidence makes the node DEGRADED: health service, /healthz (still 200) and /readyz")
    func evidenceDegradesHealth() async throws {
        let node = try await WebHarness.start { config, mesh in
            // Before the node starts: its log holds two different entries cq-shapingba signed at sequence 1.
            let roster = try RosterBook.load(path: config.rosterPath)
            let store = try LogStore.open(
                directory: config.dataDirectory,
                roster: roster,
                catalog: try CatalogBook.load(path: config.catalogPath, roster: roster)
            )
            let factory = try EntryFactory(origin: "cq-shapingba", keysDirectory: "\(mesh.directory)/keys")
            for status in [ItemStatus.assigned, .cancelled] {
                let payload = EntryBody.Payload.statusUpdate(StatusUpdate(itemId: "CY-02", status: status))
                _ = try await store.ingest(factory.entry(sequence: 1, previous: nil, payload: payload))
            }
            try await store.close()
        }
        do {
            let health = try await node.get("/healthz")
            #expect(health.status == 200)
            #expect(
                health.body.hasPrefix("DEGRADED: equivocation: 1 piece(s) of evidence that cq-shapingba"),
                "\(health.body)"
            )
            let client = HealthService.Client(try await node.rpcClient(as: "auditor.wuhou"))
            let checked = try await client.check(HealthCheckRequest(service: ""), options: testCall)
            #expect(checked.status == .degraded)
            #expect(checked.reasons.first?.contains("cq-shapingba") == true, "\(checked)")
            // Ready all the same: a degraded node still takes writes (this one has no peers to wait for).
            #expect(try await node.get("/readyz").status == 200)
            let metrics = try Self.samples(try await node.get("/metrics").body)
            #expect(metrics["coop_equivocations"] == 1)
        } catch {
            try? await node.stop()
            throw error
        }
        try await node.stop()
    }

    @Test("an idle event stream gets a keep-alive comment")
    func eventStreamKeepalive() async throws {
        try await WebHarness.run(keepaliveSeconds: 1) { node in
            let started = ContinuousClock.now
            let text = try await HTTPProbe.stream(node.web, "/events", timeout: 30) { $0.contains(": keepalive\n\n") }
            #expect(text.contains("event: summary"))
            #expect(text.contains(": keepalive\n\n"), "\(text.suffix(300))")
            #expect(ContinuousClock.now - started >= .milliseconds(800), "not before the stream was quiet")
        }
    }
}
