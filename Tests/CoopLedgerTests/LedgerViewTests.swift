import CoopLedger
import CoopTestKit
import CoopWire
import Testing

/// Builds entries the way nodes would: each with its own sequence numbers, clock and view of the heads.
struct Writer {
    let origin: String
    var sequence: UInt64 = 0
    var clock = HybridClock()

    mutating func entry(
        _ payload: EntryBody.Payload,
        parents: [EntryID] = [],
        at ms: UInt64
    ) -> ViewEntry {
        sequence += 1
        let body = EntryBody(
            origin: origin,
            sequence: sequence,
            timestamp: try! clock.tick(physicalMs: ms),
            parents: parents.sorted().map(\.bytes),
            payload: payload
        )
        return ViewEntry(id: EntryID(digestOf: body.wireBytes()), body: body)
    }

    mutating func update(
        _ item: String,
        _ status: ItemStatus,
        progress: UInt32 = 0,
        parents: [EntryID] = [],
        at ms: UInt64
    ) -> ViewEntry {
        entry(.statusUpdate(StatusUpdate(itemId: item, status: status, progress: progress)), parents: parents, at: ms)
    }
}

@Suite("Ledger view")
struct LedgerViewTests {
    let catalog: CatalogBook
    let roster: RosterBook

    init() throws {
        roster = try Fixtures.roster()
        catalog = try Fixtures.catalog()
    }

    func view(_ entries: [ViewEntry], setAside: [String: UInt64] = [:]) -> LedgerView {
        var v = LedgerView(catalog: catalog, roster: roster, setAside: setAside)
        for e in entries { v.apply(e) }
        return v
    }

    @Test("a new view shows every item PLANNED with no heads")
    func empty() {
        let v = view([])
        #expect(v.states.count == 40)
        #expect(v.states.allSatisfy { $0.status == .planned && $0.heads.isEmpty })
    }

    @Test("concurrent updates: a deterministic winner and a conflict marker, resolved by an update citing all heads")
    func conflict() throws {
        var cq = Writer(origin: "cq-shapingba")
        var wh = Writer(origin: "cd-wuhou")
        let a = cq.update("CY-01", .assigned, at: 100)
        let b = cq.update("CY-01", .inProgress, progress: 10, parents: [a.id], at: 200)
        let c = wh.update("CY-01", .inProgress, progress: 20, parents: [a.id], at: 250)
        var v = view([a, b, c])
        var s = try #require(v.state(of: "CY-01"))
        #expect(s.heads.count == 2)
        #expect(Set(s.heads) == [b.id.bytes, c.id.bytes])
        #expect(s.progress == 20 && s.updatedBy == "cd-wuhou")  // later clock wins
        let d = cq.update("CY-01", .delayed, progress: 30, parents: [b.id, c.id], at: 300)
        v.apply(d)
        s = try #require(v.state(of: "CY-01"))
        #expect(s.heads == [d.id.bytes])
        #expect(s.status == .delayed)
    }

    @Test("a writer from outside the item's participants is kept but rejected by policy")
    func policy() throws {
        let item = try #require(catalog.items.first { !$0.participants.contains("cd-qingbaijiang") })
        var qb = Writer(origin: "cd-qingbaijiang")
        var v = view([])
        let d = v.apply(qb.update(item.id, .inProgress, at: 1))
        #expect(d.kind == .rejectedByPolicy)
        #expect(d.reason.contains("cd-qingbaijiang does not take part in \(item.id)"))
        #expect(v.state(of: item.id)?.rejected == 1)
        #expect(v.state(of: item.id)?.status == .planned)
        #expect(v.apply(qb.update("CY-99", .inProgress, at: 2)).reason.contains("CY-99 is not an item"))
        var cq = Writer(origin: "cq-shapingba")
        #expect(v.apply(cq.update("CY-01", .completed, progress: 90, at: 3)).reason == "COMPLETED needs progress 100")
    }

    @Test("completion of a joint item waits for the other side's sign-off")
    func signOff() throws {
        let item = try #require(catalog.items.first { $0.requiresSignOff && $0.participants.contains("cd-wuhou") })
        var cq = Writer(origin: "cq-shapingba")
        var wh = Writer(origin: "cd-wuhou")
        let done = cq.update(item.id, .completed, progress: 100, at: 10)
        var v = view([done])
        #expect(v.state(of: item.id)?.awaitingSignOff == true)
        #expect(v.state(of: item.id)?.status == .inProgress)
        v.apply(wh.entry(.signOff(SignOff(itemId: item.id, entryId: done.id.bytes, signer: "李")), at: 20))
        let s = try #require(v.state(of: item.id))
        #expect(!s.awaitingSignOff)
        #expect(s.status == .completed)
        #expect(s.signedOff == [.chengdu, .chongqing])
    }

