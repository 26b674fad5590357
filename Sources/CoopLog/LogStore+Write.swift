public import CoopLedger
import CoopSegments
public import CoopWire

extension LogStore {
    /// Signs and appends a local entry; returns once it is durable.
    ///
    /// Status updates cite the item's current heads as parents and are checked against the ledger's rules and
    /// the life cycle as this node sees it. With `expectedHeads`, the write is refused unless those are exactly
    /// the item's heads (optimistic concurrency). Throws ``LogError/Code/refused`` naming the rule broken (the
    /// cause is the ``LedgerError``), or the log's error.
    public func append(_ payload: EntryBody.Payload, expectedHeads: [EntryID]? = nil) async throws -> AppendResult {
        guard let me = identity else {
            throw LogError(code: .refused, message: "this store was opened without a signing key; it cannot write")
        }
        return try await withCheckedThrowingContinuation { continuation in
            let request = AppendQueue.Request(
                payload: payload,
                expectedHeads: expectedHeads,
                continuation: continuation
            )
            if appends.withLock({ $0.queue(request) }) { signWaitingAppends(origin: me) }
        }
    }

    /// The signer's loop (``AppendQueue``): signs and queues every waiting append in turn, until none waits or
    /// ``AppendQueue/maxPerSigner`` were taken, when a new task goes on. Each caller is resumed once, when its record
    /// is durable (by the log's writer, through ``AppendTicket/whenComplete(_:)``), or at once when it is refused.
    private func signWaitingAppends(origin me: String) {
        var taken = 0
        while true {
            let requests = appends.withLock { $0.take() }
            if requests.isEmpty { return }
            for request in requests {
                let ticket: AppendTicket
                let result: AppendResult
                do {
                    (ticket, result) = try queueLocalEntry(
                        request.payload,
                        expectedHeads: request.expectedHeads,
                        origin: me
                    )
                } catch {
                    request.continuation.resume(throwing: error)
                    continue
                }
                let continuation = request.continuation
                ticket.whenComplete { [self] outcome in
                    continuation.resume(with: noteOutcome(outcome).map { result })
                }
            }
            taken += requests.count
            if taken >= AppendQueue.maxPerSigner {
                Task { self.signWaitingAppends(origin: me) }
                return
            }
        }
    }

    /// Checks, signs and queues one local entry; its ticket and what it will return.
    ///
    /// Only the signer (``AppendQueue``) calls this, so no other local write runs meanwhile, and the entry is signed
    /// outside the store's lock: the lock is taken to check the write and fix its body (sequence number, previous
    /// entry, parents, time), released while it is signed, encoded and hashed (most of an append's CPU), and taken
    /// again to queue it, if nothing it was built on changed in between (an ingest can move the item's heads, or
    /// store an entry of this node's own origin pulled back from a peer) and the rules still allow it on the view as
    /// it is then. If something it was built on changed, the body is built again;
    /// after ``maxUnlockedAttempts`` such races the entry is signed under the lock, as a write that cannot lose.
    private func queueLocalEntry(
        _ payload: EntryBody.Payload,
        expectedHeads: [EntryID]?,
        origin me: String
    ) throws -> (AppendTicket, AppendResult) {
        let itemID = LedgerView.itemID(of: EntryBody(payload: payload)) ?? ""
        func draft(_ s: inout StoreState) throws -> Draft {
            try draftLocalEntry(
                &s,
                payload,
                itemID: itemID,
                expectedHeads: expectedHeads,
                origin: me,
                now: options.physicalClock()
            )
        }
        for _ in 0..<Self.maxUnlockedAttempts {
            let (unsigned, signer) = try state.withLock { s in (try draft(&s), s.signer!) }
            let sealed = Sealed(unsigned, signer: signer)
            let queued: (AppendTicket, AppendResult)? = try state.withLock { s in
                try Self.checkUsable(s)
                // Nothing queued and no refold since the draft: the view is the one the draft was checked on.
                if s.recordCount == unsigned.recordCount && s.viewRebuilds == unsigned.viewRebuilds {
                    return try queue(&s, sealed, itemID: itemID)
                }
                guard (s.origins[me]?.count ?? 0) == unsigned.body.sequence - 1,
                    s.view.heads(of: itemID) == unsigned.heads
                else { return nil }
                // Entries ingested meanwhile without moving the heads (a sign-off, a comment) can still change what
                // the rules allow: the write is judged again against the view it is queued onto.
                try Self.checkLocalWrite(payload, origin: me, view: s.view)
                return try queue(&s, sealed, itemID: itemID)
            }
            if let queued { return queued }
        }
        return try state.withLock { s in try queue(&s, Sealed(try draft(&s), signer: s.signer!), itemID: itemID) }
    }

