import CoopLedger
import CoopLog
import CoopSegments
import CoopTestKit
import CoopWire
import Foundation
import Testing

/// The full replay on open works out each record's local chain link on the decoding threads, from the chain value
/// the record before it stores: a deleted record must still break the chain at the record after it, also at the
/// start of the log and at the start of a decoding chunk (where the record before is in the previous chunk).
extension TamperTests {
    @Test(
        "full replay on open: a deleted record breaks the local chain at the next record (first, mid-chunk, chunk edge)",
        arguments: [0, 2000, 4095, 4096, 4097]
    )
    func openRefusesDeletedRecord(_ victim: Int) async throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-open-chain")
        let original = try await makeLog(in: dir, seed: 71, entries: 4200, segmentSize: 1 << 20)
        var tamper = try LogTamper(directory: original)
        try tamper.delete(record: victim, repair: .framing)
        let target = dir.file("cut")
        try tamper.write(to: target)

        let opened = #expect(throws: LogError.self) {
            try LogStore.open(directory: target, roster: roster, catalog: catalog)
        }
        #expect(opened?.code == .corrupt)
        #expect(
            opened?.message.contains("record #\(victim) (") == true
                && opened?.message.contains("the local chain breaks here") == true,
            "\(String(describing: opened))"
        )
    }

    @Test("full replay on open and replay: several chunks give the chain and view of a one-by-one fold")
    func openReplaysChunks() async throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-open-chain")
        let original = try await makeLog(in: dir, seed: 72, entries: 4200, segmentSize: 1 << 20)
        // The reference: every record decoded and folded in order on this thread.
        var view = LedgerView(catalog: catalog, roster: roster)
        var chain = RecordCodec.genesis
        try LogReader.open(directory: original).forEachRecord { _, payload in
            let decoded = try RecordCodec.decode(payload, at: "reference")
            chain = RecordCodec.chain(after: chain, decoded.content)
            if case .entry(let bytes, let id) = decoded.content {
                let body = try EntryBody(wireBytes: try SignedEntry(wireBytes: bytes).body)
                view.apply(ViewEntry(id: id, body: body))
            }
        }

        let store = try LogStore.open(directory: original, roster: roster, catalog: catalog)
        #expect(store.recordCount == 4200)
        #expect(store.openReport.replayedRecords == 4200)
        #expect(store.chainHead == chain)
        #expect(store.states == view.states)
        try await store.close()
        let replayed = try LedgerReplay.view(directory: original, catalog: catalog, roster: roster)
        #expect(replayed.view.entryCount == 4200)
        #expect(replayed.view.states == view.states)
    }
}
