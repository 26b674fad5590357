import Dispatch
import Foundation
import Synchronization

/// Decodes log records on every core, a chunk at a time, and hands the results over in log order.
///
/// Decoding entries (protobuf-c unpacks, SHA-256 ids) is independent per record and is most of a replay's work;
/// folding the results (chains, the view) must stay in order on one thread. Blocks the caller; the decode
/// closure runs on several threads at once.
package enum ParallelDecode {
    package static let chunkSize = 4096

    /// Thrown by `read`'s caller-side closure to stop reading: what was read so far is still decoded and handed
    /// over, and `forEach` returns normally.
    package struct Stop: Error {
        package init() {}
    }

    /// Reads records with `read`, decodes them with `decode` in parallel, and calls `body` with each result in
    /// the order read. `read` may throw ``Stop`` to end early; any other error (from reading, decoding or `body`)
    /// stops it and is rethrown.
    package static func forEach<T: Sendable>(
        read: ((RecordPosition, UnsafeRawBufferPointer) throws -> Void) throws -> Void,
        decode: @escaping @Sendable (RecordPosition, [UInt8]) throws -> T,
        apply body: (RecordPosition, T) throws -> Void
    ) throws {
        try withoutActuallyEscaping(body) { body in
            // Pipelined: while the caller reads and applies chunk k, chunk k + 1 is decoded in the background.
            let pipeline = Pipeline<T>(decode: decode)
            var chunk: [(RecordPosition, [UInt8])] = []
            chunk.reserveCapacity(chunkSize)
            func handOver() throws {
                let previous = pipeline.swap(chunk)
                chunk = []
                chunk.reserveCapacity(chunkSize)
                for (position, result) in previous {
                    try body(position, try result.get())
                }
            }
            defer { _ = pipeline.swap([]) }
            do {
                try read { position, payload in
                    chunk.append((position, [UInt8](payload)))
                    if chunk.count == chunkSize { try handOver() }
                }
            } catch is Stop {}
            try handOver()
            try handOver()
        }
    }

    /// One chunk decoding in the background at a time.
    package final class Pipeline<T: Sendable>: Sendable {
        private let decode: @Sendable (RecordPosition, [UInt8]) throws -> T
        private let group = DispatchGroup()
        private let result = Mutex<[(RecordPosition, Result<T, any Error>)]>([])

        package init(decode: @escaping @Sendable (RecordPosition, [UInt8]) throws -> T) {
            self.decode = decode
        }

        /// Waits for the chunk in flight, starts decoding `next`, and returns the finished chunk's results.
        package func swap(_ next: [(RecordPosition, [UInt8])]) -> [(RecordPosition, Result<T, any Error>)] {
            group.wait()
            let finished = result.withLock { r in
                defer { r = [] }
                return r
            }
            if !next.isEmpty {
                DispatchQueue.global().async(group: group) { [self] in
                    let decoded = ParallelDecode.decodeAll(next, decode)
                    result.withLock { $0 = decoded }
                }
            }
            return finished
        }
    }

    package static func decodeAll<T: Sendable>(
        _ chunk: [(RecordPosition, [UInt8])],
        _ decode: @escaping @Sendable (RecordPosition, [UInt8]) throws -> T
    ) -> [(RecordPosition, Result<T, any Error>)] {
        // Several slices per core, so that dispatch balances them when a core is also busy elsewhere (the
        // caller folds while this runs).
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let workers = min(cores * 8, max(1, chunk.count / 64))
        let slice = (chunk.count + workers - 1) / workers
        let parts = Mutex<[Int: [(RecordPosition, Result<T, any Error>)]]>([:])
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var out: [(RecordPosition, Result<T, any Error>)] = []
            let range = min(chunk.count, w * slice)..<min(chunk.count, (w + 1) * slice)
            out.reserveCapacity(range.count)
            for (position, payload) in chunk[range] {
                out.append((position, Result { try decode(position, payload) }))
            }
            parts.withLock { $0[w] = out }
        }
        return parts.withLock { parts in (0..<workers).flatMap { parts[$0] ?? [] } }
    }
}
