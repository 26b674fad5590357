import CoopLedger
import CoopLog
import CoopTestKit
import CoopWire
import Foundation
import Testing

/// Replay and the first open take a log to hold no evidence, and replay again when they met some
/// (``LedgerReplay`` and `LogStore.open`): the result must be that of a replay that knew the evidence first, also
/// when the evidence comes after the entries it sets aside.
@Suite("Replay with evidence after the entries it sets aside")
struct EvidenceReplayTests {
    let roster: RosterBook
    let catalog: CatalogBook

    init() throws {
        roster = try Fixtures.roster()
        catalog = try Fixtures.catalog()
    }

    func open(_ dir: CoopTestKit.TemporaryDirectory) throws -> LogStore {
        var options = LogStore.Options()
        options.durability = .unsafeNoSync
        return try LogStore.open(directory: dir.path, roster: roster, catalog: catalog, options: options)
    }

    /// CY-02's history in `dir`'s log, replayed first with `assumed` set aside.
    func history(
        _ dir: CoopTestKit.TemporaryDirectory,
        assuming assumed: [String: UInt64]
    ) throws -> [LedgerReplay.Change] {
        try LedgerReplay.history(
            directory: dir.path,
            catalog: catalog,
            roster: roster,
            itemID: "CY-02",
            assumingSetAside: assumed
        )
    }

    @Test("open without a checkpoint, replay and history set aside what evidence at the log's end names")
    func evidenceLast() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try open(dir)
        let factory = try EntryFactory(origin: "cd-wuhou")
        func update(_ status: ItemStatus, _ progress: UInt32, _ note: String) -> EntryBody.Payload {
            .statusUpdate(StatusUpdate(itemId: "CY-02", status: status, progress: progress, note: note, reporter: "x"))
        }
        let one = factory.entry(sequence: 1, previous: nil, payload: update(.assigned, 0, "one"))
        let two = factory.entry(
            sequence: 2,
            previous: EntryID(of: one),
            payload: update(.inProgress, 30, "two"),
            parents: [EntryID(of: one)]
        )
        let three = factory.entry(
            sequence: 3,
            previous: EntryID(of: two),
            payload: update(.inProgress, 60, "three"),
            parents: [EntryID(of: two)]
        )
        for entry in [one, two, three] { _ = try await store.ingest(entry) }
        let applied = try #require(store.state(of: "CY-02"))
        #expect(applied.status == .inProgress && applied.progress == 60 && applied.setAside == 0)
        // A history that assumes evidence the log does not hold replays again without it.
        for assumed in [[:], ["cd-wuhou": 1]] as [[String: UInt64]] {
            let history = try history(dir, assuming: assumed)
            #expect(history.map(\.disposition.kind) == [.applied, .applied, .applied], "assuming \(assumed)")
        }
        // A second #2: the evidence is the log's fourth record, after the two entries it sets aside.
        let twoB = factory.entry(sequence: 2, previous: EntryID(of: one), payload: update(.cancelled, 0, "fork"))
        #expect(try await store.ingest(twoB) == .equivocation(origin: "cd-wuhou", sequence: 2))
        let state = try #require(store.state(of: "CY-02"))
        #expect(state.status == .assigned && state.setAside == 2)
        try await store.close()
        try FileManager.default.removeItem(atPath: dir.path + "/checkpoint")

        let reopened = try open(dir)
        #expect(reopened.openReport.checkpointUsed == false && reopened.openReport.replayedRecords == 4)
        #expect(reopened.evidence.count == 1)
        #expect(reopened.state(of: "CY-02") == state, "the first open applied entries the evidence sets aside")
        try await reopened.close()

        let replayed = try LedgerReplay.view(directory: dir.path, catalog: catalog, roster: roster)
        #expect(replayed.view.state(of: "CY-02") == state)
        // Up to the evidence (the first three records), nothing is set aside.
        let before = try LedgerReplay.view(directory: dir.path, catalog: catalog, roster: roster, limit: .position(3))
        #expect(before.view.state(of: "CY-02") == applied)
        // Assuming nothing, the right evidence, too early a sequence number or another origin: the same history.
        for assumed in [[:], ["cd-wuhou": 2], ["cd-wuhou": 1], ["cq-shapingba": 5]] as [[String: UInt64]] {
            let history = try history(dir, assuming: assumed)
            #expect(history.map(\.disposition.kind) == [.applied, .setAside, .setAside], "assuming \(assumed)")
            #expect(history.last?.after == state)
        }
    }
}
