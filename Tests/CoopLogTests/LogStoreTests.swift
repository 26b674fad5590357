import CoopDevTools
import CoopLedger
import CoopLog
import CoopSegments
import CoopTestKit
import CoopWire
import Foundation
import Testing

@Suite("Log store")
struct LogStoreTests {
    let roster: RosterBook
    let catalog: CatalogBook

    init() throws {
        roster = try Fixtures.roster()
        catalog = try Fixtures.catalog()
    }

    func open(_ dir: CoopTestKit.TemporaryDirectory, as node: String? = "cq-shapingba") throws -> LogStore {
        try LogStore.open(
            directory: dir.path,
            roster: roster,
            catalog: catalog,
            identity: try node.map { try NodeKeys.read(name: $0, from: Fixtures.keysPath) }
        )
    }

    @Test("local writes are signed, chained and survive reopening with the same view")
    func appendAndReopen() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try open(dir)
        let a = try await store.updateStatus(StatusUpdate(itemId: "CY-01", status: .assigned, assignee: "区发展改革委"))
        let b = try await store.updateStatus(StatusUpdate(itemId: "CY-01", status: .inProgress, progress: 30))
        #expect(a.body.sequence == 1 && b.body.sequence == 2)
        #expect(b.body.previous == a.id.bytes)
        #expect(b.body.parents == [a.id.bytes])
        #expect(b.state?.status == .inProgress)
        let states = store.states
        let chain = store.chainHead
        try await store.close()
        let reopened = try open(dir)
        #expect(reopened.states == states)
        #expect(reopened.chainHead == chain)
        #expect(reopened.versionVector.origins == [OriginSequence(origin: "cq-shapingba", sequence: 2)])
        let c = try await reopened.updateStatus(StatusUpdate(itemId: "CY-01", status: .delayed, progress: 35))
        #expect(c.body.sequence == 3 && c.body.previous == b.id.bytes)
        try await reopened.close()
    }

    @Test("a node refuses to write what the rules or the life cycle forbid")
    func refusedWrites() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try open(dir, as: "cd-qingbaijiang")
        let foreign = try #require(catalog.items.first { !$0.participants.contains("cd-qingbaijiang") })
        await #expect {
            _ = try await store.updateStatus(StatusUpdate(itemId: foreign.id, status: .assigned))
        } throws: { error in
            (error as? LogError)?.code == .refused
                && (error as? LogError)?.message.contains("does not take part in \(foreign.id)") == true
        }
        let mine = try #require(catalog.items.first { $0.participants.contains("cd-qingbaijiang") })
        _ = try await store.updateStatus(StatusUpdate(itemId: mine.id, status: .cancelled))
        await #expect(throws: LogError.self) {
            _ = try await store.updateStatus(StatusUpdate(itemId: mine.id, status: .inProgress))
        }
        await #expect(throws: LogError.self) {
            _ = try await store.append(.comment(Comment(itemId: mine.id, text: "a\u{0}b")))
        }
        let readOnlyDirectory = try CoopTestKit.TemporaryDirectory()
        let readOnly = try open(readOnlyDirectory, as: nil)
        await #expect(throws: LogError.self) {
            _ = try await readOnly.updateStatus(StatusUpdate(itemId: "CY-01", status: .assigned))
        }
        try await store.close()
        try await readOnly.close()
    }

    @Test("entries travel between two stores; duplicates change nothing; the views converge")
    func exchange() async throws {
        let (d1, d2) = (try CoopTestKit.TemporaryDirectory(), try CoopTestKit.TemporaryDirectory())
        let cq = try open(d1)
        let wh = try open(d2, as: "cd-wuhou")
        let a = try await cq.updateStatus(StatusUpdate(itemId: "CY-01", status: .assigned))
        let b = try await wh.updateStatus(StatusUpdate(itemId: "CY-01", status: .inProgress, progress: 10))
        #expect(try await wh.ingest(a.signed) == .stored(a.id, released: 0))
        #expect(try await cq.ingest(b.signed) == .stored(b.id, released: 0))
        #expect(try await cq.ingest(b.signed) == .duplicate)
        #expect(cq.states == wh.states)
        #expect(cq.state(of: "CY-01")?.heads.count == 2)  // concurrent: neither saw the other
        #expect(cq.versionVector == wh.versionVector)
        #expect(try cq.entries(of: "cd-wuhou", after: 0) == [b.signed])
        try await cq.close()
        try await wh.close()
    }

    @Test("an early entry waits for the gap, then is stored with it")
    func gap() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try open(dir, as: nil)
        let chain = try EntryFactory(origin: "cd-wuhou").chain(4, item: "CY-02")
        #expect(try await store.ingest(chain[2]) == .pending(missingFrom: 1))
        #expect(try await store.ingest(chain[1]) == .pending(missingFrom: 1))
        #expect(store.pendingCounts["cd-wuhou"] == 2)
        #expect(try await store.ingest(chain[0]) == .stored(EntryID(of: chain[0]), released: 2))
        #expect(store.versionVector.origins == [OriginSequence(origin: "cd-wuhou", sequence: 3)])
        #expect(store.pendingCounts["cd-wuhou"] == nil)
        #expect(try await store.ingest(chain[3]) == .stored(EntryID(of: chain[3]), released: 0))
        try await store.close()
    }

    @Test("entries that are not authentic are refused and never stored")
    func notAuthentic() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try open(dir, as: nil)
        let good = try EntryFactory(origin: "cd-wuhou").chain(1)[0]
        var badSignature = good
        badSignature.signature[0] ^= 1
        var foreignKey = try EntryFactory(origin: "cd-qingbaijiang").chain(1)[0]
        foreignKey.body = good.body  // wuhou's body, qingbaijiang's signature
        let cases: [(SignedEntry, String)] = [
            (badSignature, "the signature does not verify with cd-wuhou's roster key"),
            (SignedEntry(body: good.body, signature: foreignKey.signature), "signature does not verify"),
            (SignedEntry(body: [0x0A, 0x01], signature: good.signature), "the body does not decode"),
            (
                SignedEntry(body: good.body + [0xA0, 0x06, 0x01], signature: good.signature),
                "not in canonical encoding"
            ),
        ]
        for (entry, reason) in cases {
            await #expect {
                _ = try await store.ingest(entry)
            } throws: { error in
                let e = error as? LogError
                return e?.code == .notAuthentic && e?.message.contains(reason) == true
            }
        }
        #expect(store.recordCount == 0)
        try await store.close()
    }

    @Test("equivocation: the first is kept, the evidence stored, the origin's entries from there set aside")
    func equivocation() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try open(dir, as: nil)
        let factory = try EntryFactory(origin: "cd-wuhou")
        let one = factory.entry(
            sequence: 1,
            previous: nil,
            payload: .statusUpdate(StatusUpdate(itemId: "CY-02", status: .assigned))
        )
        let fork = factory.entry(
            sequence: 1,
            previous: nil,
            payload: .statusUpdate(StatusUpdate(itemId: "CY-02", status: .cancelled))
        )
        #expect(try await store.ingest(one) == .stored(EntryID(of: one), released: 0))
        #expect(try await store.ingest(fork) == .equivocation(origin: "cd-wuhou", sequence: 1))
        #expect(store.evidence.count == 1)
        #expect(store.digests.first { $0.origin == "cd-wuhou" }?.evidence == 1)
        let state = try #require(store.state(of: "CY-02"))
        #expect(state.status == .planned && state.setAside == 1)
        #expect(try await store.ingest(fork) == .equivocation(origin: "cd-wuhou", sequence: 1))
        try await store.close()
        let reopened = try open(dir, as: nil)
        #expect(reopened.evidence.count == 1)
        #expect(reopened.state(of: "CY-02") == state)
        // Another node learns of it from the evidence alone.
        let otherDirectory = try CoopTestKit.TemporaryDirectory()
        let other = try open(otherDirectory, as: nil)
        _ = try await other.ingest(fork)
        #expect(try await other.ingest(reopened.evidence[0]) == true)
        #expect(try await other.ingest(reopened.evidence[0]) == false)
        #expect(other.state(of: "CY-02") == state)
        try await reopened.close()
        try await other.close()
    }

    @Test("reads with a limit of zero or less, or past the end, return nothing instead of trapping")
    func hostileReadLimits() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try open(dir, as: nil)
        for entry in try EntryFactory(origin: "cd-wuhou").chain(3, item: "CY-02") { _ = try await store.ingest(entry) }
        for limit in [0, -1, Int.min] {
            #expect(try store.entries(of: "cd-wuhou", after: 0, limit: limit).isEmpty)
        }
        #expect(try store.entries(of: "cd-wuhou", after: .max, limit: .max).isEmpty)
        #expect(try store.entries(of: "nobody", after: 0).isEmpty)
        #expect(try store.entries(of: "cd-wuhou", after: 1, limit: 1).count == 1)
        try await store.close()
    }

    @Test("32 concurrent writers: dense sequence numbers and one chain, checked by a replay")
    func concurrentWriters() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try open(dir)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<32 {
                group.addTask {
                    for i in 0..<5 {
                        _ = try await store.append(.comment(Comment(itemId: "CY-03", text: "task \(task) note \(i)")))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(store.versionVector.origins == [OriginSequence(origin: "cq-shapingba", sequence: 160)])
        try await store.close()
        let reopened = try open(dir)  // replay checks every sequence number and both chains
        #expect(reopened.recordCount == 160)
        #expect(reopened.state(of: "CY-03")?.comments == 160)
        try await reopened.close()
    }
}

@Suite("Log store checkpoints")
struct CheckpointTests {
    let roster: RosterBook
    let catalog: CatalogBook

    init() throws {
        roster = try Fixtures.roster()
        catalog = try Fixtures.catalog()
    }

    func generated(_ entries: Int) async throws -> CoopTestKit.TemporaryDirectory {
        let dir = try CoopTestKit.TemporaryDirectory()
        let keys = try Fixtures.nodes.map { try NodeKeys.read(name: $0, from: Fixtures.keysPath) }
        try await DemoLogGenerator(catalog: catalog, roster: roster, keys: keys, seed: 9)
            .generate(into: dir.path, entries: entries)
        return dir
    }

    @Test("a clean close writes a checkpoint; reopening uses it and shows the same view as a full replay")
    func roundTrip() async throws {
        let dir = try await generated(600)
        let first = try LogStore.open(directory: dir.path, roster: roster, catalog: catalog)
        #expect(!first.openReport.checkpointUsed && first.openReport.replayedRecords == 600)
        let states = first.states
        let vector = first.versionVector
        try await first.close()
        let second = try LogStore.open(directory: dir.path, roster: roster, catalog: catalog)
        #expect(second.openReport.checkpointUsed)
        #expect(second.openReport.replayedRecords == 0)
        #expect(second.states == states)
        #expect(second.versionVector == vector)
        // Entries after the checkpoint are replayed on top of it.
        let entry = try EntryFactory(origin: "cq-shapingba")
        let next = vector.origins.first { $0.origin == "cq-shapingba" }!.sequence + 1
        let held = try second.entries(of: "cq-shapingba", after: next - 2)
        _ = try await second.ingest(
            entry.entry(
                sequence: next,
                previous: EntryID(of: held.last!),
                payload: .comment(CoopWire.Comment(itemId: "CY-01", text: "after the checkpoint"))
            )
        )
        let after = second.states
        try await second.close()
        try FileManager.default.removeItem(atPath: dir.file("checkpoint"))
        let replayed = try LogStore.open(directory: dir.path, roster: roster, catalog: catalog)
        #expect(!replayed.openReport.checkpointUsed && replayed.openReport.replayedRecords == 601)
        #expect(replayed.states == after)
        try await replayed.close()
    }

    @Test("a damaged checkpoint is not used: the store replays the log and says why")
    func damaged() async throws {
        let dir = try await generated(50)
        try await LogStore.open(directory: dir.path, roster: roster, catalog: catalog).close()
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("checkpoint"))))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file("checkpoint")))
        let store = try LogStore.open(directory: dir.path, roster: roster, catalog: catalog)
        #expect(!store.openReport.checkpointUsed)
        #expect(store.openReport.note?.hasPrefix("checkpoint not used: its checksum does not match") == true)
        #expect(store.recordCount == 50)
        try await store.close()
    }

    @Test("a checkpoint written under another catalog is not used; the log is replayed against the new one")
    func changedCatalog() async throws {
        let dir = try await generated(80)
        try await LogStore.open(directory: dir.path, roster: roster, catalog: catalog).close()
        var edited = catalog.catalog
        edited.items[0].targetEn += " (revised)"
        let revised = try CatalogBook(edited, roster: roster)
        #expect(revised.hash != catalog.hash)
        let store = try LogStore.open(directory: dir.path, roster: roster, catalog: revised)
        #expect(!store.openReport.checkpointUsed)
        #expect(store.openReport.note == "checkpoint not used: the catalog or roster changed since it was written")
        #expect(store.recordCount == 80)
        try await store.close()
    }

    @Test("a log shorter than its checkpoint refuses to open: acknowledged records were lost")
    func lostRecords() async throws {
        let dir = try await generated(50)
        try await LogStore.open(directory: dir.path, roster: roster, catalog: catalog).close()
        let segment = dir.file("log/00000001.seg")
        let size = try FileManager.default.attributesOfItem(atPath: segment)[.size] as! Int
        let reader = try LogReader.open(directory: dir.path)
        var cut = 0
        try reader.forEachRecord { position, _ in if position.index == 40 { cut = Int(position.offset) } }
        #expect(cut > 0 && cut < size)
        #expect(truncate(segment, off_t(cut)) == 0)
        let error = #expect(throws: LogError.self) {
            _ = try LogStore.open(directory: dir.path, roster: roster, catalog: catalog)
        }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("records were lost") == true)
    }
}

