import CoopRPC
import CoopServices
import CoopWire
import Synchronization

/// A small `coop.v1.Ledger` for the client commands' tests: three items with fixed states, writes that answer as a
/// node would (and refuse as a node would: NOT_FOUND, FAILED_PRECONDITION for stale heads, PERMISSION_DENIED for an
/// item the node does not take part in), and a record of every call it got, with the authenticated caller and the
/// request metadata, so that tests can check what reached the server — and that a refused command line reached
/// nothing.
final class FakeLedger: LedgerService.Handler {
    /// One call as the server saw it.
    struct Call: Sendable {
        var method: String
        var caller: String?
        var metadata: RPCMetadata
    }

    struct State {
        var calls: [Call] = []
        var listRequests: [ListItemsRequest] = []
        var updates: [UpdateStatusRequest] = []
        var comments: [AddCommentRequest] = []
        var signOffs: [SignOffRequest] = []
        /// Set when a held-open watch was cancelled by its client.
        var watchCancelled = false
    }

    let state = Mutex(State())
    /// Whether a watch stays open after its scripted changes (until the client cancels).
    let holdWatchOpen: Bool

    init(holdWatchOpen: Bool = false) { self.holdWatchOpen = holdWatchOpen }

    /// Calls so far.
    var calls: [Call] { state.withLock { $0.calls } }

    /// The entry id the fake gives every write.
    static let appendedEntry = [UInt8](repeating: 0xAB, count: 32)
    /// CY-07's two heads (a conflict).
    static let heads = [[UInt8](repeating: 0x11, count: 32), [UInt8](repeating: 0x22, count: 32)]

    static let items: [ItemView] = [
        ItemView(
            item: CatalogItem(
                id: "CY-01",
                titleZh: "联合河流治理",
                titleEn: "Joint river governance",
                participants: ["cd-wuhou", "cq-shapingba"],
                dueDate: "2025-12-31",
                requiresSignOff: true
            ),
            state: ItemState(itemId: "CY-01", status: .planned)
        ),
        ItemView(
            item: CatalogItem(
                id: "CY-07",
                titleZh: "交通互联",
                titleEn: "Transport links",
                participants: ["cd-wuhou", "cq-yuzhong"],
                dueDate: "2026-06-30"
            ),
            state: ItemState(
                itemId: "CY-07",
                status: .inProgress,
                progress: 40,
                note: "phase 1 tendering",
                updatedBy: "cd-wuhou",
                updatedAt: HybridTimestamp(wallMs: 1_750_000_000_000, logical: 0),
                head: heads[1],
                heads: heads
            )
        ),
        ItemView(
            item: CatalogItem(
                id: "CY-12",
                titleZh: "政务服务通办",
                titleEn: "Joint government services",
                participants: ["cq-shapingba", "cq-yuzhong"],
                requiresSignOff: true
            ),
            state: ItemState(itemId: "CY-12", status: .completed, progress: 100, awaitingSignOff: true)
        ),
    ]

    private func record(_ method: String, _ context: RPCServerContext) {
        state.withLock { $0.calls.append(Call(method: method, caller: context.caller, metadata: context.metadata)) }
    }

    private func view(_ id: String) throws -> ItemView {
        guard let view = Self.items.first(where: { $0.item?.id == id }) else {
            throw RPCError(code: .notFound, message: "no item \(id) in the catalog", reason: "UNKNOWN_ITEM")
        }
        return view
    }

    private func appended(_ state: ItemState) -> AppendResponse {
        AppendResponse(entryId: Self.appendedEntry, origin: "cd-wuhou", sequence: 42, state: state)
    }

    func listItems(_ request: ListItemsRequest, context: RPCServerContext) async throws -> ListItemsResponse {
        record("ListItems", context)
        state.withLock { $0.listRequests.append(request) }
        let items = Self.items.filter { view in
            let s = view.state ?? ItemState()
            return (request.statuses.isEmpty || request.statuses.contains(s.status))
                && (request.participant.isEmpty || view.item?.participants.contains(request.participant) == true)
                && (!request.conflictsOnly || s.heads.count > 1)
        }
        return ListItemsResponse(items: items)
    }

