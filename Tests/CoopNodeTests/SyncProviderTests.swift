import CoopNode
import CoopWire
import Testing

/// How ``SyncProvider`` cuts a pull's entries into `EntryBatch` messages.
@Suite struct SyncProviderTests {
    static func entry(_ size: Int) -> SignedEntry {
        SignedEntry(body: [UInt8](repeating: 7, count: size), signature: [UInt8](repeating: 1, count: 64))
    }

    @Test("runs keep order, hold at most maxEntries, stay near maxBytes, and always hold one entry")
    func cuts() {
        let entries = (0..<1000).map { Self.entry(100 + $0 % 50) }
        let runs = SyncProvider.messages(entries, maxEntries: 256, maxBytes: 8 << 10)
        #expect(Array(runs.joined()) == entries)
        for run in runs {
            #expect((1...256).contains(run.count))
            let bytes = run.reduce(0) { $0 + $1.body.count + $1.signature.count + 16 }
            #expect(bytes <= 8 << 10 || run.count == 1, "a run of \(bytes) bytes")
        }
        #expect(runs.count > 1000 * 180 / (8 << 10))
        let counted = SyncProvider.messages(entries, maxEntries: 3, maxBytes: .max)
        #expect(counted.map(\.count) == Array(repeating: 3, count: 333) + [1])
        // One entry larger than the byte bound still travels, alone.
        let huge = SyncProvider.messages(
            [Self.entry(10), Self.entry(100_000), Self.entry(10)],
            maxEntries: 256,
            maxBytes: 1000
        )
        #expect(huge.map(\.count) == [1, 1, 1])
        #expect(SyncProvider.messages([], maxEntries: 5, maxBytes: 5).isEmpty)
    }
}
