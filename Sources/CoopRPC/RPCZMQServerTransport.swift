public import CoopZMQ
import Synchronization

/// The server transport on ZeroMQ: a ROUTER socket bound on a ``ZMQReactor`` (`ZMQ_ROUTER_MANDATORY` on, CurveZMQ when
/// configured, ZMTP heartbeats, `ZMQ_MAXMSGSIZE`).
///
/// **Threading.** `Sendable`. The socket lives on the reactor's thread and never leaves it: events are delivered
/// there, and ``send(_:to:then:)`` sends at once when called there (from an event handler, or a call's task while it
/// runs there) and otherwise queues the send there with ``ZMQReactor/executeInline(_:)`` (messages of one sender leave
/// in the order handed over; `completion` runs on the reactor thread right after the send).
///
/// **Gone peers.** With `ZMQ_ROUTER_MANDATORY`, a send to a routing id that has no connection fails with
/// `EHOSTUNREACH`; the transport reports it as ``RPCServerTransportEvent/peerGone(peer:reason:)``. A connection is
/// closed by libzmq when the client closes it, when TCP resets, or when the client stops answering heartbeats, so a
/// vanished client is found by the next message sent to it (``RPCServer`` probes streams that wait for credit).
///
/// **Full queues.** A send that finds its peer's queue full (`ZMQ_SNDHWM`, `EAGAIN`) is not dropped: the message waits
/// in a backlog on the reactor thread, behind it every later message to that peer, and is sent once the socket is
/// writable again (``ZMQReactor/Registry/whenWritable(_:_:)``, and a retry on a reactor timer every 20 ms, which also
/// finds a peer that went away meanwhile); its `completion` runs then. ``RPCServer`` bounds the backlog per stream.
public final class RPCZMQServerTransport: RPCServerTransport {
    public let reactor: ZMQReactor
    /// The reactor, whose thread sends and receives for this transport.
    public var executor: (any TaskExecutor)? { reactor }
    public let endpoint: String
    public let curve: RPCServerCurve?
    public let heartbeat: ZMQHeartbeat
    /// libzmq drops a connection that sends a frame larger than this (`ZMQ_MAXMSGSIZE`), unread.
    public let maxFrameBytes: Int64
    /// The ROUTER's outgoing queue per peer, in messages (`ZMQ_SNDHWM`); `nil` keeps libzmq's default (1000).
    public let sendHighWaterMark: Int32?
    private let socketID = Mutex<ZMQReactor.SocketID?>(nil)
    /// The handler, in a struct: a `Mutex` whose value is itself a function type reabstracts it on every access
    /// (`withLock` reads and writes back its value through an `inout`), wrapping it in two more thunks each time, so
    /// that every event walked a chain that grew by two calls per event (63% of a busy node's CPU, and a stack that
    /// deepened with every event).
    private let handler = Mutex<Handler?>(nil)

    /// Where events go (see ``handler``).
    private struct Handler {
        let deliver: @Sendable (RPCServerTransportEvent) -> Void
    }

    private let backlog = Mutex(Backlog())

    /// A ROUTER that will bind `endpoint` (`tcp://127.0.0.1:0` picks a port).
    public init(
        reactor: ZMQReactor,
        endpoint: String,
        curve: RPCServerCurve? = nil,
        heartbeat: ZMQHeartbeat = .standard,
        maxFrameBytes: Int64 = -1,
        sendHighWaterMark: Int32? = nil
    ) {
        self.reactor = reactor
        self.endpoint = endpoint
        self.curve = curve
        self.heartbeat = heartbeat
        self.maxFrameBytes = maxFrameBytes
        self.sendHighWaterMark = sendHighWaterMark
    }

