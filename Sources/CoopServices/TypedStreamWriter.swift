public import CoopRPC
public import CoopWire

/// Sends the typed messages of a server stream. `Sendable`; used by the handler's task.
public struct TypedStreamWriter<Message: WireMessage>: Sendable {
    let base: RPCStreamWriter

    public init(_ base: RPCStreamWriter) { self.base = base }

    /// Sends `message` once the client's credit allows; throws `CancellationError` when the call was cancelled, its
    /// deadline passed or the client went away while waiting.
    public func send(_ message: Message) async throws {
        try await base.send(message.wireBytes())
    }
}
