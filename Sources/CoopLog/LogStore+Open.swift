public import CoopLedger
public import CoopSegments
import CoopWire

/// What opening a store did.
public struct OpenReport: Sendable {
    /// What recovering the segment files found (a torn last record cut off).
    public var recovery: RecoveryReport
    /// Whether a checkpoint was used.
    public var checkpointUsed: Bool
    /// Records replayed (all of them without a checkpoint; those after it with one).
    public var replayedRecords: UInt64
    /// Why no checkpoint was used, when one was there.
    public var note: String?
}

extension LogStore {
    /// Opens (or creates) the store in `directory`: recovers the segment files, then restores the checkpoint
    /// written at the last clean close (when it matches the log) and replays the records after it — or replays
    /// every record — checking the local chain and each origin's sequence and chain, and folding the view.
    ///
    /// Blocks on file I/O. `identity` (the node's keys) lets it write; without it the store only ingests and
    /// reads. Throws ``LogError/Code/corrupt`` naming the record when the log does not replay (damage is never
    /// skipped), or when it holds fewer records than the checkpoint of the last clean close counted (records
    /// were lost); ``LogError/Code/locked`` when another process has it open.
    public static func open(
        directory: String,
        roster: RosterBook,
        catalog: CatalogBook,
        identity: NodeKeys? = nil,
        options: Options = Options()
    ) throws -> LogStore {
        if let identity, roster.member(identity.name)?.signingPublicKey != identity.signingPublicKey {
            throw LogError(
                code: .invalidArgument,
                message: "the signing key of \(identity.name) is not the one the roster lists for it"
            )
        }
        let log = try SegmentedLog.open(
            directory: directory,
            options: options.segmentedLogOptions
        )
        var report = OpenReport(recovery: log.recoveryReport, checkpointUsed: false, replayedRecords: 0)
        do {
            var restored: Replayer?
            let found = Checkpoint.read(from: directory)
            switch consume found {
            case .found(var checkpoint):
                do {
                    restored = try restore(&checkpoint, log: log, roster: roster, catalog: catalog)
                } catch let problem as CheckpointProblem {
                    report.note = "checkpoint not used: \(problem)"
                }
            case .unusable(let problem):
                report.note =
                    "checkpoint not used: \(problem); the whole log is replayed, and the check that no records "
                    + "were lost since the last clean close cannot be made"
            case .missing:
                break
            }
            var replayer: Replayer
            if var fromCheckpoint = restored {
                let start = fromCheckpoint.state.recordCount
                do {
                    try log.forEachRecord(from: start, verifyingChecksums: false) { position, payload in
                        try fromCheckpoint.apply(position, payload, logDirectory: log.logDirectory)
                    }
                    replayer = fromCheckpoint
                    report.checkpointUsed = true
                    report.replayedRecords = replayer.state.recordCount - start
                } catch let problem as CheckpointProblem {
                    report.note = "checkpoint not used: \(problem)"
                    replayer = try replayAll(log, roster: roster, catalog: catalog)
                    report.replayedRecords = replayer.state.recordCount
                }
            } else {
                replayer = try replayAll(log, roster: roster, catalog: catalog)
                report.replayedRecords = replayer.state.recordCount
            }
            var state = replayer.state
            state.durableCount = state.recordCount
            // A log may hold entries stamped far ahead (written before clocks were bounded, or by a node whose
            // clock was wrong): the restored clock never starts beyond the allowed skew.
            state.clock = HybridClock(last: state.clock.last, maxSkewMs: options.maxClockSkewMs)
                .bounded(physicalMs: options.physicalClock())
            state.signer = identity?.makeSigner()
            return LogStore(
                directory: directory,
                identity: identity?.name,
                roster: roster,
                catalog: catalog,
                options: options,
                log: log,
                openReport: report,
                state: state
            )
        }
        // On a throw, the log is released with this scope: its lock goes with it.
    }

    /// Replays every record. Evidence is rare, so the first replay takes there to be none (one pass over the log
    /// instead of a pass to find the evidence and another to replay). It meets every evidence record on its way; when
    /// it met any, its view judged entries without what the evidence sets aside, so the log is replayed again with
    /// that evidence known from the start, as before. Either way the result is that of a replay that knew the
    /// evidence first.
    private static func replayAll(_ log: SegmentedLog, roster: RosterBook, catalog: CatalogBook) throws -> Replayer {
        let evidence: [OriginSequenceKey: Equivocation]
        do {
            let optimistic = try replayAll(log, roster: roster, catalog: catalog, evidence: [:])
            guard !optimistic.state.evidence.isEmpty else { return optimistic }
            evidence = optimistic.state.evidence
        }
        return try replayAll(log, roster: roster, catalog: catalog, evidence: evidence)
    }

