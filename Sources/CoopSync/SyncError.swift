/// Why two nodes cannot reconcile, or why one step of it failed: a code, a message that names both nodes and what
/// differs, and the underlying error if there is one. A plain value; thread-safe.
public struct SyncError: Error, Sendable, CustomStringConvertible {
    /// A kind of sync problem. Codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The peer speaks another sync protocol version.
        public static let protocolVersion = Code("PROTOCOL_VERSION")
        /// The two nodes hold different catalogs (their hashes differ).
        public static let catalogMismatch = Code("CATALOG_MISMATCH")
        /// The two nodes hold different rosters (their hashes differ).
        public static let rosterMismatch = Code("ROSTER_MISMATCH")
        /// The peer answered with another node id than the one configured for its endpoint.
        public static let wrongPeer = Code("WRONG_PEER")
        /// The peer could not be reached or a call to it failed.
        public static let unreachable = Code("UNREACHABLE")
        /// The peer sent something this node refuses (not authentic, out of order, malformed).
        public static let refused = Code("REFUSED")

        /// The reason string used on the wire (`RPCStatus.reason`).
        public var description: String { name }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?

    public init(code: Code, message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { "\(code): \(message)" }
}
