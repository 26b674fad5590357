/// How one call is made: its deadline, request metadata, stream credit and batches, and whether it may be retried. A plain value;
/// thread-safe.
///
/// Generated clients (`CoopServices`) pass one per call; ``isIdempotent`` defaults from the method's
/// `idempotency_level` in `proto/`.
public struct RPCCallOptions: Sendable {
    /// The call's deadline, from when it starts; `nil`: none (the call waits for its answer).
    public var timeout: Duration?
    /// Request metadata.
    public var metadata: RPCMetadata
    /// Server streams: messages the server may send ahead of the consumer.
    public var credit: UInt32
    /// Server streams: the most messages the client takes in one server message (docs/PROTOCOL.md, "Batches"); 1:
    /// one per message.
    public var batch: UInt32
    /// Server streams with a ``batch``: whether the server may pack a batch into one frame (docs/PROTOCOL.md,
    /// "Packed batches"); `false`: one frame per message.
    public var packed: Bool
    /// Whether the call has no side effect that a second attempt could repeat, so that the client may retry it
    /// after an UNAVAILABLE answer (the server could not be reached or went away), as its ``RPCRetryPolicy`` allows.
    /// Unary calls only; a call that is not idempotent is never retried.
    public var isIdempotent: Bool

    public init(
        timeout: Duration? = nil,
        metadata: RPCMetadata = RPCMetadata(),
        credit: UInt32 = 32,
        batch: UInt32 = RPCClient.streamBatch,
        packed: Bool = true,
        isIdempotent: Bool = false
    ) {
        self.timeout = timeout
        self.metadata = metadata
        self.credit = credit
        self.batch = batch
        self.packed = packed
        self.isIdempotent = isIdempotent
    }
}
