public import CoopZMQ
import Synchronization

/// The client transport on ZeroMQ: a DEALER socket connected on a ``ZMQReactor``, with `ZMQ_IMMEDIATE` (a message is
/// queued only on a connection that is up), ZMTP heartbeats, CurveZMQ when configured, and a socket monitor that turns
/// the connection's life into events.
///
/// **Threading.** `Sendable`. The socket and its monitor live on the reactor's thread and never leave it; events are
/// delivered there, and ``send(_:then:)`` sends at once when called there and otherwise queues the send there with
/// ``ZMQReactor/executeInline(_:)``.
///
/// **Connection events.** From the monitor: a ZMTP handshake that succeeds is ``RPCClientTransportEvent/connected``;
/// `DISCONNECTED` (the server closed the connection, TCP reset, or heartbeats timed out) is
/// ``RPCClientTransportEvent/disconnected(reason:)``, after which libzmq reconnects in the background
/// (`ZMQ_RECONNECT_IVL` 100 ms, backing off to ``reconnectIntervalMax``); a CurveZMQ handshake the server refuses is
/// ``RPCClientTransportEvent/refused(_:)`` naming the key. A send refused for want of a connection arms a one-shot
/// `ZMQ_POLLOUT` watch, reported as ``RPCClientTransportEvent/writable``. An `inproc://` endpoint has no handshake
/// and no monitor events: it counts as connected at once.
public final class RPCZMQClientTransport: RPCClientTransport {
    public let reactor: ZMQReactor
    /// The reactor, whose thread sends and receives for this transport.
    public var executor: (any TaskExecutor)? { reactor }
    public let endpoint: String
    public let curve: RPCClientCurve?
    public let heartbeat: ZMQHeartbeat
    /// Longest wait between reconnection attempts (`ZMQ_RECONNECT_IVL_MAX`).
    public let reconnectIntervalMax: Duration
    private let ids = Mutex<(socket: ZMQReactor.SocketID, monitor: ZMQReactor.SocketID?)?>(nil)
    /// The handler, in a struct: a `Mutex` whose value is itself a function type reabstracts it on every access
    /// (`withLock` reads and writes back its value through an `inout`), wrapping it in two more thunks each time, so
    /// that every event walked a chain that grew by two calls per event (63% of a busy node's CPU, and a stack that
    /// deepened with every event).
    private let handler = Mutex<Handler?>(nil)

    /// Where events go (see ``handler``).
    private struct Handler {
        let deliver: @Sendable (RPCClientTransportEvent) -> Void
    }

    public init(
        reactor: ZMQReactor,
        endpoint: String,
        curve: RPCClientCurve? = nil,
        heartbeat: ZMQHeartbeat = .standard,
        reconnectIntervalMax: Duration = .seconds(2)
    ) {
        self.reactor = reactor
        self.endpoint = endpoint
        self.curve = curve
        self.heartbeat = heartbeat
        self.reconnectIntervalMax = reconnectIntervalMax
    }

    public func connect(_ handler: @escaping @Sendable (RPCClientTransportEvent) -> Void) async throws(RPCError) {
        self.handler.withLock { $0 = Handler(deliver: handler) }
        let inproc = endpoint.hasPrefix("inproc://")
        do {
            let ids = try await reactor.run { [endpoint, curve, heartbeat, reconnectIntervalMax] registry in
                let dealer = try ZMQSocket(registry.context, type: .dealer)
                try dealer.set(.immediate, 1)
                try dealer.set(heartbeat)
                try dealer.set(.reconnectIntervalMax, reconnectIntervalMax)
                if let curve {
                    try dealer.set(.curveServerKey, curve.serverPublicKey)
                    try dealer.set(.curvePublicKey, curve.publicKey)
                    try dealer.set(.curveSecretKey, curve.secretKey)
                }
                var monitorID: ZMQReactor.SocketID?
                if !inproc {
                    let monitor = try dealer.makeMonitor(name: "rpc-client-\(UInt64.random(in: 0...UInt64.max))")
                    monitorID = registry.register(monitor) { socket in self.monitored(socket) }
                }
                try dealer.connect(endpoint)
                let id = registry.register(dealer) { socket in self.readable(socket) }
                if inproc { self.deliver(.connected) }
                return (id, monitorID)
            }
            self.ids.withLock { $0 = ids }
        } catch {
            throw RPCError(
                code: .unavailable,
                message: "cannot connect to \(endpoint): \(error)",
                reason: RPCReason.unavailable,
                cause: error as? ZMQError
            )
        }
    }

    public func send(_ frames: [[UInt8]], then completion: (@Sendable (RPCSendResult) -> Void)?) {
        guard let socketID = ids.withLock({ $0?.socket }) else {
            completion?(.closed)
            return
        }
        let queued = reactor.executeInline { registry in
            guard let socket = registry.socket(socketID) else {
                completion?(.closed)
                return
            }
            let result: RPCSendResult
            do {
                result = try socket.send(frames, blocking: false) ? .sent : .wouldBlock
            } catch {
                result = .closed
            }
            if result == .wouldBlock {
                registry.whenWritable(socketID) { _ in self.deliver(.writable) }
            }
            completion?(result)
        }
        if !queued { completion?(.closed) }
    }

    public func close() async {
        // Forget the handler: it holds the client, which holds this transport.
        handler.withLock { $0 = nil }
        guard
            let ids = ids.withLock({ s in
                defer { s = nil }
                return s
            })
        else { return }
        _ = try? await reactor.run { registry in
            registry.close(ids.socket)
            if let monitor = ids.monitor { registry.close(monitor) }
        }
    }

    // MARK: On the reactor thread

    private func deliver(_ event: RPCClientTransportEvent) {
        handler.withLock { $0 }?.deliver(event)
    }

    private func readable(_ socket: ZMQSocket) {
        while let frames = try? socket.receive(blocking: false) {
            deliver(.received(frames))
        }
    }

    private func monitored(_ socket: ZMQSocket) {
        while let frames = try? socket.receive(blocking: false) {
            guard let event = ZMQMonitorEvent(frames: frames) else { continue }
            switch event.kind {
            case .handshakeSucceeded:
                deliver(.connected)
            case .disconnected:
                deliver(.disconnected(reason: "the connection to \(endpoint) was lost"))
            case .handshakeFailedAuth, .handshakeFailedProtocol:
                // Without CurveZMQ a failed handshake is a broken connection, reported as DISCONNECTED next.
                guard let curve else { break }
                let key = ZMQCurve.z85(curve.publicKey)
                deliver(
                    .refused(
                        RPCError(
                            code: .unauthenticated,
                            message: "the server at \(endpoint) refused this client's key \(key) "
                                + "(ZAP status \(event.value)); is it in the server's roster?",
                            reason: RPCReason.unauthenticated
                        )
                    )
                )
            default:
                break
            }
        }
    }
}