    @Test("entries of an equivocating origin from the evidence's sequence on are set aside")
    func setAside() throws {
        var cq = Writer(origin: "cq-shapingba")
        let a = cq.update("CY-01", .assigned, at: 1)
        let b = cq.update("CY-01", .inProgress, parents: [a.id], at: 2)
        let v = view([a, b], setAside: ["cq-shapingba": 2])
        let s = try #require(v.state(of: "CY-01"))
        #expect(s.status == .assigned)
        #expect(s.setAside == 1)
    }

    @Test("writers may not make invalid transitions from their own view")
    func transitions() throws {
        var cq = Writer(origin: "cq-shapingba")
        let done = cq.update("CY-02", .completed, progress: 100, at: 1)
        let v = view([done])
        let error = #expect(throws: LedgerError.self) {
            try v.checkWrite(StatusUpdate(itemId: "CY-02", status: .inProgress, progress: 50), origin: "cq-shapingba")
        }
        #expect(error?.code == .invalidTransition)
        #expect(
            error?.message
                == "CY-02: ITEM_STATUS_COMPLETED → ITEM_STATUS_IN_PROGRESS is not allowed; ITEM_STATUS_COMPLETED is final"
        )
        #expect(throws: Never.self) {
            try v.checkWrite(StatusUpdate(itemId: "CY-01", status: .assigned), origin: "cq-shapingba")
        }
    }

    /// Property: three nodes write to a few items, each seeing the others' entries only sometimes; every
    /// interleaving that keeps each origin's order gives the same view.
    @Test("same entries in any per-origin-consistent order give the same view", arguments: 0..<12)
    func orderIndependence(seed: UInt64) throws {
        var rng = SeededRandom(seed: 0xF01D_0000 + seed)
        var writers = Fixtures.nodes.map { Writer(origin: $0) }
        var local = Fixtures.nodes.map { _ in LedgerView(catalog: catalog, roster: roster) }
        var perOrigin: [[ViewEntry]] = Fixtures.nodes.map { _ in [] }
        let items = ["CY-01", "CY-03", "CY-07"]
        let statuses: [ItemStatus] = [.assigned, .inProgress, .delayed, .inProgress]
        for step in 0..<60 {
            let w = Int.random(in: 0..<3, using: &rng)
            let item = items.randomElement(using: &rng)!
            let entry: ViewEntry
            if Int.random(in: 0..<6, using: &rng) == 0 {
                entry = writers[w].entry(.comment(Comment(itemId: item, text: "第\(step)条")), at: UInt64(step))
            } else {
                entry = writers[w].update(
                    item,
                    statuses.randomElement(using: &rng)!,
                    progress: UInt32.random(in: 0...99, using: &rng),
                    parents: local[w].heads(of: item),
                    at: UInt64(step * 10 + Int.random(in: 0...15, using: &rng))
                )
            }
            perOrigin[w].append(entry)
            local[w].apply(entry)
            // Gossip: sometimes another node sees it at once (causal), sometimes later (concurrency).
            for other in 0..<3 where other != w && Bool.random(using: &rng) {
                local[other].apply(entry)
            }
        }
        let reference = view(perOrigin.flatMap { $0 }).states
        let total = perOrigin.map(\.count).reduce(0, +)
        #expect(view(perOrigin.flatMap { $0 }).entryCount == total)
        #expect(items.allSatisfy { item in reference.first { $0.itemId == item }?.heads.isEmpty == false })
        for _ in 0..<8 {
            var cursors = [0, 0, 0]
            var order: [ViewEntry] = []
            while order.count < perOrigin.map(\.count).reduce(0, +) {
                let o = Int.random(in: 0..<3, using: &rng)
                guard cursors[o] < perOrigin[o].count else { continue }
                order.append(perOrigin[o][cursors[o]])
                cursors[o] += 1
            }
            #expect(view(order).states == reference, "seed \(seed)")
            // Applying everything twice changes nothing.
            #expect(view(order + order.reversed()).states == reference)
        }
    }
}
