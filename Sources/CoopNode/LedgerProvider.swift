import CoopLedger
public import CoopLog
public import CoopRPC
import CoopSegments
public import CoopServices
public import CoopWire

/// The `coop.v1.Ledger` service of a node, on its ``LogStore``: reads from the node's view, writes signed by the
/// node and acknowledged only once durable, with the item's new state.
///
/// **Threading.** `Sendable`; calls run concurrently (the store serializes writes). Every call is first checked
/// against ``NodeAccess`` with the caller the CurveZMQ handshake authenticated.
public struct LedgerProvider: LedgerService.Handler {
    public let store: LogStore
    public let access: NodeAccess
    public let feed: ChangeFeed
    /// Reconciliation: asked before signing (the own-head guard) and told of each new entry (head notices).
    public let sync: SyncHub?
    /// Counts the entries appended, when the node records metrics.
    public var metrics: NodeMetrics? = nil
    /// Whose turn it is to replay the whole log for ``itemHistory(_:context:)``.
    public var replayGate: ReplayGate = .shared

    public init(store: LogStore, access: NodeAccess, feed: ChangeFeed, sync: SyncHub? = nil) {
        self.store = store
        self.access = access
        self.feed = feed
        self.sync = sync
    }

    var catalog: CatalogBook { store.catalog }

    public func listItems(_ request: ListItemsRequest, context: RPCServerContext) async throws -> ListItemsResponse {
        try access.check(context)
        if !request.participant.isEmpty && store.roster.member(request.participant) == nil {
            throw RPCError(
                code: .invalidArgument,
                message: "participant \(request.participant) is not in the roster",
                reason: NodeReason.unknownMember
            )
        }
        let statuses = Set(request.statuses)
        let states = Dictionary(uniqueKeysWithValues: store.states.map { ($0.itemId, $0) })
        let items = catalog.items.compactMap { item -> ItemView? in
            guard let state = states[item.id] else { return nil }
            if !statuses.isEmpty && !statuses.contains(state.status) { return nil }
            if !request.participant.isEmpty && !item.participants.contains(request.participant) { return nil }
            if request.conflictsOnly && state.heads.count < 2 { return nil }
            return ItemView(item: item, state: state)
        }
        return ListItemsResponse(items: items)
    }

    public func getItem(_ request: GetItemRequest, context: RPCServerContext) async throws -> ItemView {
        try access.check(context)
        let (item, state) = try known(request.itemId)
        return ItemView(item: item, state: state)
    }

    public func updateStatus(
        _ request: UpdateStatusRequest,
        context: RPCServerContext
    ) async throws -> AppendResponse {
        try access.check(context)
        _ = try known(request.itemId)
        if request.status == .unspecified {
            throw RPCError(code: .invalidArgument, message: "status is not set", reason: NodeReason.invalidValue)
        }
        if request.progress > 100 {
            throw RPCError(
                code: .invalidArgument,
                message: "progress \(request.progress) is out of range 0–100",
                reason: NodeReason.progressOutOfRange
            )
        }
        var expected: [EntryID]?
        if !request.expectedHeads.isEmpty {
            expected = try request.expectedHeads.enumerated().map { index, bytes throws(RPCError) in
                guard let id = EntryID(bytes: bytes) else {
                    throw RPCError(
                        code: .invalidArgument,
                        message: "expected_heads[\(index)] is \(bytes.count) bytes; an entry id is 32",
                        reason: NodeReason.invalidValue
                    )
                }
                return id
            }
        }
        let update = StatusUpdate(
            itemId: request.itemId,
            status: request.status,
            progress: request.progress,
            note: request.note,
            reporter: reporter(request.reporter, context),
            assignee: request.assignee
        )
        return try await write(.statusUpdate(update), expectedHeads: expected)
    }

    public func addComment(_ request: AddCommentRequest, context: RPCServerContext) async throws -> AppendResponse {
        try access.check(context)
        _ = try known(request.itemId)
        let comment = Comment(itemId: request.itemId, text: request.text, author: reporter(request.author, context))
        return try await write(.comment(comment), expectedHeads: nil)
    }

