import CoopSegments
import Dispatch
import Synchronization

/// One chunk's results, put in a slice at a time by worker threads and taken, in order, by the folding thread.
///
/// Threading: ``claim()`` and ``put(_:_:)`` from any thread; every slice ``claim()`` hands out must be put exactly
/// once, or ``wait()`` never returns. ``wait()`` from one thread, once. In this module so that it is specialized for
/// its callers' result types (no generic copies of results on the folding thread).
final class SliceResults<T: Sendable, K: BitwiseCopyable & Sendable>: Sendable {
    /// The results of one slice of ``ParallelDecode/sliceSize`` records, and each record's lookahead key (`nil`
    /// when it has none), kept apart so that reading a key ahead copies a few bytes and retains nothing.
    struct Slice: Sendable {
        var results: [(RecordPosition, Result<T, any Error>)] = []
        var keys: [K?] = []
    }

    /// The number of slices of ``ParallelDecode/sliceSize`` records (the last may be shorter).
    let slices: Int
    private let records: Int
    private let parts: Mutex<[Slice]>
    /// The number of slices taken by ``claim()`` so far.
    private let claimed = Atomic<Int>(0)
    /// Slices not put yet; the last one signals `done` (one wake-up of the folding thread per chunk, not per slice).
    private let remaining: Atomic<Int>
    private let done = DispatchSemaphore(value: 0)

    init(records: Int) {
        self.records = records
        slices = (records + ParallelDecode.sliceSize - 1) / ParallelDecode.sliceSize
        parts = Mutex(Array(repeating: Slice(), count: slices))
        remaining = Atomic(slices)
    }

    /// The records of slice `slice`, as indexes into the chunk.
    func range(of slice: Int) -> Range<Int> {
        slice * ParallelDecode.sliceSize..<min(records, (slice + 1) * ParallelDecode.sliceSize)
    }

    /// The next slice no one has taken yet (in increasing order), or `nil` when every slice is taken.
    func claim() -> Int? {
        let slice = claimed.add(1, ordering: .relaxed).oldValue
        return slice < slices ? slice : nil
    }

    /// Stores the results of one slice.
    func put(_ slice: Int, _ results: consuming Slice) {
        let results = results
        parts.withLock { $0[slice] = results }
        if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done.signal() }
    }

    /// Waits for every slice and hands over the slices, in order. They are moved out, not copied: afterwards this
    /// holds nothing.
    func wait() -> [Slice] {
        if slices > 0 { done.wait() }
        return parts.withLock { parts in
            let taken = parts
            parts = []
            return taken
        }
    }
}
