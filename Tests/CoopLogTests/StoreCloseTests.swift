import CoopLedger
import CoopLog
import CoopSegments
import CoopTestKit
import CoopWire
import Synchronization
import Testing

/// Closing a store while writers are busy (issue 6 §1 "Close under load"): what was queued before the close is
/// written, the checkpoint describes exactly the durable records, and the next open neither refuses nor loses an
/// acknowledged entry.
@Suite("Log store close under load")
struct StoreCloseTests {
    @Test("close while 32 writers append: every acknowledged entry is there after reopening, from the checkpoint")
    func closeUnderLoad() async throws {
        let roster = try Fixtures.roster()
        let catalog = try Fixtures.catalog()
        let keys = try NodeKeys.read(name: "cq-shapingba", from: Fixtures.keysPath)
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try LogStore.open(directory: dir.path, roster: roster, catalog: catalog, identity: keys)
        let acknowledged = Acknowledged()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<32 {
                group.addTask {
                    for i in 0... {
                        do {
                            let result = try await store.append(
                                .comment(Comment(itemId: "CY-03", text: "writer \(task) note \(i)"))
                            )
                            acknowledged.add(result.body.sequence, result.id)
                        } catch let error as LogError where error.code == .closed {
                            return
                        }
                    }
                }
            }
            // Close once writes are flowing (an event, not a delay), with appends still queued.
            while acknowledged.count < 200 { await Task.yield() }
            try await store.close()
            try await group.waitForAll()
        }
        let written = acknowledged.entries
        #expect(written.count >= 200)
        let reopened = try LogStore.open(directory: dir.path, roster: roster, catalog: catalog, identity: keys)
        #expect(reopened.openReport.checkpointUsed, "\(reopened.openReport)")
        #expect(reopened.openReport.replayedRecords == 0)
        let held = try reopened.entries(of: "cq-shapingba", after: 0)
        for (sequence, id) in written {
            #expect(sequence <= UInt64(held.count) && EntryID(of: held[Int(sequence - 1)]) == id)
        }
        // Nothing that was not acknowledged is presented: the store holds what writers were told, at most plus
        // appends whose callers had not been resumed yet when the close finished (none here: close waits).
        #expect(UInt64(held.count) == UInt64(written.count))
        try await reopened.close()
    }
}

/// Entries acknowledged to writers, by sequence number.
final class Acknowledged: Sendable {
    private let state = Mutex<[UInt64: EntryID]>([:])

    func add(_ sequence: UInt64, _ id: EntryID) { state.withLock { $0[sequence] = id } }

    var count: Int { state.withLock { $0.count } }

    var entries: [UInt64: EntryID] { state.withLock { $0 } }
}
