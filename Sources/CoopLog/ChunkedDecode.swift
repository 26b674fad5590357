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
    /// `key` is worked out on the decoding threads for each successful result; `lookahead` is called on the caller's
    /// thread with the keys of results not yet applied: ``Lookahead/far`` records ahead with `near` false, then
    /// ``Lookahead/near`` records ahead with `near` true (for cache prefetches; records without a key are skipped).
    /// Keys are plain bytes, so looking ahead retains nothing.
    static func forEach<T: Sendable, K: BitwiseCopyable & Sendable>(
        threadName: String = "coop-decode",
        read: ((RecordPosition, UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        decode: @escaping @Sendable (RecordPosition, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> T,
        key: @escaping @Sendable (T) -> K?,
        lookahead: (K, _ near: Bool) -> Void,
        apply body: (RecordPosition, T) throws -> Void
    ) throws {
        try withoutActuallyEscaping(lookahead) { lookahead in
            try withoutActuallyEscaping(body) { body in
                let pipeline = ChunkPipeline<T, K>(threadName: threadName, decode: decode, key: key)
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
                    let size = ParallelDecode.sliceSize
                    let count = finished.last.map { (finished.count - 1) * size + $0.keys.count } ?? 0
                    func key(_ i: Int) -> K? { i < count ? finished[i / size].keys[i % size] : nil }
                    for (s, slice) in finished.enumerated() {
                        for j in slice.results.indices {
                            let i = s * size + j
                            if let k = key(i + Lookahead.far) { lookahead(k, false) }
                            if let k = key(i + Lookahead.near) { lookahead(k, true) }
                            switch slice.results[j].1 {
                            case .success(let t): try body(slice.results[j].0, t)
                            case .failure(let error): throw error
                            }
                        }
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

    /// ``forEach(threadName:read:decode:key:lookahead:apply:)`` without looking ahead.
    static func forEach<T: Sendable>(
        threadName: String = "coop-decode",
        read: ((RecordPosition, UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        decode: @escaping @Sendable (RecordPosition, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> T,
        apply body: (RecordPosition, T) throws -> Void
    ) throws {
        try forEach(
            threadName: threadName,
            read: read,
            decode: decode,
            key: { _ -> UInt8? in nil },
            lookahead: { _, _ in },
            apply: body
        )
    }

    /// How far ahead of the record being applied ``forEach(threadName:read:decode:key:lookahead:apply:)`` looks.
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
    final class ChunkPipeline<T: Sendable, K: BitwiseCopyable & Sendable> {
        private let decode: @Sendable (RecordPosition, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> T
        private let key: @Sendable (T) -> K?
        private let workers: WorkerThreads
        private var inFlight: [SliceResults<T, K>] = []
        private var closed = false

        /// Starts one thread per core, named `threadName-0`, `threadName-1`, ….
        init(
            threadName: String,
            decode: @escaping @Sendable (RecordPosition, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> T,
            key: @escaping @Sendable (T) -> K?
        ) {
            self.decode = decode
            self.key = key
            workers = WorkerThreads(name: threadName)
        }

        /// Starts decoding `next` and returns the results of the chunk given before it, once decoded (empty for the
        /// first chunk). Given an empty chunk, returns the oldest chunk still decoding.
        func swap(_ next: Chunk) -> [SliceResults<T, K>.Slice] {
            if !next.records.isEmpty {
                let results = SliceResults<T, K>(records: next.records.count)
                // One piece of work per decoding thread, each taking the next slice not yet taken until none is
                // left, instead of one per slice (the queue's lock, taken by the folding thread for each, was
                // contended by the threads taking work from it).
                for _ in 0..<min(max(workers.count, 1), results.slices) {
                    workers.submit { [decode, key] in
                        while let slice = results.claim() {
                            results.put(slice, ChunkedDecode.decode(next, results.range(of: slice), decode, key))
                        }
                    }
                }
                inFlight.append(results)
            }
            guard inFlight.count > 1 || (next.records.isEmpty && !inFlight.isEmpty) else { return [] }
            return inFlight.removeFirst().wait()
        }

        /// Frees `results` on one of the pool's threads, not on the caller's (the folding thread, the busiest).
        func release(_ results: consuming [SliceResults<T, K>.Slice]) {
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

    /// Decodes the records `range` of `chunk`, and works out the key of each result.
    static func decode<T: Sendable, K: BitwiseCopyable & Sendable>(
        _ chunk: Chunk,
        _ range: Range<Int>,
        _ decode: @Sendable (RecordPosition, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> T,
        _ key: @Sendable (T) -> K?
    ) -> SliceResults<T, K>.Slice {
        var out = SliceResults<T, K>.Slice()
        out.results.reserveCapacity(range.count)
        out.keys.reserveCapacity(range.count)
        chunk.bytes.withUnsafeBytes { bytes in
            for k in range {
                let (position, at) = chunk.records[k]
                let before = k > 0 ? chunk.records[k - 1].1 : chunk.previous
                let payload = UnsafeRawBufferPointer(rebasing: bytes[at])
                let previous = before.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }
                let result = Result { try decode(position, payload, previous) }
                if case .success(let t) = result { out.keys.append(key(t)) } else { out.keys.append(nil) }
                out.results.append((position, result))
            }
        }
        return out
    }
}
