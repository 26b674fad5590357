/// A message of the CoopLedger schema (`proto/coop/v1`), as a Swift value.
///
/// Values are immutable data and `Sendable`; encoding and decoding are pure functions that any thread may
/// call. Encoding goes through protobuf-c, so the bytes are what any protobuf implementation reads.
public protocol WireMessage: Sendable, Hashable {
    /// Full name of the message type, e.g. `coop.v1.SignedEntry`.
    static var protoName: String { get }

    /// A message with every field at its zero value.
    init()

    /// Decodes a message from its protobuf encoding.
    ///
    /// Unknown fields are skipped (forward compatibility); anything else that is not a valid encoding throws
    /// a ``WireError`` naming the problem.
    init(wireBytes: UnsafeRawBufferPointer) throws

    /// The protobuf encoding (deterministic: fields in field-number order, as protobuf-c writes them).
    ///
    /// Strings must not contain NUL: protobuf-c ends strings there, so the encoding would hold only the text
    /// before it. Callers that take text from people check it first (``WireText/problem(_:)``); decoding
    /// refuses such strings.
    func wireBytes() -> [UInt8]
}

extension WireMessage {
    /// Decodes a message from its protobuf encoding.
    public init(wireBytes bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try Self(wireBytes: $0) }
    }

    /// Decodes a message from a slice of an encoding.
    public init(wireBytes bytes: ArraySlice<UInt8>) throws {
        self = try bytes.withUnsafeBytes { try Self(wireBytes: $0) }
    }
}

/// An enum of the CoopLedger schema.
public protocol WireEnum: RawRepresentable, Sendable, Hashable, CaseIterable where RawValue == Int32 {
    /// Full name of the enum type, e.g. `coop.v1.ItemStatus`.
    static var protoName: String { get }
    /// The value's name in the `.proto` file, e.g. `ITEM_STATUS_COMPLETED`.
    var protoValueName: String { get }
}

/// Rules for text that goes into string fields.
public enum WireText {
    /// Why `text` cannot be carried in a string field, or `nil`.
    public static func problem(_ text: String) -> String? {
        text.utf8.contains(0) ? "text contains a NUL character" : nil
    }
}
