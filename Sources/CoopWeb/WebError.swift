public import Hummingbird

/// Every error of the HTTP listener: a bad request (unknown item in the URL, a query parameter that is unknown or
/// has a bad value), an address that cannot be bound, or a node part that failed while answering. Thrown from a
/// handler it becomes a plain-text response with its status and message; nothing a client sends crashes the node.
/// A value; thread-safe.
public struct WebError: Error, CustomStringConvertible, HTTPResponseError {
    /// What went wrong, as a code that can grow.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Hashable, Sendable {
            case badRequest = "bad request"
            case notFound = "not found"
            case bind = "cannot listen"
            case unavailable = "unavailable"
            case internalError = "internal error"
        }

        private let kind: Kind
        private init(_ kind: Kind) { self.kind = kind }

        /// A query parameter that is unknown or has a bad value (400).
        public static let badRequest = Code(.badRequest)
        /// An unknown item or path (404).
        public static let notFound = Code(.notFound)
        /// The listen address cannot be bound.
        public static let bind = Code(.bind)
        /// The node is not ready or is draining (503).
        public static let unavailable = Code(.unavailable)
        /// Reading the node failed (500).
        public static let internalError = Code(.internalError)

        public var description: String { kind.rawValue }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?
    /// Seconds after which the client may try again (`Retry-After`), for ``Code/unavailable``.
    public var retryAfter: Int?

    public init(code: Code, message: String, cause: (any Error)? = nil, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code): \(message)" }

    public var status: HTTPResponse.Status {
        switch code {
        case .badRequest: .badRequest
        case .notFound: .notFound
        case .unavailable: .serviceUnavailable
        default: .internalServerError
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(
            status: status,
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: "\(status.code) \(code): \(message)\n"))
        )
    }
}
