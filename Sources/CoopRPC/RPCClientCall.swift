/// One unary call as a client interceptor sees it. A plain value.
public struct RPCClientCall: Sendable {
    /// Full method name, `/coop.v1.Ledger/UpdateStatus`.
    public var method: String
    /// The encoded request message.
    public var request: [UInt8]
    /// Deadline, metadata, idempotency.
    public var options: RPCCallOptions

    public init(method: String, request: [UInt8], options: RPCCallOptions) {
        self.method = method
        self.request = request
        self.options = options
    }
}