    public func listen(
        _ handler: @escaping @Sendable (RPCServerTransportEvent) -> Void
    ) async throws(RPCError) -> String {
        self.handler.withLock { $0 = Handler(deliver: handler) }
        do {
            return try await reactor.run { [endpoint, curve, heartbeat, maxFrameBytes, sendHighWaterMark] registry in
                let router = try ZMQSocket(registry.context, type: .router)
                try router.set(.routerMandatory, 1)
                if let sendHighWaterMark { try router.set(.sendHighWaterMark, sendHighWaterMark) }
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
        let queued = reactor.executeInline { registry in
            guard let socket = registry.socket(socketID) else {
                completion?(.closed)
                return
            }
            let message = Unsent(frames: frames, completion: completion)
            // Behind messages already waiting for this peer: they go first.
            let waiting = self.backlog.withLock { b in
                guard b.peers[peer] != nil else { return false }
                b.peers[peer]?.append(message)
                return true
            }
            // (POLLOUT and the retry timer are armed for them already.)
            if waiting { return }
            switch self.attempt(socket, peer, frames) {
            case .wouldBlock:
                self.backlog.withLock { $0.peers[peer] = [message] }
                self.keepTrying(registry, socketID, armWritable: true)
            case let result:
                completion?(result)
            }
        }
        if !queued { completion?(.closed) }
    }

    public func later(_ work: @escaping @Sendable () -> Void) {
        if !reactor.execute({ _ in work() }) { work() }
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
        _ = try? await reactor.run { registry in
            registry.close(socketID)
            self.failBacklog(.closed)
        }
    }

    // MARK: On the reactor thread

    /// A message its peer's queue could not take yet.
    private struct Unsent {
        var frames: [[UInt8]]
        var completion: (@Sendable (RPCSendResult) -> Void)?
    }

    /// Messages waiting for their peer's queue to have room, oldest first; touched on the reactor thread only (the
    /// lock is there for `Sendable`).
    private struct Backlog {
        var peers: [[UInt8]: [Unsent]] = [:]
        var retryScheduled = false
    }

    private enum Trigger {
        case writable, timer
    }

    /// How often a backlog is retried besides `ZMQ_POLLOUT`: a ROUTER is writable when *any* peer has room, and a
    /// peer whose connection closed meanwhile is only found by a send (`EHOSTUNREACH`).
    private static let retryInterval: Duration = .milliseconds(20)

    /// One non-blocking send; a peer found gone is reported.
    private func attempt(_ socket: ZMQSocket, _ peer: [UInt8], _ frames: [[UInt8]]) -> RPCSendResult {
        do {
            return try socket.send([peer] + frames, blocking: false) ? .sent : .wouldBlock
        } catch {
            guard error.code == .hostUnreachable else { return .closed }
            deliver(.peerGone(peer: peer, reason: "its connection is closed (EHOSTUNREACH)"))
            return .peerGone
        }
    }

    /// Sends what waits, per peer in order, until a peer's queue is full again; keeps trying while anything is left.
    private func flush(_ registry: ZMQReactor.Registry, _ socketID: ZMQReactor.SocketID, trigger: Trigger) {
        guard let socket = registry.socket(socketID) else {
            failBacklog(.closed)
            return
        }
        // Nothing is added meanwhile: sends reach this thread as queued work, which runs after this returns.
        let waiting = backlog.withLock { b in
            defer { b.peers.removeAll() }
            return b.peers
        }
        var progress = false
        var left: [[UInt8]: [Unsent]] = [:]
        var done: [(Unsent, RPCSendResult)] = []
        for (peer, messages) in waiting {
            var i = messages.startIndex
            while i < messages.endIndex {
                let result = attempt(socket, peer, messages[i].frames)
                if result == .wouldBlock { break }
                progress = true
                if result == .sent {
                    done.append((messages[i], .sent))
                    i += 1
                } else {
                    // Gone or closed: nothing more can reach this peer.
                    done += messages[i...].map { ($0, result) }
                    i = messages.endIndex
                }
            }
            if i == messages.startIndex {
                left[peer] = messages
            } else if i < messages.endIndex {
                left[peer] = Array(messages[i...])
            }
        }
        backlog.withLock { $0.peers = left }
        for (message, result) in done { message.completion?(result) }
        // A ROUTER reports POLLOUT when any peer has room: when that did not help, wait for the timer rather than
        // spin on the poll.
        if !left.isEmpty { keepTrying(registry, socketID, armWritable: progress || trigger != .writable) }
    }

    /// Retries the backlog when the socket can take a message again, and after ``retryInterval``.
    private func keepTrying(_ registry: ZMQReactor.Registry, _ socketID: ZMQReactor.SocketID, armWritable: Bool) {
        if armWritable {
            registry.whenWritable(socketID) { [unowned registry] _ in
                self.flush(registry, socketID, trigger: .writable)
            }
        }
        let schedule = backlog.withLock { b in
            defer { b.retryScheduled = true }
            return !b.retryScheduled
        }
        guard schedule else { return }
        registry.schedule(after: Self.retryInterval) { registry in
            self.backlog.withLock { $0.retryScheduled = false }
            self.flush(registry, socketID, trigger: .timer)
        }
    }

    /// Ends every waiting message with `result` (the socket is closed).
    private func failBacklog(_ result: RPCSendResult) {
        let waiting = backlog.withLock { b in
            defer { b.peers.removeAll() }
            return b.peers
        }
        for message in waiting.values.joined() { message.completion?(result) }
    }

    private func deliver(_ event: RPCServerTransportEvent) {
        handler.withLock { $0 }?.deliver(event)
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
