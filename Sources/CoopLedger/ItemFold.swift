import CoopWire

/// The fold of one item's entries. Heads are the applied status updates no applied update cites; the
/// bookkeeping makes that independent of arrival order (an ancestor that arrives after its descendant never
/// becomes a head).
struct ItemFold: Sendable {
    var heads: [EntryID: Head] = [:]
    /// Ids cited as parents by applied updates but not applied (yet).
    var citedUnseen: Set<EntryID> = []
    /// Per completing update, the origins that signed it off.
    var signOffs: [EntryID: Set<String>] = [:]
    var rejected: UInt32 = 0
    var setAside: UInt32 = 0
    var comments: UInt32 = 0

    /// Adds a status update the view has not seen before; `seen` holds every entry id the view was given
    /// (including this one). `parents` are the update's parent ids as bytes; any not 32 long is skipped.
    mutating func add(_ head: Head, parents: [[UInt8]], seen: EntryIDSet) {
        for bytes in parents {
            guard let p = EntryID(bytes: bytes) else { continue }
            if heads.removeValue(forKey: p) == nil && !seen.contains(p) {
                citedUnseen.insert(p)
            }
        }
        if citedUnseen.remove(head.id) == nil {
            heads[head.id] = head
        }
    }

    func state(item: CatalogItem, roster: RosterBook) -> ItemState {
        var state = ItemState(itemId: item.id, status: .planned)
        state.rejected = rejected
        state.setAside = setAside
        state.comments = comments
        state.heads = heads.keys.sorted().map(\.bytes)
        guard let winner = heads.values.max(by: { Head.wins($1, over: $0) }) else { return state }
        state.status = winner.update.status
        state.progress = winner.update.progress
        state.note = winner.update.note
        state.reporter = winner.update.reporter
        state.assignee = winner.update.assignee
        state.updatedBy = winner.origin
        state.updatedAt = winner.timestamp
        state.head = winner.id.bytes
        if winner.update.status == .completed {
            var sides: Set<Side> = []
            if let side = roster.member(winner.origin)?.side { sides.insert(side) }
            for origin in signOffs[winner.id] ?? [] where item.participants.contains(origin) {
                if let side = roster.member(origin)?.side { sides.insert(side) }
            }
            state.signedOff = sides.sorted { $0.rawValue < $1.rawValue }
            if item.requiresSignOff && !(sides.contains(.chengdu) && sides.contains(.chongqing)) {
                state.awaitingSignOff = true
                state.status = .inProgress
            }
        }
        return state
    }
}
