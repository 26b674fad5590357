import CoopLedger
import CoopLog
import CoopSync
import CoopTestKit
import CoopWire
import Logging
import Synchronization
import Testing

@testable import CoopNode

/// The hub announces every local write through its publisher. The publisher used to be the value of a `Mutex`:
/// every `withLock` reabstracted it (out of the lock's generic storage and back in), wrapping it in two more thunks,
/// so each announce walked a chain that grew by two calls per write — 10% of a busy node's CPU under 32 writers, and
/// a stack that deepened with every write until the thread's stack ran out.
@Suite("Sync hub: the publisher's cost does not grow")
struct SyncHubPublisherTests {
    /// The address of a local of the caller: how deep the stack is where it runs.
    @inline(never)
    static func stackDepthMarker() -> UInt {
        var marker = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
    }

    @Test("the publisher runs at the same stack depth for the first and the 3,000th announce")
    func publisherDepth() async throws {
        let dir = try CoopTestKit.TemporaryDirectory()
        let store = try LogStore.open(
            directory: dir.path,
            roster: try Fixtures.roster(),
            catalog: try Fixtures.catalog()
        )
        let hub = SyncHub(
            store: store,
            nodeID: "cq-shapingba",
            peers: [],
            settings: PeerSession.Settings(),
            feed: ChangeFeed(),
            logger: Logger(label: "test")
        )
        let depths = Mutex<[UInt]>([])
        hub.setPublisher { notices in
            #expect(notices.count == 1)
            let depth = Self.stackDepthMarker()
            depths.withLock { $0.append(depth) }
        }
        for sequence in 1...3_000 {
            hub.announce([(origin: "cq-shapingba", sequence: UInt64(sequence), id: [UInt8](repeating: 7, count: 32))])
        }
        let seen = depths.withLock { $0 }
        #expect(seen.count == 3_000)
        let spread = seen.max()! - seen.min()!
        #expect(spread < 4_096, "the publisher's stack moved by \(spread) bytes over 3,000 announces")
        try await store.close()
    }
}
