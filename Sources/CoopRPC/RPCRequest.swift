/// One call as a server handler sees it. A plain value; thread-safe.
public struct RPCRequest: Sendable {
    /// The call's head: id, method, deadline budget, metadata.
    public var head: RPCRequestHead
    /// The encoded request message.
    public var body: [UInt8]
    /// The connection the call came on: the transport's peer id (on ZeroMQ, the ROUTER's routing id).
    public var peer: [UInt8]
    /// The authenticated caller: the member id that the ZAP handler gave its CurveZMQ key; `nil` on a plain-text
    /// server. Never taken from a field of the request.
    public var caller: String?

    public init(head: RPCRequestHead, body: [UInt8], peer: [UInt8], caller: String? = nil) {
        self.head = head
        self.body = body
        self.peer = peer
        self.caller = caller
    }
}

/// What a unary handler answers with, and what a unary call returns. A plain value; thread-safe.
public struct RPCResponse: Sendable, Hashable {
    /// The encoded response message.
    public var body: [UInt8]
    /// Trailing metadata (sent with the status).
    public var metadata: RPCMetadata
    /// Response (initial) metadata: sent before the response in a message of its own when not empty; a client
    /// receives it here (empty when the server sent none).
    public var initialMetadata: RPCMetadata

    public init(body: [UInt8], metadata: RPCMetadata = RPCMetadata(), initialMetadata: RPCMetadata = RPCMetadata()) {
        self.body = body
        self.metadata = metadata
        self.initialMetadata = initialMetadata
    }
}

/// A unary method's implementation: an async function of the request. Throw an ``RPCError`` to answer with its
/// status; any other error is answered INTERNAL. Called on the server's task group; must honour task cancellation
/// (the deadline passed or the client cancelled).
public typealias RPCUnaryHandler = @Sendable (RPCRequest) async throws -> RPCResponse

/// A server-streaming method's implementation: sends any number of messages through the writer, then returns the
/// trailing metadata (or throws an ``RPCError`` to end the stream with its status). ``RPCStreamWriter/send(_:)``
/// waits while the client has granted no credit, so the server never sends past it.
public typealias RPCServerStreamHandler = @Sendable (RPCRequest, RPCStreamWriter) async throws -> RPCMetadata

/// A method a server offers.
public enum RPCMethod: Sendable {
    case unary(RPCUnaryHandler)
    case serverStream(RPCServerStreamHandler)
}

/// Sends a server stream's messages. `Sendable`; used by the handler's task (one sender at a time).
public struct RPCStreamWriter: Sendable {
    let sendBody: nonisolated(nonsending) @Sendable ([UInt8]) async throws -> Void
    let sendHead: @Sendable (RPCMetadata) async throws -> Void

    init(
        sendBody: nonisolated(nonsending) @escaping @Sendable ([UInt8]) async throws -> Void,
        sendHead: @escaping @Sendable (RPCMetadata) async throws -> Void = { _ in }
    ) {
        self.sendBody = sendBody
        self.sendHead = sendHead
    }

    /// Sends one encoded message once the client's credit allows; throws `CancellationError` when the call was
    /// cancelled, its client went away or its deadline passed while waiting. Runs on the caller's executor
    /// (`nonisolated(nonsending)`): a message that needs no wait costs no executor hop.
    public nonisolated(nonsending) func send(_ body: [UInt8]) async throws {
        try await sendBody(body)
    }

    /// Sends response (initial) metadata at once, before any message (it needs no credit); the client reads it from
    /// ``RPCStream/initialMetadata``. At most once, and only before the first ``send(_:)``: later it throws an
    /// ``RPCError`` (FAILED_PRECONDITION), which ends the stream with that status unless the handler catches it.
    public func sendInitialMetadata(_ metadata: RPCMetadata) async throws {
        try await sendHead(metadata)
    }
}

/// CurveZMQ settings of a server: its secret key; clients are admitted by the ``ZAPHandler`` installed in the same
/// context.
public struct RPCServerCurve: Sendable {
    public var secretKey: [UInt8]

    public init(secretKey: [UInt8]) { self.secretKey = secretKey }
}

/// CurveZMQ settings of a client: the server's public key and the client's own key pair.
public struct RPCClientCurve: Sendable {
    public var serverPublicKey: [UInt8]
    public var publicKey: [UInt8]
    public var secretKey: [UInt8]

    public init(serverPublicKey: [UInt8], publicKey: [UInt8], secretKey: [UInt8]) {
        self.serverPublicKey = serverPublicKey
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}
