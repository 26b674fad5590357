public import CoopRPC
public import CoopWire
import Synchronization

/// The `coop.v1.Health` service, modelled on `grpc.health.v1`: a status per service name (the empty name is the
/// server as a whole), which the server's owner sets, and which callers check or watch.
///
/// **Threading.** `Sendable`; ``set(_:status:reasons:)`` may be called from any thread while calls are served.
public final class HealthProvider: HealthService.Handler {
    private struct Entry: Equatable {
        var status: ServingStatus
        var reasons: [String]
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var watchers: [UInt64: (service: String, continuation: AsyncStream<Entry>.Continuation)] = [:]
        var nextWatcher: UInt64 = 0
        var shutDown = false
    }

    private let state = Mutex(State())

    /// A provider that knows `services` (and the server as a whole, ""), all SERVING.
    public init(services: [String]) {
        state.withLock { s in
            for name in [""] + services { s.entries[name] = Entry(status: .serving, reasons: []) }
        }
    }

    /// Sets the status of `service` ("" for the server as a whole) and tells its watchers when it changed. After
    /// ``shutDown()`` every status stays NOT_SERVING.
    public func set(_ service: String, status: ServingStatus, reasons: [String] = []) {
        let (entry, watchers): (Entry?, [AsyncStream<Entry>.Continuation]) = state.withLock { s in
            guard !s.shutDown else { return (nil, []) }
            let entry = Entry(status: status, reasons: reasons)
            guard s.entries[service] != entry else { return (nil, []) }
            s.entries[service] = entry
            return (entry, s.watchers.values.filter { $0.service == service }.map(\.continuation))
        }
        guard let entry else { return }
        for watcher in watchers { watcher.yield(entry) }
    }

    /// Marks every service NOT_SERVING for good (the server is draining), tells every watcher, and ends their
    /// streams (so that a draining server is not held up by them). Later watches get NOT_SERVING and end at once.
    public func shutDown() {
        let updates: [(AsyncStream<Entry>.Continuation, Entry?)] = state.withLock { s in
            s.shutDown = true
            for key in s.entries.keys {
                s.entries[key] = Entry(status: .notServing, reasons: ["the server is shutting down"])
            }
            return s.watchers.values.map { w in (w.continuation, s.entries[w.service]) }
        }
        for (watcher, entry) in updates {
            if let entry { watcher.yield(entry) }
            watcher.finish()
        }
    }

    /// The current status of `service`, or `nil` when it is not known.
    public func status(of service: String) -> (status: ServingStatus, reasons: [String])? {
        state.withLock { $0.entries[service].map { ($0.status, $0.reasons) } }
    }

    public func check(_ request: HealthCheckRequest, context: RPCServerContext) async throws -> HealthCheckResponse {
        guard let current = status(of: request.service) else {
            throw RPCError(code: .notFound, message: "no service named '\(request.service)' on this server")
        }
        return HealthCheckResponse(status: current.status, reasons: current.reasons)
    }

    /// Sends the current status (SERVICE_UNKNOWN for a service not known yet), then each change, until the call
    /// ends.
    public func watch(
        _ request: HealthCheckRequest,
        response: TypedStreamWriter<HealthCheckResponse>,
        context: RPCServerContext
    ) async throws {
        let (changes, continuation) = AsyncStream<Entry>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let (id, current, shutDown) = state.withLock { s in
            s.nextWatcher += 1
            if !s.shutDown { s.watchers[s.nextWatcher] = (request.service, continuation) }
            return (s.nextWatcher, s.entries[request.service], s.shutDown)
        }
        if shutDown { continuation.finish() }
        defer { _ = state.withLock { $0.watchers.removeValue(forKey: id) } }
        let first = current ?? Entry(status: .serviceUnknown, reasons: [])
        try await response.send(HealthCheckResponse(status: first.status, reasons: first.reasons))
        var last = first
        for await entry in changes where entry != last {
            try await response.send(HealthCheckResponse(status: entry.status, reasons: entry.reasons))
            last = entry
        }
    }
}
