import CoopLedger
import CoopLog
import CoopNode
import CoopRPC
import CoopServices
import CoopWire
import Synchronization
import Testing

/// Graceful shutdown while staff write: every call in flight is answered, never a server fault, and every write
/// answered OK is in the log afterwards.
@Suite("Node drain", .timeLimit(.minutes(5)))
struct NodeDrainTests {
    @Test("stopping during writes: each call ends OK or UNAVAILABLE, every OK is durable")
    func drainDuringWrites() async throws {
        let harness = try await NodeHarness.start()
        let (item, _) = try LedgerNodeTests.items(harness)
        let ledgers = try await [0, 1, 2, 3].asyncMap { _ in try await harness.ledger(as: "staff.wuhou") }
        final class Tally: Sendable {
            let ok = Mutex<[[UInt8]]>([])
            let failed = Mutex<[RPCError]>([])
        }
        let tally = Tally()
        let writers = Task {
            await withTaskGroup(of: Void.self) { group in
                for ledger in ledgers {
                    group.addTask {
                        for round in 0..<400 {
                            do {
                                let response = try await ledger.updateStatus(
                                    UpdateStatusRequest(
                                        itemId: item,
                                        status: .inProgress,
                                        progress: UInt32(round % 100)
                                    ),
                                    options: testCall
                                )
                                tally.ok.withLock { $0.append(response.entryId) }
                            } catch let error as RPCError {
                                tally.failed.withLock { $0.append(error) }
                                return
                            } catch {
                                tally.failed.withLock { $0.append(RPCError(code: .unknown, message: "\(error)")) }
                                return
                            }
                        }
                    }
                }
            }
        }
        while tally.ok.withLock({ $0.count }) < 20 { try await Task.sleep(for: .milliseconds(5)) }
        try await harness.stop()
        _ = await writers.result
        let failures = tally.failed.withLock { $0 }
        // UNAVAILABLE: answered by the draining node, or a call sent after it stopped listening, which waits for a
        // connection until the test closes its clients. Never CANCELLED or INTERNAL for a call in flight.
        for error in failures {
            #expect(error.code == .unavailable, "a call in flight at shutdown ended \(error)")
        }
        let roster = try RosterBook.load(path: "\(harness.mesh.directory)/roster.json")
        let catalog = try CatalogBook.load(path: "\(harness.mesh.directory)/catalog.json", roster: roster)
        let store = try LogStore.open(directory: harness.dataDirectory, roster: roster, catalog: catalog)
        let logged = Set(try store.entries(of: "cd-wuhou", after: 0).map { EntryID(of: $0).bytes })
        let acknowledged = tally.ok.withLock { $0 }
        #expect(acknowledged.allSatisfy { logged.contains($0) })
        #expect(store.openReport.checkpointUsed)
        try await store.close()
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
