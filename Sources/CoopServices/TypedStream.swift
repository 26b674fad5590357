public import CoopRPC
public import CoopWire

/// The typed messages of a server stream, as a client reads them; grants the server more credit as they are
/// consumed (see `RPCStream`).
///
/// **Threading.** One consumer iterates it; it is `Sendable` so that it may be handed to that consumer.
public struct TypedStream<Message: WireMessage>: AsyncSequence, Sendable {
    public typealias Element = Message

    /// The untyped stream underneath.
    public let base: RPCStream
    let descriptor: RPCMethodDescriptor

    public init(_ base: RPCStream, descriptor: RPCMethodDescriptor) {
        self.base = base
        self.descriptor = descriptor
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: RPCStream.AsyncIterator
        let descriptor: RPCMethodDescriptor

        /// The next message, `nil` at the end of an OK stream; throws the call's `RPCError` otherwise, or INTERNAL
        /// (`MALFORMED_RESPONSE`) when a message does not decode as the method's response type. On the caller's
        /// executor, as ``RPCStream/AsyncIterator/next()``.
        public nonisolated(nonsending) mutating func next() async throws -> Message? {
            guard let bytes = try await base.next() else { return nil }
            return try ServiceCall.decodeResponse(bytes, for: descriptor)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), descriptor: descriptor)
    }
}
