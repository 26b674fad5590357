/// What carries a server's messages: accepts connections, delivers each client message with the peer it came from,
/// and sends messages to a peer. ``RPCServer`` runs on one; ``RPCZMQServerTransport`` (a ROUTER socket) and
/// ``RPCInMemoryServerTransport`` (no sockets, for tests) are the two there are.
///
/// **Threading.** Implementations are `Sendable`. ``listen(_:)`` is called once; from then on the transport calls the
/// handler with one ``RPCServerTransportEvent`` at a time, in order (never two at once), on a context of its own (the
/// ZeroMQ reactor's thread, or whichever thread delivers in memory); the handler must not block. ``send(_:to:then:)``
/// may be called from any thread; messages to one peer leave in the order they were handed over.
///
/// **Frames.** The transport carries the protocol's frames (`[tag][header][body?]`, docs/PROTOCOL.md) untouched; a
/// ROUTER's routing-id frame is the transport's business and appears here as the peer id. The transport never
/// decodes or answers anything: that is the server's job, so that every transport behaves alike.
public protocol RPCServerTransport: Sendable {
    /// Starts accepting connections and delivering events to `handler`; returns the address bound (for ZeroMQ, the
    /// endpoint read back, with the port chosen for `tcp://HOST:0`). Throws when it cannot listen.
    func listen(_ handler: @escaping @Sendable (RPCServerTransportEvent) -> Void) async throws(RPCError) -> String

    /// Hands `frames` to `peer`'s connection without waiting. A message the connection cannot take now (its queue
    /// is full) is kept and sent, in order, once it can: never dropped. `completion`, if given, is called once with
    /// the outcome, in order with this transport's events (on ZeroMQ, on the reactor thread once the message is
    /// queued on the socket, or found undeliverable). A peer found gone is also reported as
    /// ``RPCServerTransportEvent/peerGone(peer:reason:)``.
    func send(_ frames: [[UInt8]], to peer: [UInt8], then completion: (@Sendable (RPCSendResult) -> Void)?)

    /// Runs `work` on the transport's own context after what runs there now: on ZeroMQ, queued on the reactor behind
    /// the work and task jobs already queued, even when called on the reactor's thread. A transport without a context
    /// of its own runs it at once on the caller's thread; so does a ZeroMQ transport whose reactor is shut down (after
    /// ``close()`` the work still runs on the reactor, and its sends complete `.closed`). A server stream sends through it so
    /// that what its handler sends meanwhile goes out in one batch (``RPCServer``).
    func later(_ work: @escaping @Sendable () -> Void)

    /// Stops listening and closes every connection at once; messages not yet sent may be lost. Calling it again
    /// does nothing.
    func close() async

    /// The executor that runs on the transport's own context (for ZeroMQ, the reactor: the thread that receives and
    /// sends), or `nil` when there is none. A server whose ``RPCServer/HandlerExecution`` is `.direct` runs its calls
    /// there.
    var executor: (any TaskExecutor)? { get }
}

extension RPCServerTransport {
    /// No executor of its own (the default).
    public var executor: (any TaskExecutor)? { nil }

    /// No context of its own (the default): `work` runs at once.
    public func later(_ work: @escaping @Sendable () -> Void) { work() }
}

/// One thing a server transport reports. A plain value.
public enum RPCServerTransportEvent: Sendable {
    /// A client message: its frames (without any routing frame), the peer (connection) it came on, and the caller's
    /// authenticated identity, if the transport authenticates (the member id of a CurveZMQ key).
    case received(peer: [UInt8], frames: [[UInt8]], caller: String?)
    /// The connection of `peer` is gone (closed, its heartbeat timed out, or a send found it unroutable): nothing
    /// sent to it will arrive, and its calls must end.
    case peerGone(peer: [UInt8], reason: String)
}

/// What became of one message handed to a transport. A plain value.
public enum RPCSendResult: Sendable, Hashable {
    /// Queued on the connection.
    case sent
    /// The connection cannot take it now (no connection yet, or its queue is full); nothing was sent. Server
    /// transports keep such a message instead and never report this.
    case wouldBlock
    /// The peer is gone; nothing was sent.
    case peerGone
    /// The transport is closed; nothing was sent.
    case closed
}
