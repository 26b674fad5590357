import Dispatch
import Synchronization

/// An append-only log of opaque records in segment files, with crash recovery and group commit.
///
/// **Threading.** A `SegmentedLog` is `Sendable`: every method may be called from any task or thread, at the same
/// time. Appends are queued and written by one private serial dispatch queue, so the blocking `pwrite`/`fdatasync`
/// calls never run on Swift's cooperative thread pool; appends that wait at the same time share one write and one
/// sync (group commit), and each caller is resumed only after the sync that covers its records. Reads
/// (``forEachRecord(from:verifyingChecksums:_:)``, ``records(from:limit:)``) run on the caller's thread and block
/// on file I/O; they see every record whose append has returned, and never one whose append has not finished (in
/// `.durable` mode: never one that is not yet synced).
/// ``count``, ``statistics`` and ``failure`` take a short lock. Only one `SegmentedLog` (in any process) may have
/// a directory open at a time; a second `open` throws ``LogError/Code/locked``.
///
/// **Files.** Records live in `DIR/log/00000001.seg`, `00000002.seg`, …; `DIR/log/LOCK` holds the lock. See
/// docs/LOG-FORMAT.md.
///
/// **Failures.** If a write or sync fails, every append in that group commit throws ``LogError/Code/io``, and the
/// log stops taking appends (they throw ``LogError/Code/failed``) until it is closed and opened again. A durable
/// log first writes a failure marker (`log/FAILURE`) saying where the acknowledged records end; the next `open`
/// cuts everything after them (records whose sync failed are never presented as history) and reports it in
/// ``RecoveryReport/unacknowledgedTail``. A successful append's records are always there after reopening; a failed
/// append's records are not, unless even the marker could not be written (the `.io` error's message then says so,
/// and its records may or may not be found).
///
/// **Closing.** ``close()`` lets every append queued before it complete (they succeed and are durable), refuses
/// appends that come after it with ``LogError/Code/closed``, syncs, and releases the log lock;
/// ``close(beforeReleasing:)`` also runs a closure while the lock is still held.
public final class SegmentedLog: Sendable {
    /// The largest record, in bytes (16 MiB). Longer lengths on disk count as damage.
    public static let maxRecordSize: UInt32 = 16 << 20

    /// A group commit takes queued appends up to this many bytes (or one append, if that is larger), so a burst of
    /// appends does not make one huge write buffer.
    static let maxBatchBytes = 4 << 20

    /// The data directory given to `open`.
    public let directory: String
    /// The folder holding the segment files: `directory + "/log"`.
    public let logDirectory: String
    /// The options the log was opened with.
    public let options: Options
    /// What opening found and repaired.
    public let recoveryReport: RecoveryReport

    /// Shared state: the append queue, what readers may see, counters. Held only briefly.
    private let state: Mutex<State>
    /// The files; used by group commits and close, which run on `queue`.
    private let writer: Mutex<SegmentWriter>
    private let queue: DispatchQueue

    private struct State {
        var pending: [Request] = []
        /// A drain of `pending` is scheduled or running on `queue`.
        var draining = false
        /// `close()` was called: no more appends.
        var closing = false
        /// The error that stopped the log taking appends.
        var failure: LogError?
        /// What readers may see, oldest segment first.
        var segments: [SegmentInfo]
        var statistics = Statistics()

        init(segments: [SegmentInfo]) {
            self.segments = segments
        }

        var count: UInt64 {
            segments.last.map { $0.firstIndex + $0.recordCount } ?? 0
        }

        /// Removes and returns the oldest requests, as many as fit in one group commit (at least one).
        mutating func takeBatch() -> [Request] {
            var bytes = 0
            var taken = 0
            for request in pending {
                if case .append(let records, _) = request {
                    let size = records.reduce(0) { $0 + RecordFrame.frameSize(payloadCount: $1.count) }
                    if taken > 0 && bytes + size > SegmentedLog.maxBatchBytes { break }
                    bytes += size
                }
                taken += 1
            }
            defer { pending.removeFirst(taken) }
            return Array(pending[..<taken])
        }

        /// Queues `request`; true if the caller must schedule a drain.
        mutating func enqueue(_ request: Request) -> Bool {
            pending.append(request)
            if draining { return false }
            draining = true
            return true
        }
    }

    private enum Request: Sendable {
        case append([[UInt8]], AppendCompletion)
        case close(CheckedContinuation<Void, any Error>, beforeReleasing: (@Sendable () throws -> Void)?)
    }

