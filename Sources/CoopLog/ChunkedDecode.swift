import CoopSegments

/// Decodes log records on every core, a chunk of ``ParallelDecode/chunkSize`` at a time, and hands the results over
/// in log order (replay, the full replay on open, and the auditor).
///
/// The reading thread copies a chunk's payloads into one buffer (no allocation per record), and each record's
/// decoding is also given the payload of the record before it (so that work depending only on the two, such as the
/// local chain link, runs off the folding thread). In this module so that it is specialized for its callers' result
/// types (no generic copies of results on the folding thread). Blocks the caller; the decode closure runs on several
/// threads at once.
enum ChunkedDecode {
    /// Reads records with `read`, decodes them with `decode` in parallel on threads of its own (named
    /// `threadName-0`, `threadName-1`, …; joined before it returns), and calls `body` with each result in the order
    /// read. `read` may throw ``ParallelDecode/Stop`` to end early; any other error (from reading, decoding or `body`)
    /// stops it and is rethrown. `decode` is given a record's payload and the payload of the record read before it
    /// (`nil` for the first).
    ///
    /// The reading thread copies each chunk's payloads into one buffer (no allocation per record); while the caller
    /// reads and applies chunk k, chunk k + 1 is decoded on ``WorkerThreads``.
    ///
    /// `lookahead` is called on the caller's thread with results not yet applied: ``Lookahead/far`` records ahead
    /// with `near` false, then ``Lookahead/near`` records ahead with `near` true (for cache prefetches; results of
    /// failed decodes are skipped).
    static func forEach<T: Sendable>(
        threadName: String = "coop-decode",
        read: ((RecordPosition, UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        decode: @escaping @Sendable (RecordPosition, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> T,
        lookahead: (T, _ near: Bool) -> Void = { _, _ in },
        apply body: (RecordPosition, T) throws -> Void
    ) throws {
        try withoutActuallyEscaping(lookahead) { lookahead in
            try withoutActuallyEscaping(body) { body in
                let pipeline = ChunkPipeline<T>(threadName: threadName, decode: decode)
                var chunk = Chunk(previous: nil)
                func handOver() throws {
                    let next: Chunk
                    if let last = chunk.records.last {
                        next = chunk.bytes.withUnsafeBytes {
                            Chunk(previous: UnsafeRawBufferPointer(rebasing: $0[last.1]))
                        }
                    } else {
                        next = Chunk(previous: nil)
                    }
                    let finished = pipeline.swap(chunk)
                    chunk = next
                    for i in finished.indices {
                        if i + Lookahead.far < finished.count, case .success(let t) = finished[i + Lookahead.far].1 {
                            lookahead(t, false)
                        }
                        if i + Lookahead.near < finished.count, case .success(let t) = finished[i + Lookahead.near].1 {
                            lookahead(t, true)
                        }
                        try body(finished[i].0, try finished[i].1.get())
                    }
                    pipeline.release(finished)
                }
                defer { pipeline.close() }
                do {
                    try read { position, payload in
                        chunk.append(position, payload)
                        if chunk.records.count == ParallelDecode.chunkSize { try handOver() }
                    }
                } catch is ParallelDecode.Stop {}
                try handOver()
                try handOver()
            }
        }
    }

    /// How far ahead of the record being applied ``forEach(threadName:read:decode:lookahead:apply:)`` looks.
    enum Lookahead {
        /// Far enough for a miss to main memory to be served before the record is applied.
        static let far = 16
        /// Near enough for what the far call brought in to still be in the cache.
        static let near = 6
    }

    /// Records read, their payloads in one buffer. The buffer starts with the payload of the record read before
    /// the chunk's first, when there is one.
    struct Chunk: Sendable {
        var bytes: [UInt8] = []
        var previous: Range<Int>?
        var records: [(RecordPosition, Range<Int>)] = []

        init(previous: UnsafeRawBufferPointer?) {
            bytes.reserveCapacity(ParallelDecode.chunkSize * 320)
            records.reserveCapacity(ParallelDecode.chunkSize)
            if let previous {
                bytes.append(contentsOf: previous)
                self.previous = 0..<bytes.count
            }
        }

        mutating func append(_ position: RecordPosition, _ payload: UnsafeRawBufferPointer) {
            let start = bytes.count
            bytes.append(contentsOf: payload)
            records.append((position, start..<bytes.count))
        }
    }

    /// Chunks decoding on ``WorkerThreads`` while the caller folds, at most two at a time. Threading: one thread (the
    /// caller's) calls ``swap(_:)``, ``release(_:)`` and ``close()``. Closed by ``close()`` or, at the latest, when
    /// released.
    final class ChunkPipeline<T: Sendable> {
        private let decode: @Sendable (RecordPosition, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> T
        private let workers: WorkerThreads
        private var inFlight: [SliceResults<T>] = []
        private var closed = false

        /// Starts one thread per core, named `threadName-0`, `threadName-1`, ….
        init(
            threadName: String,
            decode: @escaping @Sendable (RecordPosition, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> T
        ) {
            self.decode = decode
            workers = WorkerThreads(name: threadName)
        }

        /// Starts decoding `next` and returns the results of the chunk given before it, once decoded (empty for the
        /// first chunk). Given an empty chunk, returns the oldest chunk still decoding.
        func swap(_ next: Chunk) -> [(RecordPosition, Result<T, any Error>)] {
            if !next.records.isEmpty {
                let results = SliceResults<T>(records: next.records.count)
                for slice in 0..<results.slices {
                    let range = results.range(of: slice)
                    workers.submit { [decode] in
                        results.put(slice, ChunkedDecode.decode(next, range, decode))
                    }
                }
                inFlight.append(results)
            }
            guard inFlight.count > 1 || (next.records.isEmpty && !inFlight.isEmpty) else { return [] }
            return inFlight.removeFirst().wait()
        }

        /// Frees `results` on one of the pool's threads, not on the caller's (the folding thread, the busiest).
        func release(_ results: consuming [(RecordPosition, Result<T, any Error>)]) {
            let results = results
            workers.submit { withExtendedLifetime(results) {} }
        }

        /// Waits for the chunks still decoding (their results are dropped) and joins the threads. Closing again
        /// does nothing.
        func close() {
            guard !closed else { return }
            closed = true
            inFlight = []
            workers.close()
        }

        deinit { close() }
    }

    /// Decodes the records `range` of `chunk`.
    static func decode<T: Sendable>(
        _ chunk: Chunk,
        _ range: Range<Int>,
        _ decode: @Sendable (RecordPosition, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> T
    ) -> [(RecordPosition, Result<T, any Error>)] {
        var out: [(RecordPosition, Result<T, any Error>)] = []
        out.reserveCapacity(range.count)
        chunk.bytes.withUnsafeBytes { bytes in
            for k in range {
                let (position, at) = chunk.records[k]
                let before = k > 0 ? chunk.records[k - 1].1 : chunk.previous
                let payload = UnsafeRawBufferPointer(rebasing: bytes[at])
                let previous = before.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }
                out.append((position, Result { try decode(position, payload, previous) }))
            }
        }
        return out
    }
}
