import CoopLedger
import CoopLog
import CoopSegments
import CoopTestKit
import CoopWire
import Synchronization
import Testing

/// Ingest against hostile or unlucky peers (issue 6 §1 "Ingest" and "Clock"): forks seen through a gap, known
/// equivocations re-sent, and clocks running far ahead.
@Suite("Log store ingest, hardened")
struct IngestHardeningTests {
    let roster: RosterBook
    let catalog: CatalogBook

    init() throws {
        roster = try Fixtures.roster()
        catalog = try Fixtures.catalog()
    }

    /// A store whose physical clock is `clock` (milliseconds), with a small allowed skew.
    func open(
        _ dir: CoopTestKit.TemporaryDirectory,
        as node: String? = nil,
        clock: TestClock? = nil,
        maxSkewMs: UInt64 = 1000
    ) throws -> LogStore {
        var options = LogStore.Options()
        options.durability = .unsafeNoSync
        options.maxClockSkewMs = maxSkewMs
        if let clock { options.physicalClock = { clock.now } }
        return try LogStore.open(
            directory: dir.path,
            roster: roster,
            catalog: catalog,
            identity: try node.map { try NodeKeys.read(name: $0, from: Fixtures.keysPath) },
            options: options
        )
    }

    @Test("a batch re-sent is counted as duplicates; a different entry at a held number is still checked")
    func batchDuplicates() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try open(dir)
        let factory = try EntryFactory(origin: "cd-wuhou")
        var entries: [SignedEntry] = []
        for index in 1...40 {
            entries.append(
                factory.entry(
                    sequence: UInt64(index),
                    previous: entries.last.map { EntryID(of: $0) },
                    payload: .comment(Comment(itemId: "CY-02", text: "跟踪 \(index)"))
                )
            )
        }
        let first = try await store.ingest(batch: entries)
        #expect(first.stored == 40 && first.duplicates == 0 && first.refused.isEmpty)
        let again = try await store.ingest(batch: entries)
        #expect(again.stored == 0 && again.duplicates == 40 && again.refused.isEmpty)

