/// What carries a client's messages to one server: keeps a connection up (reconnecting by itself), reports when it
/// comes and goes, sends, and delivers what arrives. ``RPCClient`` runs on one; ``RPCZMQClientTransport`` (a DEALER
/// socket) and ``RPCInMemoryClientTransport`` (no sockets, for tests) are the two there are.
///
/// **Threading.** Implementations are `Sendable`. ``connect(_:)`` is called once; from then on the transport calls the
/// handler with one ``RPCClientTransportEvent`` at a time, in order, on a context of its own; the handler must not
/// block. ``send(_:then:)`` may be called from any thread; messages leave in the order they were handed over.
///
/// **Connections.** A message is only ever queued on a connection that is up: while there is none, ``send(_:then:)``
/// refuses it (``RPCSendResult/wouldBlock``) and the transport later reports ``RPCClientTransportEvent/writable`` or
/// ``RPCClientTransportEvent/connected``. Messages queued on a connection that dies are lost with it; each new
/// connection is a new peer to the server.
public protocol RPCClientTransport: Sendable {
    /// Starts connecting (in the background) and delivering events to `handler`. Throws when it cannot even start
    /// (a malformed endpoint).
    func connect(_ handler: @escaping @Sendable (RPCClientTransportEvent) -> Void) async throws(RPCError)

    /// Hands `frames` to the current connection without waiting; `completion`, if given, is called once with the
    /// outcome, in order with this transport's events.
    func send(_ frames: [[UInt8]], then completion: (@Sendable (RPCSendResult) -> Void)?)

    /// Closes the connection for good. Calling it again does nothing.
    func close() async

    /// The executor that runs on the transport's own context (for ZeroMQ, the reactor: the thread that sends and
    /// receives), or `nil` when there is none; see ``RPCClient/transportExecutor``.
    var executor: (any TaskExecutor)? { get }
}

extension RPCClientTransport {
    /// No executor of its own (the default).
    public var executor: (any TaskExecutor)? { nil }
}

/// One thing a client transport reports. A plain value.
public enum RPCClientTransportEvent: Sendable {
    /// A new connection is up (the first, or one made after a loss): messages can be sent.
    case connected
    /// The connection can take messages again after a send was refused with ``RPCSendResult/wouldBlock``.
    case writable
    /// The connection was lost (the server closed it, went away, or stopped answering heartbeats); the transport
    /// reconnects by itself. Calls sent on it will not be answered.
    case disconnected(reason: String)
    /// The server refused this client (for example its CurveZMQ key during the handshake): calls fail with `error`
    /// until a later connection succeeds.
    case refused(RPCError)
    /// A message from the server.
    case received([[UInt8]])
}
