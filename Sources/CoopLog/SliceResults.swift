import CoopSegments
import Dispatch
import Synchronization

/// One chunk's results, put in a slice at a time by worker threads and taken, in order, by the folding thread.
///
/// Threading: ``put(_:_:)`` from any thread, once per slice; ``wait()`` from one thread, once. In this module so
/// that it is specialized for its callers' result types (no generic copies of results on the folding thread).
final class SliceResults<T: Sendable>: Sendable {
    /// The number of slices of ``ParallelDecode/sliceSize`` records (the last may be shorter).
    let slices: Int
    private let records: Int
    private let parts: Mutex<[[(RecordPosition, Result<T, any Error>)]]>
    /// Slices not put yet; the last one signals `done` (one wake-up of the folding thread per chunk, not per slice).
    private let remaining: Atomic<Int>
    private let done = DispatchSemaphore(value: 0)

    init(records: Int) {
        self.records = records
        slices = (records + ParallelDecode.sliceSize - 1) / ParallelDecode.sliceSize
        parts = Mutex(Array(repeating: [], count: slices))
        remaining = Atomic(slices)
    }

    /// The records of slice `slice`, as indexes into the chunk.
    func range(of slice: Int) -> Range<Int> {
        slice * ParallelDecode.sliceSize..<min(records, (slice + 1) * ParallelDecode.sliceSize)
    }

    /// Stores the results of one slice.
    func put(_ slice: Int, _ results: consuming [(RecordPosition, Result<T, any Error>)]) {
        let results = results
        parts.withLock { $0[slice] = results }
        if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done.signal() }
    }

    /// Waits for every slice and returns the results in order.
    func wait() -> [(RecordPosition, Result<T, any Error>)] {
        if slices > 0 { done.wait() }
        return parts.withLock { parts in
            var all: [(RecordPosition, Result<T, any Error>)] = []
            all.reserveCapacity(records)
            for part in parts { all.append(contentsOf: part) }
            return all
        }
    }
}
