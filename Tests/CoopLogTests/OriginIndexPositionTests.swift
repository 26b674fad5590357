import CoopDevTools
import CoopLedger
import CoopSegments
import CoopTestKit
import CoopWire
import Foundation
import Synchronization
import Testing

@testable import CoopLog

/// The origin indexes hold each entry's position in the view's id set instead of the id (issue 9, memory): on every
/// path that adds entries or replaces the view, the id an index gives for a sequence number is the one the log holds.
@Suite("Origin index positions")
struct OriginIndexPositionTests {
    let roster: RosterBook
    let catalog: CatalogBook

    init() throws {
        roster = try Fixtures.roster()
        catalog = try Fixtures.catalog()
    }

    func open(
        _ dir: CoopTestKit.TemporaryDirectory,
        as node: String? = nil,
        clock: TestClock? = nil,
        durability: SegmentedLog.Durability = .unsafeNoSync
    ) throws -> LogStore {
        var options = LogStore.Options()
        options.durability = durability
        options.maxClockSkewMs = 1000
        if let clock { options.physicalClock = { clock.now } }
        return try LogStore.open(
            directory: dir.path,
            roster: roster,
            catalog: catalog,
            identity: try node.map { try NodeKeys.read(name: $0, from: Fixtures.keysPath) },
            options: options
        )
    }

    func generated(_ entries: Int) async throws -> CoopTestKit.TemporaryDirectory {
        let dir = try CoopTestKit.TemporaryDirectory()
        let keys = try Fixtures.nodes.map { try NodeKeys.read(name: $0, from: Fixtures.keysPath) }
        try await DemoLogGenerator(catalog: catalog, roster: roster, keys: keys, seed: 5)
            .generate(into: dir.path, entries: entries)
        return dir
    }

