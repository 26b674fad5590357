public import CoopWire

/// A call's outcome as the caller sees it: gRPC's canonical code (with gRPC's numbers), a message for a person and a
/// machine-readable reason. A plain value; thread-safe.
public struct RPCStatus: Sendable, Hashable, CustomStringConvertible {
    /// gRPC's canonical status codes. A struct, so that unknown numbers from a newer peer survive a round trip.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// gRPC's number for the code.
        public let rawValue: Int32

        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let ok = Code(rawValue: 0)
        public static let cancelled = Code(rawValue: 1)
        public static let unknown = Code(rawValue: 2)
        public static let invalidArgument = Code(rawValue: 3)
        public static let deadlineExceeded = Code(rawValue: 4)
        public static let notFound = Code(rawValue: 5)
        public static let alreadyExists = Code(rawValue: 6)
        public static let permissionDenied = Code(rawValue: 7)
        public static let resourceExhausted = Code(rawValue: 8)
        public static let failedPrecondition = Code(rawValue: 9)
        public static let aborted = Code(rawValue: 10)
        public static let outOfRange = Code(rawValue: 11)
        public static let unimplemented = Code(rawValue: 12)
        public static let `internal` = Code(rawValue: 13)
        public static let unavailable = Code(rawValue: 14)
        public static let dataLoss = Code(rawValue: 15)
        public static let unauthenticated = Code(rawValue: 16)

        /// gRPC's name, `DEADLINE_EXCEEDED`, or `CODE_<n>` for a number gRPC does not define.
        public var description: String {
            guard let known = StatusCode(rawValue: rawValue) else { return "CODE_\(rawValue)" }
            return String(known.protoValueName.dropFirst("STATUS_CODE_".count))
        }
    }

    public var code: Code
    /// What went wrong, naming the problem; empty for OK.
    public var message: String
    /// UPPER_SNAKE_CASE reason that tells apart failures sharing a code (``RPCReason``); empty when none.
    public var reason: String

    public init(code: Code, message: String = "", reason: String = "") {
        self.code = code
        self.message = message
        self.reason = reason
    }

    /// OK, with no message.
    public static let ok = RPCStatus(code: .ok)

    public var isOK: Bool { code == .ok }

    public var description: String {
        let why = reason.isEmpty ? "" : " [\(reason)]"
        return message.isEmpty ? "\(code)\(why)" : "\(code)\(why): \(message)"
    }

    /// The wire form (`coop.v1.Status`). A code number unknown to this build is carried as UNKNOWN.
    public var wire: Status {
        Status(code: StatusCode(rawValue: code.rawValue) ?? .unknown, message: message, reason: reason)
    }

    public init(wire: Status) {
        self.init(code: Code(rawValue: wire.code.rawValue), message: wire.message, reason: wire.reason)
    }
}

/// Reasons the RPC layer itself gives, so callers can tell apart failures that share a code (`MESSAGE_TOO_LARGE` and
/// `OVERLOADED` are both RESOURCE_EXHAUSTED). Services add their own (`CATALOG_MISMATCH`, …).
public enum RPCReason {
    /// A message is over the size limit (RESOURCE_EXHAUSTED).
    public static let messageTooLarge = "MESSAGE_TOO_LARGE"
    /// Too many calls in flight, for the server or for this caller (RESOURCE_EXHAUSTED).
    public static let overloaded = "OVERLOADED"
    /// The first frame is not this protocol's tag, or names a version this server does not speak (UNIMPLEMENTED).
    public static let protocolVersion = "PROTOCOL_VERSION"
    /// The frames do not form a message of this protocol: wrong count, undecodable header (INVALID_ARGUMENT).
    public static let malformedFrame = "MALFORMED_FRAME"
    /// The request body does not decode as the method's request type (INVALID_ARGUMENT).
    public static let malformedRequest = "MALFORMED_REQUEST"
    /// No such service or method (UNIMPLEMENTED).
    public static let unknownMethod = "UNKNOWN_METHOD"
    /// A call id already in flight from this caller (ALREADY_EXISTS).
    public static let duplicateCallID = "DUPLICATE_CALL_ID"
    /// Credit or cancel for a call that is not in flight (NOT_FOUND).
    public static let unknownCall = "UNKNOWN_CALL"
    /// The deadline passed before the answer (DEADLINE_EXCEEDED).
    public static let deadlineExceeded = "DEADLINE_EXCEEDED"
    /// The caller's key is not in the roster, or the handshake failed (UNAUTHENTICATED).
    public static let unauthenticated = "UNAUTHENTICATED"
    /// The caller's role may not call this method (PERMISSION_DENIED).
    public static let permissionDenied = "PERMISSION_DENIED"
    /// The server went away or cannot be reached (UNAVAILABLE).
    public static let unavailable = "UNAVAILABLE"
    /// (Client side) the server sent a stream message past the credit the client granted, a flow-control violation
    /// (INTERNAL): the client ends the call and cancels it on the server.
    public static let creditExceeded = "CREDIT_EXCEEDED"
}