        // The same body with a broken signature is another entry (another id): verified, and refused.
        var forged = entries[9]
        forged.signature[0] ^= 0x01
        let other = factory.entry(
            sequence: 10,
            previous: EntryID(of: entries[8]),
            payload: .comment(Comment(itemId: "CY-02", text: "another 10"))
        )
        let mixed = try await store.ingest(batch: Array(entries[0..<20]) + [forged, other])
        #expect(mixed.duplicates == 20)
        #expect(mixed.refused.count == 1 && mixed.refused[0].contains("signature"), "\(mixed.refused)")
        #expect(mixed.equivocations == ["cd-wuhou#10"])
        try await store.close()
    }

    @Test("an early entry on another branch is dropped and reported when the gap fills, not kept forever")
    func forkThroughAGap() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try open(dir)
        let factory = try EntryFactory(origin: "cd-wuhou")
        let comment = { (text: String) in EntryBody.Payload.comment(Comment(itemId: "CY-02", text: text)) }
        let one = factory.entry(sequence: 1, previous: nil, payload: comment("one"))
        let two = factory.entry(sequence: 2, previous: EntryID(of: one), payload: comment("two"))
        let three = factory.entry(sequence: 3, previous: EntryID(of: two), payload: comment("three"))
        let twoB = factory.entry(sequence: 2, previous: EntryID(of: one), payload: comment("two, other branch"))
        let threeB = factory.entry(sequence: 3, previous: EntryID(of: twoB), payload: comment("three, other branch"))

        #expect(try await store.ingest(threeB) == .pending(missingFrom: 1))
        #expect(try await store.ingest(one) == .stored(EntryID(of: one), released: 0))
        #expect(try await store.ingest(two) == .stored(EntryID(of: two), released: 0))
        // threeB names twoB before it, but two is held: it would never chain on.
        #expect(store.pendingCounts["cd-wuhou"] == nil)
        let report = try #require(store.forkReports.last)
        #expect(report.origin == "cd-wuhou" && report.sequence == 3 && report.entry == EntryID(of: threeB))
        #expect(report.claimedPrevious == EntryID(of: twoB) && report.heldPrevious == EntryID(of: two))
        #expect(report.action == .droppedWhileWaiting)
        // The real successor is taken.
        #expect(try await store.ingest(three) == .stored(EntryID(of: three), released: 0))
        // twoB itself is an equivocation at #2: evidence, as ever.
        #expect(try await store.ingest(twoB) == .equivocation(origin: "cd-wuhou", sequence: 2))
        #expect(store.evidence.count == 1)
        // threeB arriving now is another entry at #3: evidence too.
        #expect(try await store.ingest(threeB) == .equivocation(origin: "cd-wuhou", sequence: 3))
        // The next entry of the other branch, in order but naming threeB: refused and reported.
        let fourB = factory.entry(sequence: 4, previous: EntryID(of: threeB), payload: comment("four, other branch"))
        let refused = await #expect(throws: LogError.self) { try await store.ingest(fourB) }
        #expect(refused?.code == .refused)
        #expect(store.forkReports.last?.action == .refused)
        try await store.close()
    }

    @Test("evidence found between two early entries sets the origin aside in the view when the gap fills")
    func evidenceWhileWaitingSetsAside() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try open(dir)
        let factory = try EntryFactory(origin: "cd-wuhou")
        let update = { (note: String) in
            EntryBody.Payload.statusUpdate(
                StatusUpdate(itemId: "CY-02", status: .assigned, progress: 10, note: note, reporter: "x")
            )
        }
        let one = factory.entry(sequence: 1, previous: nil, payload: .comment(Comment(itemId: "CY-02", text: "one")))
        let two = factory.entry(sequence: 2, previous: EntryID(of: one), payload: update("two"))
        let twoB = factory.entry(sequence: 2, previous: EntryID(of: one), payload: update("two, other branch"))
        #expect(try await store.ingest(batch: [two]).pending == 1)
        // The second #2 meets the first while both wait for #1: evidence, so cd-wuhou is set aside from #2.
        #expect(try await store.ingest(batch: [twoB]).equivocations == ["cd-wuhou#2"])
        // #1 fills the gap and releases the waiting #2, which must be set aside, not applied.
        #expect(try await store.ingest(batch: [one]).stored == 2)
        let state = try #require(store.state(of: "CY-02"))
        #expect(state.status == .planned, "an entry past the equivocation was applied: \(state)")
        #expect(state.setAside == 1)
        try await store.close()
        // Reopened from the files, the view is the same.
        let reopened = try open(dir)
        #expect(reopened.state(of: "CY-02") == state)
        try await reopened.close()
    }

    @Test("the view is refolded only when new evidence changes what is set aside; re-sent evidence costs nothing")
    func refoldOnlyOnNewEvidence() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try open(dir)
        let factory = try EntryFactory(origin: "cd-wuhou")
        let chain = factory.chain(3, item: "CY-02")
        for entry in chain { _ = try await store.ingest(entry) }
        let forkAt2 = factory.entry(
            sequence: 2,
            previous: EntryID(of: chain[0]),
            payload: .comment(Comment(itemId: "CY-02", text: "fork at 2"))
        )
        #expect(try await store.ingest(forkAt2) == .equivocation(origin: "cd-wuhou", sequence: 2))
        #expect(store.viewRebuildCount == 1)
        // The same equivocation again, as an entry and as evidence: nothing new, no refold.
        for _ in 0..<20 {
            #expect(try await store.ingest(forkAt2) == .equivocation(origin: "cd-wuhou", sequence: 2))
            #expect(try await store.ingest(store.evidence[0]) == false)
        }
        #expect(store.viewRebuildCount == 1)
        // New evidence at a later sequence number does not change what is set aside (from #2 on): no refold.
        let forkAt3 = factory.entry(
            sequence: 3,
            previous: EntryID(of: chain[1]),
            payload: .comment(Comment(itemId: "CY-02", text: "fork at 3"))
        )
        #expect(try await store.ingest(forkAt3) == .equivocation(origin: "cd-wuhou", sequence: 3))
        #expect(store.evidence.count == 2)
        #expect(store.viewRebuildCount == 1)
        // New evidence at an earlier one does.
        let forkAt1 = factory.entry(
            sequence: 1,
            previous: nil,
            payload: .comment(Comment(itemId: "CY-02", text: "fork at 1"))
        )
        #expect(try await store.ingest(forkAt1) == .equivocation(origin: "cd-wuhou", sequence: 1))
        #expect(store.viewRebuildCount == 2)
        #expect(store.state(of: "CY-02")?.setAside == 3)
        try await store.close()
    }

    @Test("an entry stamped beyond the allowed skew is held, not stored or applied, and taken once time catches up")
    func heldForSkew() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let now = TestClock(1_800_000_000_000)
        let store = try open(dir, as: "cq-shapingba", clock: now, maxSkewMs: 1000)
        let factory = try EntryFactory(origin: "cd-wuhou")
        let fast = factory.entry(
            sequence: 1,
            previous: nil,
            payload: .statusUpdate(StatusUpdate(itemId: "CY-02", status: .assigned, progress: 5, note: "ahead")),
            wallMs: 1_800_000_000_000 + 3_600_000
        )
        let outcome = try await store.ingest(fast)
        #expect(outcome == .held(aheadMs: 3_600_001))
        #expect(store.recordCount == 0)
        #expect(store.heldCounts == ["cd-wuhou": 1])
        #expect(store.clockSkews["cd-wuhou"] == 3_600_001)
        #expect(store.state(of: "CY-02")?.status == .planned)
        // Held again, not twice.
        #expect(try await store.ingest(fast) == .held(aheadMs: 3_600_001))
        #expect(store.heldCounts == ["cd-wuhou": 1])
        // This node's own writes are not dragged ahead by it.
        let local = try await store.append(.comment(Comment(itemId: "CY-02", text: "local")))
        #expect(local.body.timestamp?.wallMs == 1_800_000_000_000)
        // Not yet within the skew: still held.
        now.advance(by: 3_000_000)
        #expect(try await store.releaseHeldEntries() == 0)
        // Within the skew: taken.
        now.advance(by: 600_000)
        #expect(try await store.releaseHeldEntries() == 1)
        #expect(store.heldCounts.isEmpty)
        #expect(store.versionVector.origins.contains(OriginSequence(origin: "cd-wuhou", sequence: 1)))
        #expect(store.state(of: "CY-02")?.status == .assigned)
        try await store.close()
    }

    @Test("a held entry refused when its time comes does not fail the unrelated ingest that released it")
    func heldEntryRefusedOnRelease() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let now = TestClock(1_800_000_000_000)
        let store = try open(dir, clock: now, maxSkewMs: 1000)
        let wuhou = try EntryFactory(origin: "cd-wuhou")
        let one = wuhou.entry(sequence: 1, previous: nil, payload: .comment(Comment(itemId: "CY-02", text: "one")))
        _ = try await store.ingest(one)
        // #2 from the future, naming a predecessor this store does not hold.
        let stray = wuhou.entry(
            sequence: 2,
            previous: EntryID(
                of: wuhou.entry(sequence: 1, previous: nil, payload: .comment(Comment(itemId: "CY-02", text: "other")))
            ),
            payload: .comment(Comment(itemId: "CY-02", text: "two, other branch")),
            wallMs: 1_800_000_000_000 + 60_000
        )
        #expect(try await store.ingest(stray) == .held(aheadMs: 60_002))
        now.advance(by: 120_000)
        let other = try EntryFactory(origin: "cd-qingbaijiang").chain(1, item: "CY-04")[0]
        #expect(try await store.ingest(other) == .stored(EntryID(of: other), released: 0))
        #expect(store.heldCounts.isEmpty)
        #expect(store.forkReports.last?.entry == EntryID(of: stray))
        #expect(store.forkReports.last?.action == .refused)
        try await store.close()
    }

    @Test("the view depends on the entries only: holding for skew delays, it never changes the outcome")
    func heldViewsConverge() async throws {
        let factory = try EntryFactory(origin: "cd-wuhou")
        let entries = (1...4).reduce(into: [SignedEntry]()) { out, i in
            out.append(
                factory.entry(
                    sequence: UInt64(i),
                    previous: out.last.map { EntryID(of: $0) },
                    payload: .comment(Comment(itemId: "CY-02", text: "note \(i)")),
                    wallMs: 1_800_000_000_000 + UInt64(i) * 400_000
                )
            )
        }
        // One node's clock is behind the entries' (it holds some at first), the other's is ahead of them all.
        let slowDir = try CoopTestKit.TemporaryDirectory()
        let fastDir = try CoopTestKit.TemporaryDirectory()
        let slowClock = TestClock(1_800_000_000_000)
        let slow = try open(slowDir, clock: slowClock, maxSkewMs: 500_000)
        let fast = try open(fastDir, clock: TestClock(1_900_000_000_000), maxSkewMs: 500_000)
        for entry in entries.reversed() {
            _ = try await slow.ingest(entry)
            _ = try await fast.ingest(entry)
        }
        #expect(slow.recordCount < 4)
        slowClock.advance(by: 2_000_000)
        _ = try await slow.releaseHeldEntries()
        #expect(slow.recordCount == 4 && fast.recordCount == 4)
        #expect(slow.states == fast.states)
        #expect(slow.versionVector == fast.versionVector)
        try await slow.close()
        try await fast.close()
    }
}

/// A physical clock for a store that a test moves by hand.
final class TestClock: Sendable {
    private let ms: Mutex<UInt64>

    init(_ start: UInt64) { ms = Mutex(start) }

    var now: UInt64 { ms.withLock { $0 } }

    func advance(by delta: UInt64) { ms.withLock { $0 += delta } }
}
