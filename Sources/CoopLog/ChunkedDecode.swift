import CoopSegments
import Dispatch
import Foundation
import Synchronization

/// Decodes log records on every core, a chunk of ``ParallelDecode/chunkSize`` at a time, and hands the results over
/// in log order (replay and the full replay on open).
///
/// Like ``ParallelDecode``'s pipeline, but the reading thread copies a chunk's payloads into one buffer (no
/// allocation per record), and each record's decoding is also given the payload of the record before it (so that
/// work depending only on the two, such as the local chain link, runs off the folding thread). In this module so
/// that it is specialized for its callers' result types (no generic copies of results on the folding thread).
/// Blocks the caller; the decode closure runs on several threads at once.
enum ChunkedDecode {
    /// Reads records with `read`, decodes them with `decode` in parallel, and calls `body` with each result in
    /// the order read. `read` may throw ``ParallelDecode/Stop`` to end early; any other error (from reading, decoding or `body`)
    /// stops it and is rethrown. `decode` is given a record's payload and the payload of the record read before it
    /// (`nil` for the first).
    ///
    /// The reading thread copies each chunk's payloads into one buffer (no allocation per record); while the caller
    /// reads and applies chunk k, chunk k + 1 is decoded on the other cores.
    static func forEach<T: Sendable>(
        read: ((RecordPosition, UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        decode: @escaping @Sendable (RecordPosition, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> T,
        apply body: (RecordPosition, T) throws -> Void
    ) throws {
        try withoutActuallyEscaping(body) { body in
            let pipeline = ChunkPipeline<T>(decode: decode)
            var chunk = Chunk(previous: nil)
            func handOver() throws {
                let next: Chunk
                if let last = chunk.records.last {
                    next = chunk.bytes.withUnsafeBytes { Chunk(previous: UnsafeRawBufferPointer(rebasing: $0[last.1])) }
                } else {
                    next = Chunk(previous: nil)
                }
                let finished = pipeline.swap(chunk)
                chunk = next
                for (position, result) in finished {
                    try body(position, try result.get())
                }
                // What the fold did not keep is freed on another thread, not on this one (the busiest).
                DispatchQueue.global().async { withExtendedLifetime(finished) {} }
            }
            defer { _ = pipeline.swap(Chunk(previous: nil)) }
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

    /// One ``Chunk`` decoding in the background at a time.
    final class ChunkPipeline<T: Sendable>: Sendable {
        private let decode: @Sendable (RecordPosition, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> T
        private let group = DispatchGroup()
        private let result = Mutex<[(RecordPosition, Result<T, any Error>)]>([])

        init(decode: @escaping @Sendable (RecordPosition, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> T)
        {
            self.decode = decode
        }

        /// Waits for the chunk in flight, starts decoding `next`, and returns the finished chunk's results.
        func swap(_ next: Chunk) -> [(RecordPosition, Result<T, any Error>)] {
            group.wait()
            let finished = result.withLock { r in
                defer { r = [] }
                return r
            }
            if !next.records.isEmpty {
                DispatchQueue.global().async(group: group) { [self] in
                    let decoded = ChunkedDecode.decodeAll(next, decode)
                    result.withLock { $0 = decoded }
                }
            }
            return finished
        }
    }

    static func decodeAll<T: Sendable>(
        _ chunk: Chunk,
        _ decode: @escaping @Sendable (RecordPosition, UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> T
    ) -> [(RecordPosition, Result<T, any Error>)] {
        let count = chunk.records.count
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let workers = min(cores * 8, max(1, count / 64))
        let slice = (count + workers - 1) / workers
        let parts = Mutex<[Int: [(RecordPosition, Result<T, any Error>)]]>([:])
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var out: [(RecordPosition, Result<T, any Error>)] = []
            let range = min(count, w * slice)..<min(count, (w + 1) * slice)
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
            parts.withLock { $0[w] = out }
        }
        return parts.withLock { parts in (0..<workers).flatMap { parts[$0] ?? [] } }
    }

}
