import CoopLedger
import CoopNode
import CoopWire
import Hummingbird
import NIOCore

/// Server-sent events for an open wall chart page, fed by the node's ``ChangeFeed``: first every row (event `init`),
/// then, whenever items change (local writes or entries stored from peers), each changed item's row, the summary
/// counts (event `summary`) and the time (event `asof`). Rows are rendered by the page's own code with the page's
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
            for await _ in subscription.wakeUps {
                let changed = Set(subscription.take().compactMap { $0.state?.itemId })
                guard !changed.isEmpty else { continue }
                let nowMs = server.now()
                let rows = server.rows(parts, nowMs: nowMs).filter { changed.contains($0.item.id) }
                try await writer.write(ByteBuffer(string: events(rows, nowMs: nowMs, all: false)))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
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
