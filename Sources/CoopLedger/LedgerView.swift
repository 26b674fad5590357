public import CoopWire

/// An authentic entry as the view sees it: its id and decoded body.
public struct ViewEntry: Sendable {
    public var id: EntryID
    public var body: EntryBody

    public init(id: EntryID, body: EntryBody) {
        self.id = id
        self.body = body
    }
}

/// How the view treated one entry, and why.
public struct Disposition: Sendable, Hashable {
    public var kind: EntryDisposition
    /// Empty when applied.
    public var reason: String

    public static let applied = Disposition(kind: .applied, reason: "")
}

/// The materialized state of the catalog's items: a fold over authentic entries.
///
/// The result depends only on the *set* of entries applied, never on their order (as long as it is a set:
/// applying an entry twice is a no-op), so every node that holds the same entries shows the same ledger.
/// Rules that depend on state (life-cycle transitions) are checked by writers only (`checkWrite`); every
/// entry is judged on its content alone.
///
/// A value with no I/O; not shared (one owner mutates it).
public struct LedgerView: Sendable {
    public let catalog: CatalogBook
    public let roster: RosterBook
    /// Per origin, the first sequence number at which it equivocated: its entries from there on are set aside.
    public let setAside: [String: UInt64]
    var items: [String: ItemFold] = [:]
    var seen = EntryIDSet()

    /// An empty view (every item PLANNED).
    public init(catalog: CatalogBook, roster: RosterBook, setAside: [String: UInt64] = [:]) {
        self.catalog = catalog
        self.roster = roster
        self.setAside = setAside
        for item in catalog.items {
            items[item.id] = ItemFold()
        }
    }

    /// Applies one authentic entry and says how it was treated. Applying an entry again changes nothing.
    @discardableResult
    public mutating func apply(_ entry: ViewEntry) -> Disposition {
        apply(entry, judged: judge(entry.body))
    }

    /// Applies an entry already judged (`disposition` is `judge(entry.body)`, worked out elsewhere, e.g. on another
    /// thread with ``entryJudge``).
    @discardableResult
    package mutating func apply(_ entry: ViewEntry, judged disposition: Disposition) -> Disposition {
        _ = fold(entry, judged: disposition)
        return disposition
    }

    /// Applies `entry` as ``apply(_:)`` does (or as judged, when `disposition` is given, as in
    /// ``apply(_:judged:)``) and returns the position of its id in ``seenIDs``: where it was added, or where it
    /// already was. A store's index keeps these positions instead of a second copy of each id.
    package mutating func applyReturningPosition(_ entry: ViewEntry, judged disposition: Disposition? = nil) -> UInt32 {
        fold(entry, judged: disposition ?? judge(entry.body))
    }

    /// The id set's insert and the fold; returns the id's position in ``seenIDs``.
    private mutating func fold(_ entry: ViewEntry, judged disposition: Disposition) -> UInt32 {
        let body = entry.body
        let (inserted, position) = seen.insert(entry.id)
        guard inserted else { return UInt32(position) }
        // One lookup of the item; its fold is changed in place through the index.
        guard let itemID = Self.itemID(of: body), let item = items.index(forKey: itemID) else {
            return UInt32(position)
        }
        switch disposition.kind {
        case .setAside: items.values[item].setAside += 1
        case .rejectedByPolicy: items.values[item].rejected += 1
        default:
            switch body.payload {
            case .statusUpdate(let update):
                items.values[item].add(
                    Head(id: entry.id, origin: body.origin, timestamp: body.timestamp ?? .init(), update: update),
                    parents: body.parents,
                    seen: seen
                )
            case .comment:
                items.values[item].comments += 1
            case .signOff(let signOff):
                if let target = EntryID(bytes: signOff.entryId) {
                    items.values[item].signOffs[target, default: []].insert(body.origin)
                }
            case nil:
                break
            }
        }
        return UInt32(position)
    }

    /// How the view treats an entry: a pure function of the entry, the catalog, the roster and `setAside`.
    public func judge(_ body: EntryBody) -> Disposition { entryJudge.judge(body) }

    /// What ``judge(_:)`` depends on, apart from the view (to judge entries on other threads).
    public var entryJudge: EntryJudge { EntryJudge(catalog: catalog, roster: roster, setAside: setAside) }

    /// The item an entry is about, or `nil`.
    public static func itemID(of body: EntryBody) -> String? { EntryJudge.itemID(of: body) }

    /// Why the rules refuse this entry's content, or `nil`. Depends on the entry, the catalog and the roster
    /// only.
    public func policyProblem(_ body: EntryBody) -> String? { entryJudge.policyProblem(body) }

    /// A hint for a view about to be given many entries whose ids are known ahead (a replay): call with
    /// `probing: false` some entries before giving the view `id`, then with `probing: true` a few entries before.
    /// Brings what the id set's insert will read into the cache; changes nothing. (`mutating` only so that it is
    /// called on the view in place: a call on a copy would retain and release everything the view holds.)
    package mutating func prefetch(_ id: EntryID, probing: Bool) {
        if probing { seen.prefetchProbe(of: id) } else { seen.prefetchSlot(of: id) }
    }

    /// The current heads of an item (sorted), for the parents of a new update.
    public func heads(of itemID: String) -> [EntryID] {
        items[itemID]?.heads.keys.sorted() ?? []
    }