    private static func replayAll(
        _ log: SegmentedLog,
        roster: RosterBook,
        catalog: CatalogBook,
        evidence: [OriginSequenceKey: Equivocation]
    ) throws -> Replayer {
        var replayer = Replayer(catalog: catalog, roster: roster, evidence: evidence)
        replayer.state.view.reserveCapacity(Int(log.count))
        let directory = log.logDirectory
        let judge = replayer.state.view.entryJudge
        try ChunkedDecode.forEach(
            read: { try log.forEachRecord(verifyingChecksums: false, $0) },
            decode: { position, payload, previous in
                try Replayer.decode(payload, after: previous, judge: judge, at: "\(directory) record \(position)")
            },
            key: { decoded in
                if case .entry(_, let id) = decoded.record.content { id } else { nil }
            },
            lookahead: { id, near in replayer.state.view.prefetch(id, probing: near) },
            apply: { position, decoded in
                try replayer.apply(position, decoded, logDirectory: directory)
            }
        )
        return replayer
    }

    /// The state a checkpoint describes, checked against the log. Throws ``CheckpointProblem`` when it does
    /// not apply (the caller replays instead), ``LogError`` when it shows the log lost or changed records.
    /// Takes the checkpoint's ids (``Checkpoint/ids`` is empty afterwards) for the view, without copying them.
    private static func restore(
        _ checkpoint: inout Checkpoint,
        log: SegmentedLog,
        roster: RosterBook,
        catalog: CatalogBook
    ) throws -> Replayer {
        guard checkpoint.catalogHash == catalog.hash.bytes, checkpoint.rosterHash == roster.hash.bytes else {
            throw CheckpointProblem("the catalog or roster changed since it was written")
        }
        guard checkpoint.recordCount <= log.count else {
            throw LogError(
                code: .corrupt,
                message: "\(log.logDirectory) holds \(log.count) records, but the checkpoint written at the last "
                    + "clean close counted \(checkpoint.recordCount): records were lost. Keep a copy of the "
                    + "directory for the auditors; to start from what is left, remove \(log.directory)/checkpoint"
            )
        }
        if checkpoint.recordCount > 0 {
            let at = checkpoint.recordCount - 1
            guard let record = try log.records(from: at, limit: 1).first else {
                throw CheckpointProblem("record #\(at) cannot be read")
            }
            let decoded = try record.payload.withUnsafeBytes { try RecordCodec.decode($0, at: "\(record.position)") }
            guard decoded.chain == checkpoint.chain else {
                throw LogError(
                    code: .corrupt,
                    message: "\(log.logDirectory) record \(record.position): its local chain value is not the one "
                        + "the checkpoint of the last clean close recorded: the log was altered. Run "
                        + "`coop audit verify` on a copy; to replay it anyway, remove \(log.directory)/checkpoint"
                )
            }
        } else if checkpoint.chain != RecordCodec.genesis {
            throw CheckpointProblem("it is inconsistent")
        }
        var replayer = Replayer(catalog: catalog, roster: roster, evidence: [:])
        for (origin, index) in checkpoint.origins { replayer.state.origins[origin] = index }
        for e in checkpoint.evidence {
            if let first = e.first, let body = try? EntryBody(wireBytes: first.body) {
                replayer.state.evidence[OriginSequenceKey(origin: body.origin, sequence: body.sequence)] = e
            }
        }
        do {
            replayer.state.view = try LedgerView(
                snapshot: checkpoint.view,
                catalog: catalog,
                roster: roster,
                setAside: replayer.state.setAside,
                seen: EmptyCollection()
            )
        } catch {
            throw CheckpointProblem("its view does not fit: \(error)")
        }
        // The view takes the ids in the checkpoint's order, so that each is at the position the origins' indexes
        // give it (``Checkpoint/ids``); the array is moved, not copied (a million ids are 32 MB).
        let ids = checkpoint.ids
        checkpoint.ids = []
        guard replayer.state.view.adoptSeen(consume ids, capacity: Int(log.count)) else {
            throw CheckpointProblem("it lists an entry more than once")
        }
        replayer.state.chain = checkpoint.chain
        replayer.state.recordCount = checkpoint.recordCount
        replayer.state.clock = HybridClock(last: checkpoint.clock)
        replayer.restored = true
        return replayer
    }

