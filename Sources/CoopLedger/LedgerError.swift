/// The error CoopLedger throws: invalid reference data (catalog, roster) and refused ledger operations.
///
/// `message` names the file and the item, member or line where known.
public struct LedgerError: Error, Sendable, CustomStringConvertible {
    /// A kind of ledger problem. Codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case io
            case invalidCatalog
            case invalidRoster
            case mismatch
            case invalidTransition
            case notParticipant
            case unknownItem
            case invalidArgument
            case resourceExhausted
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// A file could not be read.
        public static let io = Code(.io)
        /// The catalog file is not valid.
        public static let invalidCatalog = Code(.invalidCatalog)
        /// The roster file is not valid.
        public static let invalidRoster = Code(.invalidRoster)
        /// Catalog, roster or log do not belong together.
        public static let mismatch = Code(.mismatch)
        /// A life-cycle transition the rules do not allow.
        public static let invalidTransition = Code(.invalidTransition)
        /// The writer does not take part in the item.
        public static let notParticipant = Code(.notParticipant)
        /// No item of that id.
        public static let unknownItem = Code(.unknownItem)
        /// A value out of range or malformed.
        public static let invalidArgument = Code(.invalidArgument)
        /// A bounded resource ran out (the hybrid clock's counter within one millisecond); try again later.
        public static let resourceExhausted = Code(.resourceExhausted)

        public var description: String {
            switch wrapped {
            case .io: "io"
            case .invalidCatalog: "invalidCatalog"
            case .invalidRoster: "invalidRoster"
            case .mismatch: "mismatch"
            case .invalidTransition: "invalidTransition"
            case .notParticipant: "notParticipant"
            case .unknownItem: "unknownItem"
            case .invalidArgument: "invalidArgument"
            case .resourceExhausted: "resourceExhausted"
            }
        }
    }

    /// What kind of problem.
    public var code: Code
    /// What went wrong and where.
    public var message: String
    /// The underlying error, if any.
    public var cause: (any Error & Sendable)?

    public init(code: Code, message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