@Suite("Replay")
struct ReplayTests {
    /// The parallel replay (chunks of 4096 decoded on all cores) against a plain sequential fold, at positions
    /// around chunk boundaries.
    @Test("LedgerReplay at any position equals a sequential fold of the first N records")
    func positions() async throws {
        let roster = try Fixtures.roster()
        let catalog = try Fixtures.catalog()
        let dir = try CoopTestKit.TemporaryDirectory()
        let keys = try Fixtures.nodes.map { try NodeKeys.read(name: $0, from: Fixtures.keysPath) }
        try await DemoLogGenerator(catalog: catalog, roster: roster, keys: keys, seed: 4)
            .generate(into: dir.path, entries: 9000)
        var sequential = LedgerView(catalog: catalog, roster: roster)
        var expected: [UInt64: [ItemState]] = [0: sequential.states]
        let positions: Set<UInt64> = [1, 4095, 4096, 4097, 8192, 8999, 9000]
        try LogReader.open(directory: dir.path).forEachRecord { position, payload in
            let decoded = try RecordCodec.decode(payload, at: "record \(position.index)")
            guard case .entry(let bytes, let id) = decoded.content else { return }
            sequential.apply(ViewEntry(id: id, body: try EntryBody(wireBytes: try SignedEntry(wireBytes: bytes).body)))
            if positions.contains(position.index + 1) { expected[position.index + 1] = sequential.states }
        }
        for (n, states) in expected {
            let (view, records) = try LedgerReplay.view(
                directory: dir.path,
                catalog: catalog,
                roster: roster,
                limit: .position(n)
            )
            #expect(records == n)
            #expect(view.states == states, "position \(n)")
        }
        // A full replay on open (no checkpoint yet) agrees too.
        let store = try LogStore.open(directory: dir.path, roster: roster, catalog: catalog)
        #expect(store.states == expected[9000])
        try await store.close()
    }
}
