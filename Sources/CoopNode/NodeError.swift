/// The error the node throws while it starts, runs and stops: a bad configuration file, files it cannot read, a
/// data directory another process holds. `message` names the file, line and key where known, and says what to do.
public struct NodeError: Error, Sendable, CustomStringConvertible {
    /// A kind of node problem. Codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case config
            case io
            case keys
            case dataDirectoryHeld
            case endpoint
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The configuration file is not valid TOML, lacks a key, or has a wrong or unknown key or value.
        public static let config = Code(.config)
        /// A file named by the configuration cannot be read (catalog, roster), or the log cannot be opened.
        public static let io = Code(.io)
        /// The node's key files are missing, unreadable, or not the keys the roster lists for the node.
        public static let keys = Code(.keys)
        /// Another process has the data directory open.
        public static let dataDirectoryHeld = Code(.dataDirectoryHeld)
        /// The listen endpoint cannot be bound.
        public static let endpoint = Code(.endpoint)

        public var description: String {
            switch wrapped {
            case .config: "config"
            case .io: "io"
            case .keys: "keys"
            case .dataDirectoryHeld: "dataDirectoryHeld"
            case .endpoint: "endpoint"
            }
        }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error & Sendable)?

    public init(code: Code, message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
