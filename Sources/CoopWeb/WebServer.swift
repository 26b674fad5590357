import CoopLedger
import CoopLog
public import CoopNode
import CoopSegments
import CoopServices
import CoopWire
import Foundation
import Hummingbird
public import Logging
import NIOCore

/// A node's HTTP listener (`[http]` in its configuration; off by default): the wall chart page (`/`), an item's page
/// with its history (`/items/CY-07`), the printable supervision report (`/report/overdue`), live updates as
/// server-sent events (`/events`), metrics in the Prometheus text format (`/metrics`), and health probes (`/healthz`,
/// `/readyz`). Read-only: nothing it serves changes the ledger. Runs as a ``NodeCompanion`` of the node.
///
/// **Threading.** `Sendable`; ``run(_:bound:)`` is called once by the node. Requests are served concurrently on
/// SwiftNIO's event loops; every node part they read is thread-safe.
public struct WebServer: NodeCompanion {
    public let settings: NodeConfig.HTTP
    let logger: Logger
    /// Milliseconds since the Unix epoch: what "today" and "days since" are measured from.
    let now: @Sendable () -> UInt64
    /// The metrics registry, when `/metrics` is served.
    public let scrape: NodeScrape?
    /// What the node records into that registry; pass it to the `LedgerNode`.
    public let nodeMetrics: NodeMetrics?
    /// How long an item's page waits for its turn to replay the whole log (``ReplayGate``) before it answers 503 with
    /// `Retry-After`: HTTP carries no deadline, and a browser that gave up is not noticed.
    static let historyPatience: Duration = .seconds(15)

    /// A listener with `settings` (host, port, stale days, metrics on or off); `now` is the wall clock unless a test
    /// sets another.
    public init(
        settings: NodeConfig.HTTP,
        logger: Logger,
        now: (@Sendable () -> UInt64)? = nil
    ) {
        self.settings = settings
        self.logger = logger
        self.now = now ?? { UInt64(Date().timeIntervalSince1970 * 1000) }
        if settings.metrics {
            let scrape = NodeScrape()
            self.scrape = scrape
            nodeMetrics = NodeMetrics(factory: scrape.makeFactory())
        } else {
            scrape = nil
            nodeMetrics = nil
        }
    }

    public func run(_ parts: NodeParts, bound: @escaping @Sendable (String) -> Void) async throws {
        let router = Router()
        addRoutes(to: router, parts: parts)
        let host = settings.host
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: settings.port), serverName: "coop"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? settings.port
                bound("http://\(host.contains(":") ? "[\(host)]" : host):\(port)")
            },
            logger: logger
        )
        do {
            try await app.run()
        } catch {
            throw WebError(
                code: .bind,
                message:
                    "cannot serve HTTP on \(host):\(settings.port) ([http] listen in \(parts.config.path)): \(error)",
                cause: error
            )
        }
    }

    /// The rows of the node's view now.
    func rows(_ parts: NodeParts, nowMs: UInt64) -> [ChartRow] {
        let store = parts.store
        let origins = Set(
            store.evidence.compactMap { evidence -> String? in
                guard let body = evidence.first?.body else { return nil }
                return try? EntryBody(wireBytes: body).origin
            }
        )
        return ChartRow.all(
            catalog: store.catalog,
            roster: store.roster,
            states: store.states,
            evidenceOrigins: origins,
            nowMs: nowMs,
            staleDays: settings.staleDays
        )
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func text(
        _ text: String,
        status: HTTPResponse.Status = .ok,
        type: String = "text/plain; charset=utf-8"
    )
        -> Response
    {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    func addRoutes(to router: Router<BasicRequestContext>, parts: NodeParts) {
        let roster = parts.store.roster
        let nodeID = parts.config.nodeID
        router.get("/") { request, _ -> Response in
            let filter = try ChartFilter.parse(ChartFilter.pairs(request), roster: roster)
            let nowMs = now()
            return Self.html(
                WallChartPage.render(
                    rows: rows(parts, nowMs: nowMs),
                    filter: filter,
                    roster: roster,
                    nodeID: nodeID,
                    nowMs: nowMs,
                    staleDays: settings.staleDays
                )
            )
        }
        router.get("/items/:id") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            var limit = ItemPage.defaultLimit
            for (key, value) in ChartFilter.pairs(request) {
                guard key == "limit" else {
                    throw WebError(
                        code: .badRequest,
                        message: "unknown query parameter \"\(key)\"; an item's page takes only limit (a number or all)"
                    )
                }
                if value == "all" {
                    limit = .max
                } else if let n = Int(value), n > 0 {
                    limit = n
                } else {
                    throw WebError(code: .badRequest, message: "limit=\(value) is not a positive number or all")
                }
            }
            guard let row = rows(parts, nowMs: now()).first(where: { $0.item.id == id }) else {
                throw WebError(
                    code: .notFound,
                    message: "item \(id) is not in the catalog (ids like CY-01 … CY-\(parts.store.catalog.items.count))"
                )
            }
            let history: [LedgerReplay.Change]
            do {
                history = try await LedgerReplay.historyOffPool(
                    directory: parts.store.directory,
                    catalog: parts.store.catalog,
                    roster: roster,
                    itemID: id,
                    assumingSetAside: parts.store.setAside,
                    gate: parts.replayGate,
                    patience: Self.historyPatience
                )
            } catch let cancelled as CancellationError {
                throw cancelled
            } catch let busy as LogError where busy.code == .busy {
                // HTTP has no deadline and Hummingbird does not cancel a handler whose client left: the page waits
                // for its turn at most `historyPatience`, and is refused at once when the queue is full.
                throw WebError(code: .unavailable, message: busy.message, cause: busy, retryAfter: 5)
            } catch {
                throw WebError(code: .internalError, message: "reading the log failed: \(error)", cause: error)
            }
            return Self.html(
                ItemPage.render(row: row, history: history, roster: roster, nodeID: nodeID, limit: limit)
            )
        }
        router.get("/report/overdue") { request, _ -> Response in
            if let key = ChartFilter.pairs(request).first?.0 {
                throw WebError(code: .badRequest, message: "unknown query parameter \"\(key)\"; the report takes none")
            }
            let nowMs = now()
            return Self.html(
                ReportPage.render(
                    rows: rows(parts, nowMs: nowMs),
                    roster: roster,
                    nodeID: nodeID,
                    nowMs: nowMs,
                    staleDays: settings.staleDays
                )
            )
        }
        router.get("/events") { request, _ -> Response in
            let filter = try ChartFilter.parse(ChartFilter.pairs(request), roster: roster)
            return EventStream(server: self, parts: parts, filter: filter).response()
        }
        router.get("/healthz") { _, _ -> Response in
            let probe = HealthProbe(parts: parts)
            return Self.text(probe.health.text, status: probe.health.ok ? .ok : .serviceUnavailable)
        }
        router.get("/readyz") { _, _ -> Response in
            let probe = HealthProbe(parts: parts)
            return Self.text(probe.ready.text, status: probe.ready.ok ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ -> Response in
            guard let scrape else {
                throw WebError(code: .notFound, message: "metrics are off ([http] metrics = false)")
            }
            return Self.text(
                scrape.emit(parts, nowMs: now(), staleDays: settings.staleDays),
                type: "text/plain; version=0.0.4; charset=utf-8"
            )
        }
    }
}