    /// Whether `origin` may write `update` now: the entry's content rules plus the life-cycle transition from
    /// this view's state. Throws a ``LedgerError`` naming the problem.
    public func checkWrite(_ update: StatusUpdate, origin: String) throws {
        let probe = EntryBody(origin: origin, sequence: 1, payload: .statusUpdate(update))
        if let problem = policyProblem(probe) {
            let code: LedgerError.Code =
                catalog.item(update.itemId) == nil
                ? .unknownItem : (problem.contains("does not take part") ? .notParticipant : .invalidArgument)
            throw LedgerError(code: code, message: problem)
        }
        let current = state(of: update.itemId)?.status ?? .planned
        if let problem = Lifecycle.transitionProblem(itemID: update.itemId, from: current, to: update.status) {
            throw LedgerError(code: .invalidTransition, message: problem)
        }
    }

    /// The state of one item, or `nil` for an id not in the catalog.
    public func state(of itemID: String) -> ItemState? {
        guard let item = catalog.item(itemID), let fold = items[itemID] else { return nil }
        return fold.state(item: item, roster: roster)
    }

    /// Every item's state, in catalog order.
    public var states: [ItemState] {
        catalog.items.compactMap { state(of: $0.id) }
    }

    /// Makes room for `count` entries, so a large replay does not grow (and briefly double) the id set again and
    /// again.
    public mutating func reserveCapacity(_ count: Int) {
        seen.reserveCapacity(count)
    }

    /// Number of distinct entries the view has been given.
    public var entryCount: Int { seen.count }

    /// The ids of the entries the view has been given, each once, in the order it was first given them. An id's
    /// position here never changes while the view lives; a view folded again from the same entries in another order
    /// has them at other positions.
    package var seenIDs: [EntryID] { seen.ids }

    /// Gives a view restored from a snapshot, and given no entry since, the ids of the entries the snapshot was
    /// folded from, at positions 0 ..< `ids.count` in ``seenIDs`` in this order (a checkpoint's, which its index
    /// refers to by position), with room for `capacity` ids. Takes the array as it is: not copied when nothing else
    /// holds it. Returns false, changing nothing, when an id repeats.
    package mutating func adoptSeen(_ ids: consuming [EntryID], capacity: Int) -> Bool {
        precondition(seen.count == 0, "the view was given entries before")
        guard let adopted = EntryIDSet(adopting: ids, capacity: capacity) else { return false }
        seen = adopted
        return true
    }

    /// The id at `position` in ``seenIDs`` (one the view returned from ``applyReturningPosition(_:judged:)``).
    package func seenID(at position: UInt32) -> EntryID { seen.ids[Int(position)] }
}

/// A status update that is (or was) a head of its item.
struct Head: Sendable {
    var id: EntryID
    var origin: String
    var timestamp: HybridTimestamp
    var update: StatusUpdate

    /// The deterministic winner among concurrent heads: latest clock, then origin id, then entry id.
    static func wins(_ a: Head, over b: Head) -> Bool {
        if a.timestamp != b.timestamp { return a.timestamp > b.timestamp }
        if a.origin != b.origin { return a.origin > b.origin }
        return a.id > b.id
    }
}

/// How a view judges entries (``LedgerView/judge(_:)``): a pure function of the entry, the catalog, the roster and
/// what is set aside. A value; thread-safe, so that a replay judges entries on several threads while one thread
/// folds them.
public struct EntryJudge: Sendable {
    public let catalog: CatalogBook
    public let roster: RosterBook
    /// Per origin, the first sequence number at which it equivocated.
    public let setAside: [String: UInt64]

    public init(catalog: CatalogBook, roster: RosterBook, setAside: [String: UInt64]) {
        self.catalog = catalog
        self.roster = roster
        self.setAside = setAside
    }

    /// How the view treats an entry: a pure function of the entry, the catalog, the roster and `setAside`.
    public func judge(_ body: EntryBody) -> Disposition {
        if let from = setAside[body.origin], body.sequence >= from {
            return Disposition(
                kind: .setAside,
                reason: "\(body.origin) equivocated at sequence \(from); its entries from there on are set aside"
            )
        }
        if let problem = policyProblem(body) {
            return Disposition(kind: .rejectedByPolicy, reason: problem)
        }
        return .applied
    }

    /// The item an entry is about, or `nil`.
    public static func itemID(of body: EntryBody) -> String? {
        switch body.payload {
        case .statusUpdate(let u): u.itemId
        case .comment(let c): c.itemId
        case .signOff(let s): s.itemId
        case nil: nil
        }
    }

    /// Why the rules refuse this entry's content, or `nil`. Depends on the entry, the catalog and the roster
    /// only.
    public func policyProblem(_ body: EntryBody) -> String? {
        guard let itemID = Self.itemID(of: body) else { return "the entry has no payload" }
        guard let item = catalog.item(itemID) else { return "\(itemID) is not an item of the catalog" }
        if !item.participants.contains(body.origin) {
            return "\(body.origin) does not take part in \(itemID) (participants: "
                + item.participants.joined(separator: ", ") + ")"
        }
        for (i, p) in body.parents.enumerated() {
            if p.count != 32 { return "parent \(i) is not a 32-byte entry id" }
            if i > 0 && !(body.parents[i - 1].lexicographicallyPrecedes(p)) {
                return "parents are not sorted and unique"
            }
        }
        switch body.payload {
        case .statusUpdate(let update):
            return Lifecycle.contentProblem(update)
        case .comment(let comment):
            if comment.text.isEmpty { return "the comment is empty" }
            // The UTF-8 length bounds the character count: count characters only when it could be too long.
            if comment.text.utf8.count > Lifecycle.maxTextLength && comment.text.count > Lifecycle.maxTextLength {
                return "the comment is longer than \(Lifecycle.maxTextLength) characters"
            }
            return nil
        case .signOff(let signOff):
            return signOff.entryId.count == 32 ? nil : "the sign-off does not name a 32-byte entry id"
        case nil:
            return "the entry has no payload"
        }
    }
}