    /// Checks the store's indexes against what its log holds: per origin and sequence number, the id through the
    /// view equals the id of the entry read back from the log; each view position is used exactly once; the digests'
    /// heads agree. Returns the indexed ids.
    @discardableResult
    func expectIndexMatchesLog(
        _ store: LogStore,
        _ comment: Testing.Comment? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [String: [EntryID]] {
        let indexed = store.indexedIDs
        for (origin, ids) in indexed {
            let stored = try store.entries(of: origin, after: 0).map { EntryID(of: $0) }
            #expect(
                Self.difference([origin: ids], [origin: stored]) == nil,
                "the index against the entries read back \(comment.map { "(\($0))" } ?? "")",
                sourceLocation: sourceLocation
            )
        }
        #expect(store.positionsCoverView, comment, sourceLocation: sourceLocation)
        for digest in store.digests where digest.sequence > 0 {
            #expect(
                digest.head == indexed[digest.origin]?[Int(digest.sequence - 1)].bytes,
                comment,
                sourceLocation: sourceLocation
            )
        }
        return indexed
    }

    /// Each origin's entries, read from the log's records one by one without the store (a fresh full replay of the
    /// ids): what the indexes must give.
    func logHolds(_ dir: CoopTestKit.TemporaryDirectory) throws -> [String: [EntryID]] {
        var out: [String: [EntryID]] = [:]
        try LogReader.open(directory: dir.path).forEachRecord { position, payload in
            let (record, body) = try RecordCodec.decodeWithBody(payload, at: "\(position)")
            if case .entry(_, let id) = record.content, let body {
                #expect(UInt64(out[body.origin, default: []].count) + 1 == body.sequence)
                out[body.origin, default: []].append(id)
            }
        }
        return out
    }

    @Test("writes, ingest (early, held, batches, duplicates, evidence): the ids by sequence number are the log's")
    func writesAndIngest() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let clock = TestClock(1_700_000_000_000)
        let store = try open(dir, as: "cq-shapingba", clock: clock)
        let wuhou = try EntryFactory(origin: "cd-wuhou")
        let qingbaijiang = try EntryFactory(origin: "cd-qingbaijiang")
        let chain = wuhou.chain(6, item: "CY-02")
        let comment = { (text: String) in EntryBody.Payload.comment(CoopWire.Comment(itemId: "CY-01", text: text)) }

        _ = try await store.append(comment("one"))
        // #4…6 wait for the gap; #1…3 release them.
        for entry in chain[3...] { _ = try await store.ingest(entry) }
        _ = try await store.append(comment("two"))
        for entry in chain[..<3] { _ = try await store.ingest(entry) }
        #expect(store.pendingCounts.isEmpty)
        try expectIndexMatchesLog(store, "after the gap filled")

        // A batch with duplicates, then the same batch again.
        let batch = qingbaijiang.chain(10, item: "CY-03")
        #expect(try await store.ingest(batch: Array(batch[..<7])).stored == 7)
        #expect(try await store.ingest(batch: batch).duplicates == 7)
        _ = try await store.append(comment("three"))

        // An entry stamped far ahead is held (no position), then taken when the clock catches up.
        let ahead = wuhou.entry(
            sequence: 7,
            previous: EntryID(of: chain[5]),
            payload: .comment(CoopWire.Comment(itemId: "CY-02", text: "ahead")),
            wallMs: 1_700_000_000_000 + 60_000
        )
        #expect(try await store.ingest(ahead) == .held(aheadMs: 60_007))
        #expect(store.indexedIDs["cd-wuhou"]?.count == 6)
        try expectIndexMatchesLog(store, "with an entry held")
        clock.advance(by: 60_000)
        #expect(try await store.releaseHeldEntries() == 1)
        #expect(store.indexedIDs["cd-wuhou"]?.last == EntryID(of: ahead))

        // Evidence: the second entry at a held number is not stored and gets no position.
        let fork = qingbaijiang.entry(
            sequence: 4,
            previous: EntryID(of: batch[2]),
            payload: .comment(CoopWire.Comment(itemId: "CY-03", text: "fork"))
        )
        #expect(try await store.ingest(fork) == .equivocation(origin: "cd-qingbaijiang", sequence: 4))
        _ = try await store.append(comment("four"))
        let indexed = try expectIndexMatchesLog(store, "after evidence")
        #expect(!indexed.values.joined().contains(EntryID(of: fork)))
        #expect(indexed.values.map(\.count).reduce(0, +) == store.state.withLock { $0.view.entryCount })
        #expect(try Self.difference(indexed, logHoldsWhileOpen(store)) == nil)

        // Reopened from the checkpoint and by a full replay: the same ids.
        try await store.close()
        #expect(try Self.difference(logHolds(dir), indexed) == nil)
        let reopened = try open(dir, as: "cq-shapingba", clock: clock)
        #expect(reopened.openReport.checkpointUsed)
        #expect(try Self.difference(expectIndexMatchesLog(reopened, "from the checkpoint"), indexed) == nil)
        try await reopened.close()
        try FileManager.default.removeItem(atPath: dir.file("checkpoint"))
        let replayed = try open(dir, as: "cq-shapingba", clock: clock)
        #expect(!replayed.openReport.checkpointUsed)
        #expect(try Self.difference(expectIndexMatchesLog(replayed, "after a full replay"), indexed) == nil)
        try await replayed.close()
    }

    @Test("opened from a checkpoint with records after it replayed: ids by sequence are the log's, and chain on")
    func checkpointAndTail() async throws {
        let dir = try await generated(600)
        try await open(dir).close()
        let early = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("checkpoint"))))
        let store = try open(dir, as: "cq-shapingba")
        #expect(store.openReport.checkpointUsed)
        try expectIndexMatchesLog(store, "from the checkpoint")
        // Local writes chain onto the last entry the restored index names.
        for k in 0..<3 {
            let written = try await store.append(.comment(CoopWire.Comment(itemId: "CY-01", text: "after \(k)")))
            #expect(written.body.previous == store.indexedIDs["cq-shapingba"]?.dropLast().last?.bytes)
        }
        let wuhou = try EntryFactory(origin: "cd-wuhou")
        let held = try #require(store.indexedIDs["cd-wuhou"])
        let next = wuhou.entry(
            sequence: UInt64(held.count + 1),
            previous: held.last,
            payload: .comment(CoopWire.Comment(itemId: "CY-02", text: "after the checkpoint"))
        )
        #expect(try await store.ingest(next) == .stored(EntryID(of: next), released: 0))
        let indexed = try expectIndexMatchesLog(store, "after writes")
        try await store.close()

        // The earlier checkpoint again: the four records after it are replayed on top of it.
        try Data(early).write(to: URL(fileURLWithPath: dir.file("checkpoint")))
        let tail = try open(dir, as: "cq-shapingba")
        #expect(tail.openReport.checkpointUsed && tail.openReport.replayedRecords == 4)
        #expect(try Self.difference(expectIndexMatchesLog(tail, "checkpoint and tail"), indexed) == nil)
        #expect(try Self.difference(indexed, logHoldsWhileOpen(tail)) == nil)
        try await tail.close()
        #expect(try Self.difference(logHolds(dir), indexed) == nil)
    }

    @Test("a view refolded after evidence (from a checkpoint, ids by origin, to log order) moves the positions with it")
    func rebuildAfterCheckpoint() async throws {
        let dir = try await generated(600)
        try await open(dir).close()
        let store = try open(dir, as: "cq-shapingba")
        #expect(store.openReport.checkpointUsed)
        let before = try expectIndexMatchesLog(store, "from the checkpoint")
        let orderBefore = store.state.withLock { $0.view.seenIDs }

        // Another entry at a durable number of cd-wuhou: evidence; cd-wuhou is set aside from there, the view refolded.
        let wuhou = try EntryFactory(origin: "cd-wuhou")
        let held = try #require(before["cd-wuhou"])
        let fork = wuhou.entry(
            sequence: 20,
            previous: held[18],
            payload: .comment(CoopWire.Comment(itemId: "CY-02", text: "fork at 20"))
        )
        #expect(try await store.ingest(fork) == .equivocation(origin: "cd-wuhou", sequence: 20))
        #expect(store.viewRebuildCount == 1)
        let orderAfter = store.state.withLock { $0.view.seenIDs }
        // The refolded view holds the same ids in log order, which the checkpoint's (origin by origin) is not.
        #expect(Set(orderAfter) == Set(orderBefore) && orderAfter != orderBefore)
        #expect(try Self.difference(expectIndexMatchesLog(store, "after the refold"), before) == nil)

        // What reads and writes the indexes afterwards: duplicates, chaining, digests.
        #expect(try await store.ingest(try store.entries(of: "cd-wuhou", after: 4, limit: 1)[0]) == .duplicate)
        let written = try await store.append(.comment(CoopWire.Comment(itemId: "CY-01", text: "after the refold")))
        #expect(written.body.previous == before["cq-shapingba"]?.last?.bytes)
        let earlier = wuhou.entry(
            sequence: 3,
            previous: held[1],
            payload: .comment(CoopWire.Comment(itemId: "CY-02", text: "3"))
        )
        #expect(try await store.ingest(earlier) == .equivocation(origin: "cd-wuhou", sequence: 3))
        #expect(store.viewRebuildCount == 2)
        let indexed = try expectIndexMatchesLog(store, "after the second refold")
        let states = store.states
        try await store.close()

        #expect(try Self.difference(logHolds(dir), indexed) == nil)
        try FileManager.default.removeItem(atPath: dir.file("checkpoint"))
        let replayed = try open(dir)
        #expect(try Self.difference(expectIndexMatchesLog(replayed, "full replay"), indexed) == nil)
        #expect(replayed.states == states)
        try await replayed.close()
    }

    @Test("writers appending while evidence refolds the view again and again: ids by sequence stay the log's")
    func rebuildsUnderConcurrentWrites() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try open(dir, as: "cq-shapingba", durability: .durable)
        let wuhou = try EntryFactory(origin: "cd-wuhou")
        let chain = wuhou.chain(12, item: "CY-02")
        #expect(try await store.ingest(batch: chain).stored == 12)
        // Forks at ever earlier numbers: each sets more of cd-wuhou aside, so each refolds the view.
        let forks = stride(from: 12, through: 1, by: -1).map { sequence in
            wuhou.entry(
                sequence: UInt64(sequence),
                previous: sequence > 1 ? EntryID(of: chain[sequence - 2]) : nil,
                payload: .comment(CoopWire.Comment(itemId: "CY-02", text: "fork \(sequence)"))
            )
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<4 {
                group.addTask {
                    for k in 0..<25 {
                        _ = try await store.append(
                            .comment(CoopWire.Comment(itemId: "CY-01", text: "writer \(w) #\(k)"))
                        )
                    }
                }
            }
            group.addTask {
                for fork in forks { _ = try await store.ingest(fork) }
            }
            try await group.waitForAll()
        }
        #expect(store.viewRebuildCount == 12)
        let indexed = try expectIndexMatchesLog(store, "after the writers")
        #expect(indexed["cq-shapingba"]?.count == 100)
        #expect(try Self.difference(indexed, logHoldsWhileOpen(store)) == nil)
        try await store.close()
        try FileManager.default.removeItem(atPath: dir.file("checkpoint"))
        let replayed = try open(dir)
        #expect(try Self.difference(expectIndexMatchesLog(replayed, "full replay"), indexed) == nil)
        try await replayed.close()
    }

    @Test("a checkpoint that lists an entry twice is not used (the positions would not fit the view); replayed")
    func checkpointWithRepeatedID() async throws {
        let dir = try await generated(40)
        let first = try open(dir)
        let indexed = first.indexedIDs
        try await first.close()
        let path = dir.file("checkpoint")
        var checkpoint = try Checkpoint.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
        checkpoint.ids[1] = checkpoint.ids[0]
        try Data(checkpoint.encode()).write(to: URL(fileURLWithPath: path))
        let store = try open(dir)
        #expect(!store.openReport.checkpointUsed)
        #expect(store.openReport.note?.contains("lists an entry more than once") == true, "\(store.openReport)")
        #expect(try Self.difference(expectIndexMatchesLog(store), indexed) == nil)
        try await store.close()
    }

    /// Where two sets of ids by origin first differ (short, for a failure message), or `nil`.
    static func difference(_ a: [String: [EntryID]], _ b: [String: [EntryID]]) -> String? {
        guard a.keys.sorted() == b.keys.sorted() else { return "origins \(a.keys.sorted()) vs \(b.keys.sorted())" }
        for origin in a.keys.sorted() {
            let (x, y) = (a[origin]!, b[origin]!)
            if let k = x.indices.first(where: { $0 < y.count && x[$0] != y[$0] }) {
                return "\(origin)#\(k + 1): \(x[k].short) vs \(y[k].short)"
            }
            if x.count != y.count { return "\(origin): \(x.count) vs \(y.count) entries" }
        }
        return nil
    }

    /// Each origin's ids as the store reads its entries back (by the records the index names).
    func logHoldsWhileOpen(_ store: LogStore) throws -> [String: [EntryID]] {
        var out: [String: [EntryID]] = [:]
        for origin in store.versionVector.origins.map(\.origin) {
            out[origin] = try store.entries(of: origin, after: 0).map { EntryID(of: $0) }
        }
        return out
    }
}

extension LogStore {
    /// Per origin, the ids its index gives for sequence numbers 1…count, through the view.
    var indexedIDs: [String: [EntryID]] {
        state.withLock { s in
            s.origins.mapValues { index in (0..<index.count).map { index.id(at: $0 + 1, in: s.view) } }
        }
    }

    /// Whether the indexes name every position of the view's ids exactly once (the view holds the store's entries
    /// and nothing else).
    var positionsCoverView: Bool {
        state.withLock { s in
            s.origins.values.flatMap(\.positions).sorted() == Array(0..<UInt32(s.view.entryCount))
        }
    }
}
