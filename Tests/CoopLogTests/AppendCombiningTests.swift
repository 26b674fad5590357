import CoopLedger
import CoopSegments
import CoopTestKit
import CoopWire
import Foundation
import Testing

@testable import CoopLog

/// Local appends are signed by whichever caller finds nobody signing (flat combining, `AppendQueue`): these tests
/// run many at once, refused ones among them, and check that every acknowledged entry is in the log at the sequence
/// number it was given, chained onto the one before it, and that refused ones took no number.
@Suite("Log store: concurrent appends signed by one caller at a time")
struct AppendCombiningTests {
    let roster: RosterBook
    let catalog: CatalogBook

    init() throws {
        roster = try Fixtures.roster()
        catalog = try Fixtures.catalog()
    }

    /// A store that writes as `cq-shapingba`.
    func openWriter(
        _ dir: CoopTestKit.TemporaryDirectory,
        options: LogStore.Options = LogStore.Options()
    ) throws -> LogStore {
        try LogStore.open(
            directory: dir.path,
            roster: roster,
            catalog: catalog,
            identity: try NodeKeys.read(name: "cq-shapingba", from: Fixtures.keysPath),
            options: options
        )
    }

    /// What one concurrent append was asked to do.
    enum Kind: CaseIterable {
        case comment, textWithNUL, staleHeads
    }

    @Test(
        "random mixes of good and refused appends: dense numbers, one chain, the results match the log",
        arguments: 0..<4
    )
    func randomMix(seed: UInt64) async throws {
        var random = SeededRandom(seed: 0xA99E_0000 + seed)
        let kinds = (0..<96).map { _ in Kind.allCases[Int(random.next() % 3)] }
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try openWriter(dir)
        let stale = EntryID(digestOf: [1, 2, 3])
        let outcomes = try await withThrowingTaskGroup(of: (Kind, Result<AppendResult, LogError>).self) { group in
            for (n, kind) in kinds.enumerated() {
                group.addTask {
                    let text = kind == .textWithNUL ? "note \(n)\u{0}" : "note \(n)"
                    let comment = EntryBody.Payload.comment(Comment(itemId: "CY-03", text: text))
                    do {
                        let result = try await store.append(comment, expectedHeads: kind == .staleHeads ? [stale] : nil)
                        return (kind, .success(result))
                    } catch let error as LogError {
                        return (kind, .failure(error))
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        var acknowledged: [AppendResult] = []
        for (kind, outcome) in outcomes {
            switch (kind, outcome) {
            case (.comment, .success(let result)):
                acknowledged.append(result)
            case (.textWithNUL, .failure(let error)):
                #expect(error.code == .refused && error.message.contains("NUL"), "\(error)")
            case (.staleHeads, .failure(let error)):
                #expect(error.code == .refused && error.message.contains("heads changed"), "\(error)")
            default:
                Issue.record("\(kind) gave \(outcome)")
            }
        }
        let good = kinds.filter { $0 == .comment }.count
        #expect(acknowledged.count == good)
        acknowledged.sort { $0.body.sequence < $1.body.sequence }
        #expect(acknowledged.map(\.body.sequence) == Array(1...UInt64(good)))
        for (before, after) in zip(acknowledged, acknowledged.dropFirst()) {
            #expect(after.body.previous == before.id.bytes)
        }
        let stored = try store.entries(of: "cq-shapingba", after: 0)
        #expect(stored.map { EntryID(of: $0) } == acknowledged.map(\.id))
        #expect(store.state(of: "CY-03")?.comments == UInt32(good))
        try await store.close()
        // The replay on open checks every sequence number and both chains.
        let reopened = try LogStore.open(directory: dir.path, roster: roster, catalog: catalog)
        #expect(reopened.recordCount == UInt64(good))
        try await reopened.close()
    }

    @Test("more appends at once than one caller signs before handing over: all acknowledged and stored")
    func handOver() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        var options = LogStore.Options()
        options.durability = .unsafeNoSync
        let store = try openWriter(dir, options: options)
        let count = 1_000
        let ids = try await withThrowingTaskGroup(of: EntryID.self) { group in
            for n in 0..<count {
                group.addTask { try await store.append(.comment(Comment(itemId: "CY-03", text: "n\(n)"))).id }
            }
            return try await group.reduce(into: Set<EntryID>()) { $0.insert($1) }
        }
        #expect(ids.count == count)
        #expect(Set(try store.entries(of: "cq-shapingba", after: 0).map { EntryID(of: $0) }) == ids)
        try await store.close()
    }

    @Test("local updates racing ingested ones on the same item: each cites exactly the heads before it in the log")
    func racingIngest() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try openWriter(dir)
        _ = try await store.updateStatus(StatusUpdate(itemId: "CY-01", status: .assigned, assignee: "区发展改革委"))
        _ = try await store.updateStatus(StatusUpdate(itemId: "CY-01", status: .inProgress, progress: 10))
        let wuhou = try EntryFactory(origin: "cd-wuhou")
        let rounds = 150
        // Concurrent with everything (no parents): each one adds a head the next local update must cite.
        var remote: [SignedEntry] = []
        for n in 1...rounds {
            remote.append(
                wuhou.entry(
                    sequence: UInt64(n),
                    previous: remote.last.map { EntryID(of: $0) },
                    payload: .statusUpdate(StatusUpdate(itemId: "CY-01", status: .inProgress, progress: 20))
                )
            )
        }
        let ingested = remote
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<rounds {
                group.addTask {
                    _ = try await store.updateStatus(
                        StatusUpdate(itemId: "CY-01", status: .inProgress, progress: UInt32(11 + n % 80))
                    )
                }
            }
            group.addTask {
                for entry in ingested {
                    let outcome = try await store.ingest(entry)
                    #expect(outcome == .stored(EntryID(of: entry), released: 0))
                }
            }
            try await group.waitForAll()
        }
        try await store.close()
        // Fold the log in record order: every local status update names as parents exactly the item's heads just
        // before its record (what the store saw when it queued it), and its predecessor is the previous local entry.
        var view = LedgerView(catalog: catalog, roster: roster)
        var local: [EntryID] = []
        try LogReader.open(directory: dir.path).forEachRecord { position, payload in
            let (record, body) = try RecordCodec.decodeWithBody(payload, at: "\(position)")
            guard case .entry(_, let id) = record.content, let body else { return }
            if body.origin == "cq-shapingba" {
                #expect(body.sequence == UInt64(local.count) + 1)
                #expect(body.previous == (local.last?.bytes ?? []))
                if case .statusUpdate = body.payload {
                    #expect(body.parents == view.heads(of: "CY-01").map(\.bytes), "record \(position)")
                }
                local.append(id)
            }
            _ = view.apply(ViewEntry(id: id, body: body))
        }
        #expect(local.count == rounds + 2)
    }
}
