public import CoopRPC
public import CoopWire

/// Sends the typed messages of a server stream. `Sendable`; used by the handler's task.
public struct TypedStreamWriter<Message: WireMessage>: Sendable {
    let base: RPCStreamWriter

    public init(_ base: RPCStreamWriter) { self.base = base }

    /// Sends `message` once the client's credit allows; throws `CancellationError` when the call was cancelled, its
    /// deadline passed or the client went away while waiting. On the caller's executor, as ``RPCStreamWriter/send(_:)``.
    public nonisolated(nonsending) func send(_ message: Message) async throws {
        try await base.send(message.wireBytes())
    }

    /// Sends bytes that are already a valid encoding of `Message` (the caller's responsibility: a handler that
    /// holds a message's encoding, or can build it from stored bytes, skips decoding and encoding it again). Waits
    /// for credit as ``send(_:)`` does.
    public nonisolated(nonsending) func send(encoded bytes: [UInt8]) async throws {
        try await base.send(bytes)
    }
}
