internal import CZeroMQ

/// The error every CoopZMQ operation throws.
///
/// A plain value; safe to pass between threads. `code` says what kind of problem it is (codes may be added; switch
/// with a `default`); `message` names the failing libzmq call, the endpoint or option where known, and libzmq's
/// own text (`zmq_strerror`); `errno` is the raw `zmq_errno()` read on the failing thread right after the call.
public struct ZMQError: Error, Sendable, CustomStringConvertible {
    /// A kind of ZeroMQ problem.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case invalidArgument
            case addressInUse
            case addressNotAvailable
            case protocolNotSupported
            case terminated
            case hostUnreachable
            case messageTooLarge
            case closed
            case system
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// An option, endpoint or argument libzmq refused (`EINVAL`).
        public static let invalidArgument = Code(.invalidArgument)
        /// The endpoint is already bound (`EADDRINUSE`).
        public static let addressInUse = Code(.addressInUse)
        /// The endpoint's address is not local or does not exist (`EADDRNOTAVAIL`, `ENODEV`).
        public static let addressNotAvailable = Code(.addressNotAvailable)
        /// The endpoint's transport is unknown or not compiled in (`EPROTONOSUPPORT`).
        public static let protocolNotSupported = Code(.protocolNotSupported)
        /// The context was terminated (`ETERM`).
        public static let terminated = Code(.terminated)
        /// A ROUTER could not route to the peer identity given (`EHOSTUNREACH`).
        public static let hostUnreachable = Code(.hostUnreachable)
        /// A message over a limit (`EMSGSIZE`).
        public static let messageTooLarge = Code(.messageTooLarge)
        /// The socket or reactor was closed.
        public static let closed = Code(.closed)
        /// Any other failure of a system or libzmq call; `errno` says which.
        public static let system = Code(.system)

        static func from(errno code: Int32) -> Code {
            switch code {
            case EINVAL: .invalidArgument
            case EADDRINUSE: .addressInUse
            case EADDRNOTAVAIL, ENODEV: .addressNotAvailable
            case EPROTONOSUPPORT: .protocolNotSupported
            case ETERM: .terminated
            case EHOSTUNREACH: .hostUnreachable
            case EMSGSIZE: .messageTooLarge
            default: .system
            }
        }

        public var description: String {
            switch wrapped {
            case .invalidArgument: "invalidArgument"
            case .addressInUse: "addressInUse"
            case .addressNotAvailable: "addressNotAvailable"
            case .protocolNotSupported: "protocolNotSupported"
            case .terminated: "terminated"
            case .hostUnreachable: "hostUnreachable"
            case .messageTooLarge: "messageTooLarge"
            case .closed: "closed"
            case .system: "system"
            }
        }
    }

    /// What kind of problem.
    public var code: Code
    /// What failed and why, for a person.
    public var message: String
    /// The failing call (`zmq_bind`, `zmq_setsockopt(ZMQ_CURVE_SERVER)`, …), if one failed.
    public var call: String?
    /// `zmq_errno()` right after the failing call, if one failed.
    public var errno: Int32?
    /// An underlying error, if any.
    public var cause: (any Error & Sendable)?

    public init(
        code: Code,
        message: String,
        call: String? = nil,
        errno: Int32? = nil,
        cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.call = call
        self.errno = errno
        self.cause = cause
    }

    public var description: String { "\(code): \(message)" }

    /// The error of the libzmq call `call` that just failed on this thread; `detail` names what it was about.
    static func last(_ call: String, _ detail: String? = nil) -> ZMQError {
        lastError(call, detail, errno: zmq_errno())
    }

    static func lastError(_ call: String, _ detail: String?, errno code: Int32) -> ZMQError {
        let text = String(cString: zmq_strerror(code))
        let subject = detail.map { " (\($0))" } ?? ""
        return ZMQError(
            code: .from(errno: code),
            message: "\(call)\(subject) failed: \(text) (errno \(code))",
            call: call,
            errno: code
        )
    }
}
