public import CoopZMQ
import Synchronization

/// The server transport on ZeroMQ: a ROUTER socket bound on a ``ZMQReactor`` (`ZMQ_ROUTER_MANDATORY` on, CurveZMQ when
/// configured, ZMTP heartbeats, `ZMQ_MAXMSGSIZE`).
///
/// **Threading.** `Sendable`. The socket lives on the reactor's thread and never leaves it: events are delivered
/// there, and ``send(_:to:then:)`` queues the send there with ``ZMQReactor/execute(_:)`` (messages leave in the order
/// handed over; `completion` runs on the reactor thread right after the send).
///
/// **Gone peers.** With `ZMQ_ROUTER_MANDATORY`, a send to a routing id that has no connection fails with
/// `EHOSTUNREACH`; the transport reports it as ``RPCServerTransportEvent/peerGone(peer:reason:)``. A connection is
/// closed by libzmq when the client closes it, when TCP resets, or when the client stops answering heartbeats, so a
/// vanished client is found by the next message sent to it (``RPCServer`` probes streams that wait for credit).
public final class RPCZMQServerTransport: RPCServerTransport {
    public let reactor: ZMQReactor
    public let endpoint: String
    public let curve: RPCServerCurve?
    public let heartbeat: ZMQHeartbeat
    /// libzmq drops a connection that sends a frame larger than this (`ZMQ_MAXMSGSIZE`), unread.
    public let maxFrameBytes: Int64
    private let socketID = Mutex<ZMQReactor.SocketID?>(nil)
    private let handler = Mutex<(@Sendable (RPCServerTransportEvent) -> Void)?>(nil)

    /// A ROUTER that will bind `endpoint` (`tcp://127.0.0.1:0` picks a port).
    public init(
        reactor: ZMQReactor,
        endpoint: String,
        curve: RPCServerCurve? = nil,
        heartbeat: ZMQHeartbeat = .standard,
        maxFrameBytes: Int64 = -1
    ) {
        self.reactor = reactor
        self.endpoint = endpoint
        self.curve = curve
        self.heartbeat = heartbeat
        self.maxFrameBytes = maxFrameBytes
    }

    public func listen(
        _ handler: @escaping @Sendable (RPCServerTransportEvent) -> Void
    ) async throws(RPCError) -> String {
        self.handler.withLock { $0 = handler }
        do {
            return try await reactor.run { [endpoint, curve, heartbeat, maxFrameBytes] registry in
                let router = try ZMQSocket(registry.context, type: .router)
                try router.set(.routerMandatory, 1)
                try router.set(heartbeat)
                if let curve {
                    try router.set(.curveServer, 1)
                    try router.set(.curveSecretKey, curve.secretKey)
                    try router.set(.zapDomain, "coop")
                }
                try router.set(.maxMessageSize, maxFrameBytes)
                let address = try router.bind(endpoint)
                let id = registry.register(router) { socket in self.readable(socket) }
                self.socketID.withLock { $0 = id }
                return address
            }
        } catch {
            throw RPCError(
                code: .unavailable,
                message: "cannot listen on \(endpoint): \(error)",
                reason: RPCReason.unavailable,
                cause: error as? ZMQError
            )
        }
    }

    public func send(_ frames: [[UInt8]], to peer: [UInt8], then completion: (@Sendable (RPCSendResult) -> Void)?) {
        guard let socketID = socketID.withLock({ $0 }) else {
            completion?(.closed)
            return
        }
        let queued = reactor.execute { registry in
            guard let socket = registry.socket(socketID) else {
                completion?(.closed)
                return
            }
            let result: RPCSendResult
            do {
                result = try socket.send([peer] + frames, blocking: false) ? .sent : .wouldBlock
            } catch let error as ZMQError where error.code == .hostUnreachable {
                result = .peerGone
                self.deliver(.peerGone(peer: peer, reason: "its connection is closed (EHOSTUNREACH)"))
            } catch {
                result = .closed
            }
            completion?(result)
        }
        if !queued { completion?(.closed) }
    }

    public func close() async {
        // Forget the handler: it holds the server, which holds this transport.
        handler.withLock { $0 = nil }
        guard
            let socketID = socketID.withLock({ s in
                defer { s = nil }
                return s
            })
        else { return }
        _ = try? await reactor.run { registry in registry.close(socketID) }
    }

    // MARK: On the reactor thread

    private func deliver(_ event: RPCServerTransportEvent) {
        handler.withLock { $0 }?(event)
    }

    private func readable(_ socket: ZMQSocket) {
        while true {
            let received: (frames: [[UInt8]], userID: String?)?
            do {
                received = try socket.receiveWithUserID(blocking: false)
            } catch {
                return
            }
            guard let received else { return }
            // A ROUTER always puts the routing id first; a message without more cannot be answered.
            guard received.frames.count >= 2 else { continue }
            let caller = received.userID.flatMap { $0.isEmpty ? nil : $0 }
            deliver(.received(peer: received.frames[0], frames: Array(received.frames.dropFirst()), caller: caller))
        }
    }
}
