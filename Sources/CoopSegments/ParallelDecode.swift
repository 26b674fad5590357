/// The sizes and signals shared by the readers that decode log records on every core, a chunk at a time, and hand
/// the results over in log order (CoopLog's `ChunkedDecode`, on ``WorkerThreads``).
///
/// Decoding entries (protobuf-c unpacks, SHA-256 ids, signature checks) is independent per record and is most of a
/// replay's or an audit's work; folding the results (chains, the view) must stay in order on one thread.
package enum ParallelDecode {
    package static let chunkSize = 4096
    /// Records per piece of work given to a thread: small enough that the threads finish a chunk together, large
    /// enough that handing work over costs nothing next to it.
    package static let sliceSize = 64

    /// Thrown by `read`'s caller-side closure to stop reading: what was read so far is still decoded and handed
    /// over, and the caller returns normally.
    package struct Stop: Error {
        package init() {}
    }
}
