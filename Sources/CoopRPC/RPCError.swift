/// The error CoopRPC throws: a call that did not end OK, or a frame that is not one of this protocol.
///
/// A plain value; thread-safe. `code` and `reason` are what a program switches on; `message` names the problem for a
/// person; `cause` carries an underlying error (a ZeroMQ or wire error) where there is one.
public struct RPCError: Error, Sendable, CustomStringConvertible {
    public var code: RPCStatus.Code
    public var message: String
    /// An ``RPCReason`` or a service's own reason; empty when none.
    public var reason: String
    /// Trailing metadata the server sent with the status.
    public var metadata: RPCMetadata
    public var cause: (any Error & Sendable)?

    public init(
        code: RPCStatus.Code,
        message: String,
        reason: String = "",
        metadata: RPCMetadata = RPCMetadata(),
        cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = metadata
        self.cause = cause
    }

    /// The error a non-OK status stands for.
    public init(status: RPCStatus, metadata: RPCMetadata = RPCMetadata()) {
        self.init(code: status.code, message: status.message, reason: status.reason, metadata: metadata)
    }

    /// The status a server answers with for this error.
    public var status: RPCStatus { RPCStatus(code: code, message: message, reason: reason) }

    public var description: String { status.description }
}
