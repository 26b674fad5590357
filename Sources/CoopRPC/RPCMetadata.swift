public import CoopWire

/// Request, response or trailing metadata: ordered key/value pairs like gRPC's headers.
///
/// A plain value; thread-safe. Keys are lower-case ASCII letters, digits and `-_.`; keys ending in `-bin` carry bytes,
/// others text. A key may repeat; order is kept.
public struct RPCMetadata: Sendable, Hashable, Sequence {
    /// One pair's value.
    public enum Value: Sendable, Hashable {
        case text(String)
        case binary([UInt8])
    }

    public private(set) var pairs: [(key: String, value: Value)] = []

    public init() {}

    /// Most pairs and bytes accepted from a peer; past them the message is refused (RESOURCE_EXHAUSTED).
    public static let maxPairs = 64
    public static let maxBytes = 8 << 10

    /// Adds a pair; throws INVALID_ARGUMENT for a malformed key, or a value whose kind does not fit the key.
    public mutating func add(_ key: String, _ value: Value) throws(RPCError) {
        if let problem = Self.problem(key: key, value: value) {
            throw RPCError(code: .invalidArgument, message: problem, reason: RPCReason.malformedFrame)
        }
        pairs.append((key, value))
    }

    /// Adds a text pair (see ``add(_:_:)``).
    public mutating func add(_ key: String, _ text: String) throws(RPCError) {
        try add(key, .text(text))
    }

    /// The first text value of `key`.
    public subscript(key: String) -> String? {
        for pair in pairs where pair.key == key {
            if case .text(let text) = pair.value { return text }
        }
        return nil
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: Value)]> {
        pairs.makeIterator()
    }

    public var isEmpty: Bool { pairs.isEmpty }

    public static func == (lhs: RPCMetadata, rhs: RPCMetadata) -> Bool {
        lhs.pairs.elementsEqual(rhs.pairs) { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for pair in pairs {
            hasher.combine(pair.key)
            hasher.combine(pair.value)
        }
    }

    static func problem(key: String, value: Value) -> String? {
        guard !key.isEmpty, key.utf8.count <= 256 else { return "metadata key \"\(key.prefix(40))\" is empty or long" }
        let allowed = key.utf8.allSatisfy {
            ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E
        }
        guard allowed else {
            return "metadata key \"\(key.prefix(40))\" is not lower-case ASCII letters, digits and -_."
        }
        switch value {
        case .binary where !key.hasSuffix("-bin"):
            return "metadata key \"\(key)\" carries bytes but does not end in -bin"
        case .text(let text) where key.hasSuffix("-bin"):
            return "metadata key \"\(key)\" ends in -bin but carries text (\(text.utf8.count) bytes)"
        case .text(let text) where text.utf8.contains(0):
            return "metadata value of \"\(key)\" contains NUL"
        default:
            return nil
        }
    }

    /// The wire form.
    public var wire: [MetadataEntry] {
        pairs.map { pair in
            switch pair.value {
            case .text(let text): MetadataEntry(key: pair.key, value: text)
            case .binary(let bytes): MetadataEntry(key: pair.key, binaryValue: bytes)
            }
        }
    }

    /// Metadata from the wire; throws for a malformed pair or more than the limits.
    public init(wire entries: [MetadataEntry]) throws(RPCError) {
        guard entries.count <= Self.maxPairs else {
            throw RPCError(
                code: .resourceExhausted,
                message: "\(entries.count) metadata pairs; the limit is \(Self.maxPairs)",
                reason: RPCReason.messageTooLarge
            )
        }
        var bytes = 0
        for entry in entries {
            bytes += entry.key.utf8.count + entry.value.utf8.count + entry.binaryValue.count
            if entry.key.hasSuffix("-bin") {
                guard entry.value.isEmpty else {
                    throw RPCError(
                        code: .invalidArgument,
                        message: "metadata key \"\(entry.key)\" ends in -bin but carries text",
                        reason: RPCReason.malformedFrame
                    )
                }
                try add(entry.key, .binary(entry.binaryValue))
            } else {
                guard entry.binaryValue.isEmpty else {
                    throw RPCError(
                        code: .invalidArgument,
                        message: "metadata key \"\(entry.key)\" carries bytes but does not end in -bin",
                        reason: RPCReason.malformedFrame
                    )
                }
                try add(entry.key, .text(entry.value))
            }
        }
        guard bytes <= Self.maxBytes else {
            throw RPCError(
                code: .resourceExhausted,
                message: "\(bytes) bytes of metadata; the limit is \(Self.maxBytes)",
                reason: RPCReason.messageTooLarge
            )
        }
    }
}
