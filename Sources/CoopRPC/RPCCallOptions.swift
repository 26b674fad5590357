/// How one call is made: its deadline, request metadata, stream credit and whether it may be retried. A plain value;
/// thread-safe.
///
/// Generated clients (`CoopServices`) pass one per call; ``isIdempotent`` defaults from the method's
/// `idempotency_level` in `proto/`.
public struct RPCCallOptions: Sendable {
    /// The call's deadline, from when it starts; `nil`: none (the call waits for its answer).
    public var timeout: Duration?
    /// Request metadata.
    public var metadata: RPCMetadata
    /// Server streams: messages the server may send ahead of the consumer.
    public var credit: UInt32
    /// Whether the call has no side effect that a second attempt could repeat, so that the client may retry it
    /// after an UNAVAILABLE answer (the server could not be reached or went away).
    public var isIdempotent: Bool

    public init(
        timeout: Duration? = nil,
        metadata: RPCMetadata = RPCMetadata(),
        credit: UInt32 = 32,
        isIdempotent: Bool = false
    ) {
        self.timeout = timeout
        self.metadata = metadata
        self.credit = credit
        self.isIdempotent = isIdempotent
    }
}

extension RPCClient {
    /// Calls a unary `method` with the given options; see ``unary(_:_:timeout:metadata:)``.
    public func unary(
        _ method: String,
        _ request: [UInt8],
        options: RPCCallOptions
    ) async throws(RPCError)
        -> RPCResponse
    {
        try await unary(method, request, timeout: options.timeout, metadata: options.metadata)
    }

    /// Calls a server-streaming `method` with the given options; see ``serverStream(_:_:timeout:credit:metadata:)``.
    public func serverStream(
        _ method: String,
        _ request: [UInt8],
        options: RPCCallOptions
    ) throws(RPCError)
        -> RPCStream
    {
        try serverStream(
            method,
            request,
            timeout: options.timeout,
            credit: options.credit,
            metadata: options.metadata
        )
    }
}