    public func signOff(_ request: SignOffRequest, context: RPCServerContext) async throws -> AppendResponse {
        try access.check(context)
        _ = try known(request.itemId)
        guard request.entryId.count == 32 else {
            throw RPCError(
                code: .invalidArgument,
                message: "entry_id is \(request.entryId.count) bytes; an entry id is 32",
                reason: NodeReason.invalidValue
            )
        }
        let signOff = SignOff(
            itemId: request.itemId,
            entryId: request.entryId,
            signer: reporter(request.signer, context),
            note: request.note
        )
        return try await write(.signOff(signOff), expectedHeads: nil)
    }

    public func itemHistory(
        _ request: ItemHistoryRequest,
        context: RPCServerContext
    ) async throws -> ItemHistoryResponse {
        try access.check(context)
        _ = try known(request.itemId)
        let changes: [LedgerReplay.Change]
        do {
            changes = try await LedgerReplay.historyOffPool(
                directory: store.directory,
                catalog: catalog,
                roster: store.roster,
                itemID: request.itemId,
                assumingSetAside: store.setAside,
                gate: replayGate
            )
        } catch let cancelled as CancellationError {
            // Cancelled while it waited for its turn (ReplayGate): the call's deadline or its client's cancel says why.
            throw cancelled
        } catch let busy as LogError where busy.code == .busy {
            throw RPCError(code: .resourceExhausted, message: busy.message, reason: RPCReason.overloaded, cause: busy)
        } catch {
            throw RPCError(code: .internal, message: "reading the log failed: \(error)", cause: error)
        }
        return ItemHistoryResponse(
            records: changes.map { change in
                HistoryRecord(
                    entryId: change.id.bytes,
                    entry: try? SignedEntry(wireBytes: change.signed),
                    body: change.body,
                    disposition: change.disposition.kind,
                    reason: change.disposition.reason,
                    logPosition: change.position.index
                )
            }
        )
    }

    public func watchChanges(
        _ request: WatchChangesRequest,
        response: TypedStreamWriter<ItemChange>,
        context: RPCServerContext
    ) async throws {
        try access.check(context)
        for itemID in request.itemIds { _ = try known(itemID) }
        let (subscription, token) = feed.subscribe(Set(request.itemIds))
        defer { feed.unsubscribe(token) }
        if request.sendInitial {
            let wanted = Set(request.itemIds)
            for state in store.states where wanted.isEmpty || wanted.contains(state.itemId) {
                try await response.send(ItemChange(state: state, logRecords: store.recordCount, initial: true))
            }
        }
        for await _ in subscription.wakeUps {
            for change in subscription.take() { try await response.send(change) }
        }
    }

    // MARK: Helpers

    /// The catalog item and its state; NOT_FOUND (`UNKNOWN_ITEM`) for an id not in the catalog.
    func known(_ itemID: String) throws(RPCError) -> (CatalogItem, ItemState) {
        guard let item = catalog.item(itemID), let state = store.state(of: itemID) else {
            let shown = itemID.isEmpty ? "an empty item id" : "item \(itemID)"
            throw RPCError(
                code: .notFound,
                message: "\(shown) is not in the catalog (ids like CY-01 … CY-40; `coop item list`)",
                reason: NodeReason.unknownItem
            )
        }
        return (item, state)
    }

    /// Who the entry records: the person the request names, with the authenticated member that sent it.
    func reporter(_ person: String, _ context: RPCServerContext) -> String {
        guard let caller = context.caller else { return person }
        return person.isEmpty || person == caller ? caller : "\(person) (\(caller))"
    }

    func write(_ payload: EntryBody.Payload, expectedHeads: [EntryID]?) async throws(RPCError) -> AppendResponse {
        try sync?.checkWrite()
        let result: AppendResult
        do {
            result = try await store.append(payload, expectedHeads: expectedHeads)
        } catch {
            throw NodeReason.status(of: error)
        }
        metrics?.appendedEntries()
        sync?.announce([(result.body.origin, result.body.sequence, result.id.bytes)])
        let change = ItemChange(state: result.state, entryId: result.id.bytes, logRecords: store.recordCount)
        feed.publish(change)
        return AppendResponse(
            entryId: result.id.bytes,
            origin: result.body.origin,
            sequence: result.body.sequence,
            state: result.state
        )
    }
}
