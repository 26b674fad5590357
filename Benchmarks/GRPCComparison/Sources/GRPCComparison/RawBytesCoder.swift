import GRPCCore

/// Messages as plain bytes: the serializer copies them into the transport's buffer and the deserializer out of it,
/// as a generated protobuf message's `serializedBytes()` and `init(serializedBytes:)` would, minus the protobuf
/// encoding itself (the CoopRPC side sends opaque bytes too). A plain value; thread-safe.
struct RawBytesCoder: MessageSerializer, MessageDeserializer {
    typealias Message = [UInt8]

    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }

    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
