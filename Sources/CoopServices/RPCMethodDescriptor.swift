/// One method of a service in `proto/`: what generated servers and clients route and call by. A plain value;
/// thread-safe.
public struct RPCMethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// Full service name, `coop.v1.Ledger`.
    public var service: String
    /// Method name, `UpdateStatus`.
    public var method: String
    /// Full name of the request message, `coop.v1.UpdateStatusRequest`.
    public var inputType: String
    /// Full name of the response message.
    public var outputType: String
    /// Whether the server answers with a stream of messages.
    public var isServerStreaming: Bool
    /// Whether `proto/` marks the method `idempotency_level = NO_SIDE_EFFECTS` or `IDEMPOTENT`: a second attempt
    /// cannot repeat a side effect, so clients may retry it.
    public var isIdempotent: Bool

    public init(
        service: String,
        method: String,
        inputType: String,
        outputType: String,
        isServerStreaming: Bool,
        isIdempotent: Bool
    ) {
        self.service = service
        self.method = method
        self.inputType = inputType
        self.outputType = outputType
        self.isServerStreaming = isServerStreaming
        self.isIdempotent = isIdempotent
    }

    /// The name on the wire, `/coop.v1.Ledger/UpdateStatus`.
    public var fullName: String { "/\(service)/\(method)" }

    public var description: String { fullName }
}
