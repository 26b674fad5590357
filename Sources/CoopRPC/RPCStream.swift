/// The messages of a server stream, as a client reads them; grants the server more credit as they are consumed.
///
/// **Threading.** One consumer iterates it (like any `AsyncSequence` iterator); it is `Sendable` so that it may be
/// handed to that consumer. ``initialMetadata`` may be awaited from any task, also while another iterates.
public struct RPCStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    let consumer: RPCStreamBuffer.Consumer
    let credit: UInt32
    let grant: @Sendable (UInt32) -> Void
    let head: RPCMetadataPromise

    init(
        buffer: RPCStreamBuffer,
        credit: UInt32,
        head: RPCMetadataPromise,
        grant: @escaping @Sendable (UInt32) -> Void
    ) {
        self.consumer = RPCStreamBuffer.Consumer(buffer)
        self.credit = credit
        self.head = head
        self.grant = grant
    }

    /// The response (initial) metadata the server sent before its first message: empty when it sent none. Known once
    /// the call's first message (of any kind) arrives; throws the call's ``RPCError`` when the call failed before
    /// (for example UNIMPLEMENTED, or UNAVAILABLE), CANCELLED when the waiting task is cancelled.
    public var initialMetadata: RPCMetadata {
        get async throws(RPCError) { try await head.value() }
    }

    /// Messages received and not consumed yet (for tests: never more than the credit granted).
    package var buffered: Int { consumer.buffer.count }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: RPCStreamBuffer.Consumer
        let half: UInt32
        let grant: @Sendable (UInt32) -> Void
        var consumed: UInt32 = 0

        /// The next message, `nil` at the end of an OK stream; throws the call's ``RPCError`` otherwise. Runs on the
        /// caller's executor (`nonisolated(nonsending)`): a message already here costs no executor hop.
        public nonisolated(nonsending) mutating func next() async throws -> [UInt8]? {
            guard let message = try await consumer.buffer.next() else { return nil }
            consumed += 1
            if consumed == half {
                consumed = 0
                grant(half)
            }
            return message
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: consumer, half: Swift.max(1, credit / 2), grant: grant)
    }
}
