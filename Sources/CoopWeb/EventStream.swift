import CoopLedger
import CoopNode
import CoopWire
import Hummingbird
import NIOCore

/// Server-sent events for an open wall chart page, fed by the node's ``ChangeFeed``: first every row (event `init`),
/// then, whenever items change (local writes or entries stored from peers), each changed item's row, the summary
/// counts (event `summary`) and the time (event `asof`); a comment line (`: keepalive`) after `[http] keepalive_s`
/// seconds without an event. Rows are rendered by the page's own code with the page's
/// filter, so a row that stops matching is sent hidden. Ends when the client goes or the node drains (the feed
/// closes). Thread-safe: one stream per request.
struct EventStream: Sendable {
    let server: WebServer
    let parts: NodeParts
    let filter: ChartFilter

    func response() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-store"
        let body = ResponseBody { writer in
            let (subscription, token) = parts.feed.subscribe([])
            defer { parts.feed.unsubscribe(token) }
            let nowMs = server.now()
            try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
            try await writer.write(
                ByteBuffer(string: events(server.rows(parts, nowMs: nowMs), nowMs: nowMs, all: true))
            )
            // The feed's wake-ups and the keep-alive ticks, merged into one sequence for the one writer.
            let (signals, signal) = AsyncStream<Signal>.makeStream(bufferingPolicy: .bufferingNewest(2))
            let forward = Task {
                for await _ in subscription.wakeUps { signal.yield(.changed) }
                signal.finish()
            }
            let interval = Duration.seconds(server.settings.keepaliveSeconds)
            let ticks = Task {
                while (try? await Task.sleep(for: interval)) != nil { signal.yield(.tick) }
            }
            defer {
                forward.cancel()
                ticks.cancel()
            }
            var quietSince = ContinuousClock.now
            for await event in signals {
                switch event {
                case .changed:
                    let changed = Set(subscription.take().compactMap { $0.state?.itemId })
                    guard !changed.isEmpty else { continue }
                    let nowMs = server.now()
                    let rows = server.rows(parts, nowMs: nowMs).filter { changed.contains($0.item.id) }
                    try await writer.write(ByteBuffer(string: events(rows, nowMs: nowMs, all: false)))
                case .tick:
                    // Only when nothing else went out for a whole interval.
                    guard ContinuousClock.now - quietSince >= interval * 0.9 else { continue }
                    try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                }
                quietSince = ContinuousClock.now
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    private enum Signal: Sendable {
        case changed
        case tick
    }

    /// The events for `rows`, then the summary and the time.
    func events(_ rows: [ChartRow], nowMs: UInt64, all: Bool) -> String {
        let roster = parts.store.roster
        var text = ""
        for row in rows {
            text += all ? "event: init\ndata: " : "event: row\ndata: "
            text += WallChartPage.row(row, roster: roster, visible: filter.matches(row, roster: roster)) + "\n\n"
        }
        let everything = all ? rows : server.rows(parts, nowMs: nowMs)
        text += "event: summary\ndata: \(WallChartPage.summary(everything, staleDays: server.settings.staleDays))\n\n"
        text += "event: asof\ndata: \(Names.time(HybridTimestamp(wallMs: nowMs)))\n\n"
        return text
    }
}
