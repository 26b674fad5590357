/// The error every CoopWire operation throws.
///
/// `code` says what kind of problem it is (codes may be added; switch with a `default`), `message` names the
/// message type, field and byte offset or JSON line where that is known, so a person can act on it.
public struct WireError: Error, Sendable, CustomStringConvertible {
    /// A kind of wire problem.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case malformed
            case invalidUTF8
            case unknownEnumValue
            case unknownMessageType
            case invalidJSON
            case jsonMapping
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The bytes are not a valid protobuf encoding of the expected message (truncated, bad wire type, a
        /// length past the end, …).
        public static let malformed = Code(.malformed)
        /// A string field holds bytes that are not UTF-8.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// An enum field holds a number the schema does not define.
        public static let unknownEnumValue = Code(.unknownEnumValue)
        /// No message type of that full name exists in proto/coop/v1.
        public static let unknownMessageType = Code(.unknownMessageType)
        /// The input is not JSON (syntax error; the message gives line and column).
        public static let invalidJSON = Code(.invalidJSON)
        /// The JSON does not fit the message type (unknown field, wrong value type, out of range, …).
        public static let jsonMapping = Code(.jsonMapping)

        public var description: String {
            switch wrapped {
            case .malformed: "malformed"
            case .invalidUTF8: "invalidUTF8"
            case .unknownEnumValue: "unknownEnumValue"
            case .unknownMessageType: "unknownMessageType"
            case .invalidJSON: "invalidJSON"
            case .jsonMapping: "jsonMapping"
            }
        }
    }

    /// What kind of problem.
    public var code: Code
    /// What went wrong, naming the message type, field and position.
    public var message: String
    /// The underlying error, if any.
    public var cause: (any Error & Sendable)?

    public init(code: Code, message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { "\(code): \(message)" }
}
