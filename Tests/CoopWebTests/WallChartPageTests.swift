import CoopLog
import CoopNode
import CoopWire
import Foundation
import Synchronization
import Testing

/// The wall chart page, the item page, the report and the live updates, served by an in-process node on 127.0.0.1
/// port 0.
@Suite("Wall chart page", .timeLimit(.minutes(3)))
struct WallChartPageTests {
    static func rows(_ html: String) -> Int { html.components(separatedBy: "<tr id=\"row-CY-").count - 1 }

    /// The `<tr …>` opening tag of `id`'s row.
    static func rowTag(_ html: String, _ id: String) -> String? {
        guard let start = html.range(of: "<tr id=\"row-\(id)\"") else { return nil }
        return String(html[start.lowerBound...].prefix { $0 != ">" })
    }

    @Test func pageListsFortyItemsInChineseAndEnglish() async throws {
        try await WebHarness.run { node in
            let page = try await node.get("/")
            #expect(page.status == 200)
            #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
            #expect(Self.rows(page.body) == 40)
            #expect(page.body.contains("挂图作战") && page.body.contains("Wall chart"))
            #expect(page.body.contains("共建成渝地区产业合作示范园区"))
            #expect(page.body.contains("Co-build Chengdu–Chongqing"))
            // No asset from elsewhere: no src= or href= to another host, no external style sheet.
            #expect(!page.body.contains("http://") && !page.body.contains("https://"))
            #expect(!page.body.contains("<link"))
        }
    }

    @Test func overdueItemsAreFlaggedAsOfTheClock() async throws {
        try await WebHarness.run(now: WebHarness.june2026) { node in
            let june = try await node.get("/")
            // CY-01 is due 2025-12-31 and still planned: overdue in June 2026; CY-02 (due 2027-12-31) is not.
            let cy01 = try #require(Self.rowTag(june.body, "CY-01"))
            let cy02 = try #require(Self.rowTag(june.body, "CY-02"))
            #expect(cy01.contains("overdue"), "\(cy01)")
            #expect(!cy02.contains("overdue"), "\(cy02)")
            #expect(june.body.contains("! 逾期 overdue 152 d"))
            // Before any due date nothing is overdue.
            node.clock.withLock { $0 = 1_685_577_600_000 }  // 2023-06-01
            let early = try await node.get("/")
            #expect(!early.body.contains("class=\"item overdue"))
            #expect(early.body.contains("<b id=n-overdue>0</b>"))
            // The filter shows only the overdue ones (the others are rendered hidden).
            node.clock.withLock { $0 = WebHarness.june2026 }
            let filtered = try await node.get("/?flag=overdue")
            let visible = filtered.body.components(separatedBy: "<tr id=\"row-").dropFirst()
                .filter { !$0.prefix(while: { $0 != ">" }).contains("hidden") }
            #expect(!visible.isEmpty)
            #expect(visible.allSatisfy { $0.prefix(while: { $0 != ">" }).contains("overdue") })
        }
    }

    @Test func staleItemsAreFlaggedAfterTheConfiguredDays() async throws {
        try await WebHarness.run(now: WebHarness.june2026, staleDays: 14) { node in
            let ledger = try await node.ledger()
            _ = try await ledger.updateStatus(
                UpdateStatusRequest(itemId: "CY-02", status: .assigned, progress: 5, note: "分办 stale check"),
                options: testCall
            )
            // The update is stamped with the real clock; the listener's clock is moved relative to it.
            let real = UInt64(Date().timeIntervalSince1970 * 1000)
            node.clock.withLock { $0 = real + 13 * 86_400_000 }
            let fresh = try await node.get("/")
            #expect(!(Self.rowTag(fresh.body, "CY-02") ?? "").contains("stale"))
            node.clock.withLock { $0 = real + 15 * 86_400_000 }
            let late = try await node.get("/")
            #expect((Self.rowTag(late.body, "CY-02") ?? "").contains("stale"))
            #expect(late.body.contains("久未更新 stale 15 d"))
        }
    }

    @Test func anUpdateShowsUpOnTheEventStream() async throws {
        try await WebHarness.run { node in
            let note = "SSE \(UInt32.random(in: 0...UInt32.max))"
            let ledger = try await node.ledger()
            final class Seen: Sendable {
                let summary = Mutex(false)
            }
            let seen = Seen()
            // The stream first sends every row and the summary; the update is made only once they arrived (else,
            // on a loaded machine, the stream may open after the update and show it among its first rows), and
            // must then arrive as an event of its own.
            async let stream = HTTPProbe.stream(node.web, "/events", timeout: 60) { text in
                guard let summary = text.range(of: "event: summary") else { return false }
                seen.summary.withLock { $0 = true }
                return text[summary.upperBound...].contains(note)
            }
            let deadline = ContinuousClock.now + .seconds(60)
            while !seen.summary.withLock({ $0 }) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            _ = try await ledger.updateStatus(
                UpdateStatusRequest(itemId: "CY-03", status: .assigned, progress: 10, note: note),
                options: testCall
            )
            let text = try await stream
            #expect(text.contains("text/event-stream"))
            let event = try #require(text.components(separatedBy: "event: row\ndata: ").first { $0.contains(note) })
            #expect(event.hasPrefix("<tr id=\"row-CY-03\""))
            #expect(event.contains("分办") && event.contains("10%"))
        }
    }

