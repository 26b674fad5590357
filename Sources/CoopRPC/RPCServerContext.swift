/// What a typed handler knows about its call besides the request message. A plain value; thread-safe.
public struct RPCServerContext: Sendable {
    /// The call id the client chose.
    public var callID: UInt64
    /// Full method name, `/coop.v1.Ledger/UpdateStatus`.
    public var method: String
    /// Request metadata.
    public var metadata: RPCMetadata
    /// The remaining deadline budget when the call arrived, `nil` for none. The server enforces it: the handler's
    /// task is cancelled when it passes.
    public var timeout: Duration?
    /// The authenticated caller: the member id that the ZAP handler gave its CurveZMQ key; `nil` on a plain-text
    /// server. Never taken from a field of the request.
    public var caller: String?

    public init(
        callID: UInt64,
        method: String,
        metadata: RPCMetadata = RPCMetadata(),
        timeout: Duration? = nil,
        caller: String? = nil
    ) {
        self.callID = callID
        self.method = method
        self.metadata = metadata
        self.timeout = timeout
        self.caller = caller
    }

    /// The context of `request`.
    public init(_ request: RPCRequest) {
        self.init(
            callID: request.head.callID,
            method: request.head.method,
            metadata: request.head.metadata,
            timeout: request.head.timeoutMicroseconds.map { .microseconds(Int64(clamping: $0)) },
            caller: request.caller
        )
    }
}