    func getItem(_ request: GetItemRequest, context: RPCServerContext) async throws -> ItemView {
        record("GetItem", context)
        return try view(request.itemId)
    }

    func updateStatus(_ request: UpdateStatusRequest, context: RPCServerContext) async throws -> AppendResponse {
        record("UpdateStatus", context)
        state.withLock { $0.updates.append(request) }
        let current = try view(request.itemId)
        guard current.item?.participants.contains("cd-wuhou") == true else {
            throw RPCError(
                code: .permissionDenied,
                message: "cd-wuhou does not take part in \(request.itemId)",
                reason: "NOT_PARTICIPANT"
            )
        }
        let heads = current.state?.heads ?? []
        if !request.expectedHeads.isEmpty && request.expectedHeads != heads {
            throw RPCError(
                code: .failedPrecondition,
                message: "\(request.itemId) has other heads than expected (someone else updated it)",
                reason: "STALE_HEADS"
            )
        }
        return appended(
            ItemState(
                itemId: request.itemId,
                status: request.status,
                progress: request.progress,
                note: request.note,
                updatedBy: "cd-wuhou",
                head: Self.appendedEntry,
                heads: [Self.appendedEntry]
            )
        )
    }

    func addComment(_ request: AddCommentRequest, context: RPCServerContext) async throws -> AppendResponse {
        record("AddComment", context)
        state.withLock { $0.comments.append(request) }
        return appended(try view(request.itemId).state ?? ItemState())
    }

    func signOff(_ request: SignOffRequest, context: RPCServerContext) async throws -> AppendResponse {
        record("SignOff", context)
        state.withLock { $0.signOffs.append(request) }
        return appended(try view(request.itemId).state ?? ItemState())
    }

    func itemHistory(_ request: ItemHistoryRequest, context: RPCServerContext) async throws -> ItemHistoryResponse {
        record("ItemHistory", context)
        _ = try view(request.itemId)
        let update = EntryBody(
            origin: "cd-wuhou",
            sequence: 7,
            timestamp: HybridTimestamp(wallMs: 1_750_000_000_000, logical: 0),
            payload: .statusUpdate(StatusUpdate(itemId: request.itemId, status: .inProgress, progress: 40))
        )
        let comment = EntryBody(
            origin: "cq-yuzhong",
            sequence: 3,
            payload: .comment(Comment(itemId: request.itemId, text: "site visit on Friday", author: "Li"))
        )
        return ItemHistoryResponse(records: [
            HistoryRecord(entryId: FakeLedger.heads[0], body: update, disposition: .applied, logPosition: 10),
            HistoryRecord(
                entryId: FakeLedger.heads[1],
                body: comment,
                disposition: .rejectedByPolicy,
                reason: "cq-yuzhong is not a participant",
                logPosition: 11
            ),
        ])
    }

    func watchChanges(
        _ request: WatchChangesRequest,
        response: TypedStreamWriter<ItemChange>,
        context: RPCServerContext
    ) async throws {
        record("WatchChanges", context)
        let watched = Self.items.filter { request.itemIds.isEmpty || request.itemIds.contains($0.item?.id ?? "") }
        if request.sendInitial {
            for view in watched {
                try await response.send(ItemChange(state: view.state, logRecords: 11, initial: true))
            }
        }
        for (n, view) in watched.enumerated() {
            var changed = view.state ?? ItemState()
            changed.progress = min(100, changed.progress + 10)
            try await response.send(ItemChange(state: changed, entryId: Self.appendedEntry, logRecords: UInt64(12 + n)))
        }
        guard holdWatchOpen else { return }
        do {
            try await Task.sleep(for: .seconds(3600))
        } catch {
            state.withLock { $0.watchCancelled = true }
            throw error
        }
    }
}