    /// Writes a checkpoint of the current state. Only ``close()`` calls it, after the log drained and synced and
    /// before it releases its lock: every record queued is then durable (and no other write can start), so the
    /// checkpoint never counts a record a crash could still take away. The state is copied under the store's lock;
    /// the file is written outside it.
    func checkpoint() throws {
        let checkpoint: Checkpoint = state.withLock { s in makeCheckpoint(s) }
        try checkpoint.write(to: directory)
    }

    /// Writes a checkpoint of the log as it is now, while it stays open, if every record queued is durable and the
    /// store has not failed; returns whether it wrote one. A node calls it when idle, so that opening after a crash
    /// replays only the records since (a checkpoint describes a durable prefix of the log, so a crash at any moment
    /// leaves it valid). Not concurrently with itself or ``close()``: the caller serializes them.
    public func checkpointIfIdle() throws -> Bool {
        let checkpoint: Checkpoint? = state.withLock { s in
            guard s.failure == nil, s.inFlight.isEmpty, s.durableCount == s.recordCount else { return nil }
            return makeCheckpoint(s)
        }
        guard let checkpoint else { return false }
        try checkpoint.write(to: directory)
        return true
    }

    private func makeCheckpoint(_ s: borrowing StoreState) -> Checkpoint {
        Checkpoint(
            recordCount: s.recordCount,
            chain: s.chain,
            catalogHash: catalog.hash.bytes,
            rosterHash: roster.hash.bytes,
            clock: s.clock.last,
            origins: s.origins.keys.sorted().map { ($0, s.origins[$0]!) },
            ids: s.view.seenIDs,
            evidence: s.evidence.keys.sorted { ($0.origin, $0.sequence) < ($1.origin, $1.sequence) }
                .map { s.evidence[$0]! },
            view: s.view.snapshot()
        )
    }
}

/// Replays log records into a store's state.
struct Replayer {
    var state: StoreState
    /// Started from a checkpoint: evidence after it means the view must be rebuilt from the start.
    var restored = false

    init(catalog: CatalogBook, roster: RosterBook, evidence: [OriginSequenceKey: Equivocation]) {
        state = StoreState(view: LedgerView(catalog: catalog, roster: roster))
        state.evidence = evidence
        state.view = LedgerView(catalog: catalog, roster: roster, setAside: state.setAside)
    }

    /// A record decoded off the replay thread: its content, chain value and, for an entry, its body. A class, so
    /// that handing it from the decoding threads to the replay thread moves one reference.
    final class Decoded: Sendable {
        let record: DecodedRecord
        let body: EntryBody?
        /// The chain value the record before this one stores (`previous`), and whether this record stores the chain
        /// value that follows `previous` with its content (`stored`), worked out off the replay thread: when
        /// `previous` is the chain the replay has reached, the record's chain value is right exactly when `stored`.
        /// Inline values, not arrays: the replay thread reads them from this object without touching more memory
        /// that another core wrote.
        let link: (previous: EntryID, stored: Bool)?
        /// How the view judges the entry (``EntryJudge``), worked out off the replay thread.
        let disposition: Disposition?

        init(
            record: DecodedRecord,
            body: EntryBody?,
            link: (previous: EntryID, stored: Bool)? = nil,
            disposition: Disposition? = nil
        ) {
            self.record = record
            self.body = body
            self.link = link
            self.disposition = disposition
        }
    }

    /// Decodes one record; runs on any thread.
    static func decode(_ payload: UnsafeRawBufferPointer, at: @autoclosure () -> String) throws -> Decoded {
        let (record, body) = try RecordCodec.decodeWithBody(payload, at: at())
        return Decoded(record: record, body: body)
    }