    /// Queues a signed local entry (under the store's lock); its ticket and what the append returns.
    private func queue(_ s: inout StoreState, _ sealed: Sealed, itemID: String) throws -> (AppendTicket, AppendResult) {
        let ticket = try enqueue(
            &s,
            entries: [(sealed.bytes, ViewEntry(id: sealed.id, body: sealed.body))],
            evidence: []
        )
        return (
            ticket,
            AppendResult(id: sealed.id, signed: sealed.signed, body: sealed.body, state: s.view.state(of: itemID))
        )
    }

    /// A local entry signed: the signed entry, its wire bytes and its id.
    private struct Sealed {
        var body: EntryBody
        var signed: SignedEntry
        var bytes: [UInt8]
        var id: EntryID

        init(_ draft: Draft, signer: EntrySigner) {
            body = draft.body
            signed = SignedEntry(body: draft.bodyBytes, signature: signer.sign(draft.bodyBytes))
            bytes = signed.wireBytes()
            id = EntryID(digestOf: bytes)
        }
    }

    /// Times a local entry is built and signed outside the store's lock before it is signed under it.
    static let maxUnlockedAttempts = 4

    /// A local entry's body before it is signed, and the item's heads it was built on.
    private struct Draft {
        var body: EntryBody
        var bodyBytes: [UInt8]
        var heads: [EntryID]
        /// The store's records and view refolds when the body was built (``StoreState/recordCount``,
        /// ``StoreState/viewRebuilds``): while both stay the same, so does the view.
        var recordCount: UInt64
        var viewRebuilds: Int
    }

    /// Checks a local write against the rules and the view and builds its body (under the store's lock).
    private func draftLocalEntry(
        _ s: inout StoreState,
        _ payload: EntryBody.Payload,
        itemID: String,
        expectedHeads: [EntryID]?,
        origin me: String,
        now: UInt64
    ) throws -> Draft {
        try Self.checkUsable(s)
        try Self.checkLocalWrite(payload, origin: me, view: s.view)
        let heads = s.view.heads(of: itemID)
        if let expectedHeads, Set(expectedHeads) != Set(heads) {
            throw LogError(
                code: .refused,
                message: "\(itemID): the item's heads changed (expected "
                    + expectedHeads.map(\.short).sorted().joined(separator: ", ") + "; now "
                    + heads.map(\.short).joined(separator: ", ") + ")"
            )
        }
        let index = s.origins[me] ?? OriginIndex()
        var parents: [EntryID] = []
        if case .statusUpdate = payload { parents = heads }
        let body = EntryBody(
            origin: me,
            sequence: index.count + 1,
            previous: index.last(in: s.view)?.bytes ?? [],
            timestamp: try Self.tick(&s.clock, now: now),
            parents: parents.map(\.bytes),
            payload: payload
        )
        return Draft(
            body: body,
            bodyBytes: body.wireBytes(),
            heads: heads,
            recordCount: s.recordCount,
            viewRebuilds: s.viewRebuilds
        )
    }

    /// Appends a status update (see ``append(_:expectedHeads:)``).
    public func updateStatus(_ update: StatusUpdate, expectedHeads: [EntryID]? = nil) async throws -> AppendResult {
        try await append(.statusUpdate(update), expectedHeads: expectedHeads)
    }

    /// The clock's next timestamp; a refused write (``LogError/Code/refused``) when its counter is exhausted.
    private static func tick(_ clock: inout HybridClock, now: UInt64) throws -> HybridTimestamp {
        do {
            return try clock.tick(physicalMs: now)
        } catch {
            throw LogError(code: .refused, message: error.message, cause: error)
        }
    }