    @Test func itemPageShowsTheHistoryAsATimeline() async throws {
        try await WebHarness.run { node in
            let ledger = try await node.ledger()
            _ = try await ledger.updateStatus(
                UpdateStatusRequest(itemId: "CY-03", status: .assigned, progress: 5, note: "分办到区发展改革委"),
                options: testCall
            )
            _ = try await ledger.updateStatus(
                UpdateStatusRequest(itemId: "CY-03", status: .inProgress, progress: 30, note: "落实中"),
                options: testCall
            )
            let page = try await node.get("/items/CY-03")
            #expect(page.status == 200)
            let timeline = try #require(page.body.components(separatedBy: "<ol class=timeline id=timeline>").last)
            #expect(timeline.components(separatedBy: "<li").count - 1 == 2)
            let newest = try await node.get("/items/CY-03?limit=1").body
            #expect(newest.contains("showing the newest 1 of 2"))
            let one = try #require(newest.components(separatedBy: "<ol class=timeline id=timeline>").last)
            #expect(one.components(separatedBy: "<li").count - 1 == 1)
            #expect(one.contains("落实 implementation") && !one.contains("分办 assignment"))
            #expect(timeline.contains("分办 assignment") && timeline.contains("落实 implementation"))
            #expect(timeline.contains("任务 Planned 0% → 分办 Assigned 5%"))
            #expect(timeline.contains("分办 Assigned 5% → 落实 In progress 30%"))
            #expect(timeline.contains("签名密钥 signed by key <code>"))
            #expect(
                page.body.contains(
                    "<span class=\"done\">任务</span><span class=\"done\">分办</span><span class=\"done\">落实</span><span class=\"\">跟踪</span>"
                )
            )
            #expect(timeline.contains("武侯区 Wuhou"))
        }
    }

    @Test func itemPageAnswers503WithRetryAfterWhenTheReplayQueueIsFull() async throws {
        // The node's gate: one replay at once and none may wait; the test holds the turn.
        let gate = ReplayGate(width: 1, maxWaiting: 0)
        let node = try await WebHarness.start(replayGate: gate)
        let (release, releaseSignal) = AsyncStream<Void>.makeStream()
        let holder = Task { try await gate.run { for await _ in release { break } } }
        while gate.load.running == 0 { await Task.yield() }
        let refused = try await node.get("/items/CY-03")
        #expect(refused.status == 503, "\(refused.body)")
        #expect(refused.headers["retry-after"] == "5")
        #expect(refused.body.contains("the queue to replay the whole log is full"), "\(refused.body)")
        #expect(try await node.get("/").status == 200, "the wall chart does not replay: it is served meanwhile")
        releaseSignal.yield()
        try await holder.value
        #expect(try await node.get("/items/CY-03").status == 200)
        try await node.stop()
    }

    @Test(arguments: [
        ("/items/CY-99", 404, "CY-99 is not in the catalog"),
        ("/items/%3Cscript%3E", 404, "not in the catalog"),
        ("/?status=bogus", 400, "status=bogus is not known"),
        ("/?colour=red", 400, "unknown query parameter \"colour\""),
        ("/?district=cd-nowhere", 400, "not a node of the roster"),
        ("/events?flag=late", 400, "flag=late is not known"),
        ("/report/overdue?x=1", 400, "unknown query parameter"),
        ("/items/CY-01?limit=0", 400, "limit=0 is not a positive number or all"),
        ("/items/CY-01?sort=up", 400, "takes only limit"),
        ("/no/such/page", 404, ""),
    ])
    func badInputGetsAClear4xx(path: String, status: Int, message: String) async throws {
        try await WebHarness.run { node in
            let answer = try await node.get(path)
            #expect(answer.status == status, "\(path): \(answer.body)")
            #expect(message.isEmpty || answer.body.contains(message), "\(path): \(answer.body)")
            #expect(!answer.body.contains("<script>"))
            // And the node still serves.
            #expect(try await node.get("/").status == 200)
        }
    }

    @Test func supervisionReportListsOverdueItemsMostOverdueFirst() async throws {
        try await WebHarness.run(now: WebHarness.june2026) { node in
            let report = try await node.get("/report/overdue")
            #expect(report.status == 200)
            let ids = report.body.components(separatedBy: "<tr id=\"report-").dropFirst().map { String($0.prefix(5)) }
            #expect(ids.contains("CY-01"))
            #expect(!ids.contains("CY-02"))
            #expect(report.body.contains("@media print"))
        }
    }

    @Test func groupingBySideShowsEachSide() async throws {
        try await WebHarness.run { node in
            let page = try await node.get("/?group=side")
            #expect(page.status == 200)
            #expect(page.body.contains("<tr class=group><th colspan=10>成都侧 Chengdu side ("))
            #expect(page.body.contains("<tr class=group><th colspan=10>重庆侧 Chongqing side ("))
        }
    }
}