    /// Decodes one record and does the work of ``apply(_:_:logDirectory:)`` that does not depend on the records
    /// before it: the chain link from the chain value `before` (the record read before this one) stores, and the
    /// view's judgement. An entry's content holds its id but not its bytes (empty), which replay does not use. Runs
    /// on any thread.
    static func decode(
        _ payload: UnsafeRawBufferPointer,
        after before: UnsafeRawBufferPointer?,
        judge: EntryJudge,
        at: @autoclosure () -> String
    ) throws -> Decoded {
        let record: DecodedRecord
        let body: EntryBody?
        if RecordCodec.kind(of: payload) == .entry, let (id, entryBody) = try RecordCodec.decodeEntry(payload, at: at())
        {
            // The entry's bytes are not kept (replay needs its id and body): one allocation and copy less per entry.
            // `decodeEntry` checked the layout, so the record ends with its 32-byte chain value.
            record = DecodedRecord(content: .entry(bytes: [], id: id), chain: [UInt8](payload[(payload.count - 32)...]))
            body = entryBody
        } else {
            (record, body) = try RecordCodec.decodeWithBody(payload, at: at())
        }
        var link: (previous: EntryID, stored: Bool)?
        if let before, before.count >= 32,
            let previous = EntryID(raw: UnsafeRawBufferPointer(rebasing: before[(before.count - 32)...]))
        {
            link = (previous, RecordCodec.chain(after: previous.bytes, record.content) == record.chain)
        }
        return Decoded(record: record, body: body, link: link, disposition: body.map { judge.judge($0) })
    }

    mutating func apply(_ position: RecordPosition, _ payload: UnsafeRawBufferPointer, logDirectory: String) throws {
        try apply(
            position,
            try Self.decode(payload, at: "\(logDirectory) record \(position)"),
            logDirectory: logDirectory
        )
    }

    mutating func apply(_ position: RecordPosition, _ decodedRecord: Decoded, logDirectory: String) throws {
        var at: String { "\(logDirectory) record \(position)" }
        let decoded = decodedRecord.record
        let intact: Bool
        if let link = decodedRecord.link, link.previous == EntryID(bytes: state.chain) {
            intact = link.stored
        } else {
            intact = RecordCodec.chain(after: state.chain, decoded.content) == decoded.chain
        }
        guard intact else {
            throw LogError(
                code: .corrupt,
                message: "\(at): the local chain breaks here (a record before it was removed, inserted or "
                    + "reordered); run `coop audit verify` on a copy"
            )
        }
        state.chain = decoded.chain
        switch decoded.content {
        case .entry(_, let id):
            guard let body = decodedRecord.body else {
                throw LogError(code: .corrupt, message: "\(at): the entry was not decoded")
            }
            try Self.append(
                ViewEntry(id: id, body: body),
                judged: decodedRecord.disposition,
                at: position,
                to: &state.origins[body.origin, default: OriginIndex()],
                view: &state.view
            ) { at }
            if let ts = body.timestamp, ts > state.clock.last {
                state.clock = HybridClock(last: ts, maxSkewMs: state.clock.maxSkewMs)
            }
        case .evidence(let e):
            guard let first = e.first, let body = try? EntryBody(wireBytes: first.body) else {
                throw LogError(code: .corrupt, message: "\(at): evidence without a decodable first entry")
            }
            let key = OriginSequenceKey(origin: body.origin, sequence: body.sequence)
            if restored && state.evidence[key] == nil {
                throw CheckpointProblem("new evidence after the checkpoint")
            }
            state.evidence[key] = e
        }
        state.recordCount = position.index + 1
    }

    /// Checks that an entry is the next of its origin in sequence and chains onto the last one held, then applies
    /// it to the view (as judged, when `disposition` is given) and appends it to its origin's index with its
    /// position there (one dictionary access for all).
    private static func append(
        _ entry: ViewEntry,
        judged disposition: Disposition?,
        at position: RecordPosition,
        to index: inout OriginIndex,
        view: inout LedgerView,
        _ at: () -> String
    ) throws {
        let body = entry.body
        // The previous hash as an id (no array made per entry); `nil` when it is not 32 bytes, which no id equals.
        guard body.sequence == index.count + 1,
            body.sequence == 1 || EntryID(bytes: body.previous) == index.last(in: view)
        else {
            throw LogError(
                code: .corrupt,
                message: "\(at()): \(body.origin)#\(body.sequence) does not follow #\(index.count) held for "
                    + "that origin"
            )
        }
        index.append(position: view.applyReturningPosition(entry, judged: disposition), record: position.index)
    }
}