    private static func checkLocalWrite(_ payload: EntryBody.Payload, origin: String, view: LedgerView) throws {
        let texts: [String]
        switch payload {
        case .statusUpdate(let u): texts = [u.itemId, u.note, u.reporter, u.assignee]
        case .comment(let c): texts = [c.itemId, c.text, c.author]
        case .signOff(let s): texts = [s.itemId, s.signer, s.note]
        }
        for text in texts {
            if let problem = WireText.problem(text) {
                throw LogError(code: .refused, message: problem)
            }
        }
        do {
            if case .statusUpdate(let update) = payload {
                try view.checkWrite(update, origin: origin)
            } else if let problem = view.policyProblem(EntryBody(origin: origin, sequence: 1, payload: payload)) {
                throw LedgerError(code: .invalidArgument, message: problem)
            }
        } catch let error as LedgerError {
            throw LogError(code: .refused, message: error.message, cause: error)
        }
    }

    /// Queues entries (in order) and evidence as records under the lock and updates the index, the chain and
    /// the view. Changes nothing when the log refuses.
    func enqueue(
        _ s: inout StoreState,
        entries: [(bytes: [UInt8], entry: ViewEntry)],
        evidence: [Equivocation]
    ) throws -> AppendTicket {
        var chain = s.chain
        var records: [[UInt8]] = []
        for (bytes, entry) in entries {
            let encoded = RecordCodec.encode(.entry(bytes: bytes, id: entry.id), after: chain)
            records.append(encoded.bytes)
            chain = encoded.chain
        }
        for e in evidence {
            let encoded = RecordCodec.encode(.evidence(e), after: chain)
            records.append(encoded.bytes)
            chain = encoded.chain
        }
        let ticket = try log.enqueue(records)
        s.chain = chain
        for (bytes, entry) in entries {
            let position = s.view.applyReturningPosition(entry)
            s.origins[entry.body.origin, default: OriginIndex()].append(position: position, record: s.recordCount)
            s.inFlight.append((s.recordCount, bytes, entry))
            s.recordCount += 1
        }
        for e in evidence {
            if let first = e.first, let body = try? EntryBody(wireBytes: first.body) {
                s.evidence[OriginSequenceKey(origin: body.origin, sequence: body.sequence)] = e
            }
            s.recordCount += 1
            s.evidenceCount += 1
        }
        return ticket
    }

    /// Waits for a ticket and records durability (``noteOutcome(_:)``).
    func settle(_ ticket: AppendTicket) async throws {
        let outcome: Result<[RecordPosition], LogError>
        do {
            outcome = .success(try await ticket.wait())
        } catch let error as LogError {
            outcome = .failure(error)
        }
        try noteOutcome(outcome).get()
    }

    /// Records a ticket's outcome: on success, that its records are durable; a failed write stops the store (the
    /// records it had queued, already in its indexes and view, are of unknown fate until the store is reopened).
    ///
    /// **Threading.** Any thread; takes the store's lock unless a later record is known durable already (a caller
    /// settling the tickets of an ingest in reverse skips the lock for all but the last). The log's writer calls it
    /// for each local append, in record order, so there it takes the lock once per append: a short section, but one
    /// that waits while another holds the lock (an ingest's admission, a view's refold), delaying the next sync.
    func noteOutcome(_ outcome: Result<[RecordPosition], LogError>) -> Result<Void, LogError> {
        let positions: [RecordPosition]
        switch outcome {
        case .failure(let error):
            if error.code == .io || error.code == .failed {
                state.withLock { s in
                    if s.failure == nil { s.failure = error }
                }
            }
            return .failure(error)
        case .success(let p):
            positions = p
        }
        guard let last = positions.last else { return .success(()) }
        if durableRecords.load(ordering: .acquiring) > last.index { return .success(()) }
        state.withLock { s in
            s.durableCount = max(s.durableCount, last.index + 1)
            let durable = s.durableCount
            durableRecords.store(durable, ordering: .releasing)
            // In record order: drop the durable prefix (moves the rest; no per-element copies).
            s.inFlight.removeFirst(s.inFlight.firstIndex { $0.record >= durable } ?? s.inFlight.count)
        }
        return .success(())
    }
}