    /// Called once with an append's outcome, after its sync.
    typealias AppendCompletion = @Sendable (Result<[RecordPosition], LogError>) -> Void

    init(
        directory: String,
        logDirectory: String,
        options: Options,
        report: RecoveryReport,
        segments: [SegmentInfo],
        writer: consuming SegmentWriter
    ) {
        self.directory = directory
        self.logDirectory = logDirectory
        self.options = options
        self.recoveryReport = report
        self.state = Mutex(State(segments: segments))
        self.writer = Mutex(writer)
        self.queue = DispatchQueue(label: "CoopLog.SegmentedLog.writer")
    }

    /// The number of records in the log (appends that have returned, plus what was there when it was opened).
    public var count: UInt64 {
        state.withLock { $0.count }
    }

    /// Counters since opening.
    public var statistics: Statistics {
        state.withLock { $0.statistics }
    }

    /// The write or sync error that stopped the log taking appends, if one did.
    public var failure: LogError? {
        state.withLock { $0.failure }
    }

    /// Appends `records` in order, one after the other, and returns their positions once they are durable.
    ///
    /// Safe to call concurrently; concurrent calls are batched into one write and one sync, and each call's records
    /// stay together and in order. Throws ``LogError/Code/tooLarge`` (writing nothing) if a record is over
    /// ``maxRecordSize``; ``LogError/Code/io`` if the write or sync failed (outcome unknown, see the type's doc);
    /// ``LogError/Code/failed`` after an earlier failure; ``LogError/Code/closed`` after `close()`. Once queued, an
    /// append runs to completion even if its task is cancelled.
    public func append(_ records: [[UInt8]]) async throws -> [RecordPosition] {
        for (i, record) in records.enumerated() where record.count > Int(Self.maxRecordSize) {
            throw LogError(
                code: .tooLarge,
                message: "record \(i) of the append is \(record.count) bytes; the limit is \(Self.maxRecordSize)"
            )
        }
        if records.isEmpty {
            if let error = state.withLock({ refusal(of: $0) }) { throw error }
            return []
        }
        return try await withCheckedThrowingContinuation { continuation in
            do {
                try queueAppend(records) { continuation.resume(with: $0) }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Queues `records` now, in the caller's order relative to every other append, and returns a ticket to await
    /// their durability.
    ///
    /// For callers that must decide what to write and its place in the log in one critical section (the log
    /// store assigns sequence numbers and chains records under its lock): records queued by one thread before
    /// another's are written before them. Throws at once, queuing nothing, when an append would be refused
    /// (``LogError/Code/tooLarge``, ``LogError/Code/failed``, ``LogError/Code/closed``).
    public func enqueue(_ records: [[UInt8]]) throws(LogError) -> AppendTicket {
        for (i, record) in records.enumerated() where record.count > Int(Self.maxRecordSize) {
            throw LogError(
                code: .tooLarge,
                message: "record \(i) of the append is \(record.count) bytes; the limit is \(Self.maxRecordSize)"
            )
        }
        let ticket = AppendTicket()
        if records.isEmpty {
            ticket.complete(.success([]))
            return ticket
        }
        try queueAppend(records) { ticket.complete($0) }
        return ticket
    }

    private func queueAppend(_ records: [[UInt8]], completion: @escaping AppendCompletion) throws(LogError) {
        let schedule: Bool = try state.withLock { (state) throws(LogError) -> Bool in
            if let error = refusal(of: state) { throw error }
            state.statistics.appendCalls += 1
            return state.enqueue(.append(records, completion))
        }
        if schedule { queue.async { self.drain() } }
    }

    /// Appends one record and returns its position once it is durable; like the `[[UInt8]]` overload.
    public func append(_ record: [UInt8]) async throws -> RecordPosition {
        try await append([record])[0]
    }

    /// Closes the log: lets every append queued before this call complete, syncs and closes the files, and releases
    /// the log lock.
    ///
    /// **Threading.** Safe to call from any task, also while other tasks append. Appends (and `enqueue` calls)
    /// that were accepted before `close` was called are written and synced and succeed as usual; the ones called
    /// after it throw ``LogError/Code/closed``, as do reads. Returns once the files are closed and the lock is
    /// released. Calling it again does nothing. Throws if the final sync fails.
    public func close() async throws {
        try await close(beforeReleasing: nil)
    }

    /// Closes the log like ``close()``, and runs `body` after the final sync but before the log lock (`log/LOCK`)
    /// is released, so that no other process can open the log while `body` runs.
    ///
    /// **Threading.** `body` runs once, on the log's writer queue, after every append queued before this call has
    /// completed and the newest segment is synced and closed; it may block on I/O. It runs only when the log closes
    /// cleanly: not after an earlier write or sync failed (``failure`` is set), nor when the final sync fails, nor
    /// when the log was already closed. For the layer above, which writes its own files (a checkpoint) while it
    /// still owns the directory. If `body` throws, the lock is still released and the error is rethrown.
    public func close(beforeReleasing body: (@Sendable () throws -> Void)?) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let schedule = state.withLock { state in
                state.closing = true
                return state.enqueue(.close(continuation, beforeReleasing: body))
            }
            if schedule {
                queue.async { self.drain() }
            }
        }
    }

    /// Why an append would be refused now, if it would.
    private func refusal(of state: State) -> LogError? {
        if state.closing {
            return LogError(code: .closed, message: "the log at \(logDirectory) is closed")
        }
        if let failure = state.failure {
            return failedRefusal(failure)
        }
        return nil
    }

    private func failedRefusal(_ failure: LogError) -> LogError {
        LogError(
            code: .failed,
            message: "the log at \(logDirectory) takes no more appends after an earlier error: \(failure.message); "
                + "close it and open it again to recover",
            path: failure.path,
            offset: failure.offset,
            cause: failure
        )
    }

    /// Runs on `queue`: takes everything queued and commits it, until the queue is empty.
    private func drain() {
        while true {
            options.faults.beforeBatch?()
            let requests: [Request] = state.withLock { state in
                if state.pending.isEmpty {
                    state.draining = false
                    return []
                }
                return state.takeBatch()
            }
            if requests.isEmpty { return }
            var appends: [([[UInt8]], AppendCompletion)] = []
            var closes: [(CheckedContinuation<Void, any Error>, (@Sendable () throws -> Void)?)] = []
            for request in requests {
                switch request {
                case .append(let records, let continuation): appends.append((records, continuation))
                case .close(let continuation, let body): closes.append((continuation, body))
                }
            }
            // close() stops new appends before it queues itself, so all appends come before any close: the ones
            // queued before it are committed here like any others.
            if !appends.isEmpty {
                commit(appends)
            }
            for (continuation, body) in closes {
                let failed = state.withLock { $0.failure != nil }
                let result = writer.withLock { writer in
                    Result { try writer.close(sync: !failed, beforeReleasing: body) }
                }
                continuation.resume(with: result)
            }
        }
    }

    /// One group commit: one write per segment touched and one sync, then every caller is resumed.
    private func commit(_ appends: [([[UInt8]], AppendCompletion)]) {
        // Appends queued before a failure are refused; appends queued before close() are not (close waits for them).
        if let error = state.withLock({ $0.failure.map { failedRefusal($0) } }) {
            for (_, completion) in appends { completion(.failure(error)) }
            return
        }
        let batch = appends.map(\.0)
        let result = writer.withLock { writer in
            Result { () throws(LogError) in try writer.write(batch) }
        }
        switch result {
        case .success(let outcome):
            state.withLock { state in
                for info in outcome.segments {
                    if let last = state.segments.last, last.number == info.number {
                        state.segments[state.segments.count - 1] = info
                    } else {
                        state.segments.append(info)
                    }
                }
                state.statistics.groupCommits += 1
                state.statistics.recordsWritten += UInt64(batch.reduce(0) { $0 + $1.count })
                state.statistics.syncs += outcome.syncs
                state.statistics.segmentsCreated += outcome.segmentsCreated
            }
            for ((_, completion), positions) in zip(appends, outcome.positions) {
                completion(.success(positions))
            }
            if let observer = options.onCommit {
                observer.observe(
                    CommitSample(
                        appends: appends.count,
                        records: batch.reduce(0) { $0 + $1.count },
                        bytes: outcome.bytes,
                        syncNanoseconds: outcome.syncNanoseconds
                    )
                )
            }
        case .failure(let error):
            state.withLock { state in
                state.failure = error
                state.statistics.groupCommits += 1
            }
            for (_, completion) in appends { completion(.failure(error)) }
        }
    }

    /// A snapshot of what readers may see; throws `.closed` after `close()`.
    func readableSegments() throws(LogError) -> [SegmentInfo] {
        let snapshot: [SegmentInfo]? = state.withLock { $0.closing ? nil : $0.segments }
        guard let snapshot else { throw LogError(code: .closed, message: "the log at \(logDirectory) is closed") }
        return snapshot
    }

    func segmentPath(_ number: UInt32) -> String {
        logDirectory + "/" + SegmentHeader.fileName(segment: number)
    }
}
