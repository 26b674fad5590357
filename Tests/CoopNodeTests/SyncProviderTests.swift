import CoopNode
import CoopWire
import Testing

/// How ``SyncProvider`` cuts a pull's entries into `EntryBatch` messages and encodes them from the stored bytes.
@Suite struct SyncProviderTests {
    static func entry(_ size: Int, _ byte: UInt8 = 7) -> [UInt8] {
        SignedEntry(body: [UInt8](repeating: byte, count: size), signature: [UInt8](repeating: 1, count: 64))
            .wireBytes()
    }

    @Test("runs keep order, hold at most maxEntries, stay within maxBytes, and always hold one entry")
    func cuts() {
        let entries = (0..<1000).map { Self.entry(100 + $0 % 50, UInt8($0 % 200)) }
        let runs = SyncProvider.messages(entries, maxEntries: 256, maxBytes: 8 << 10)
        #expect(Array(runs.joined()) == entries)
        for run in runs {
            #expect((1...256).contains(run.count))
            #expect(SyncProvider.encodedBatch(run).count <= 8 << 10 || run.count == 1)
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

    @Test("a batch built from stored bytes is byte for byte the PullResponse protobuf-c encodes")
    func encodedBatch() throws {
        for sizes in [[0], [1], [120, 127, 128], [16_383, 16_384, 100], Array(repeating: 200, count: 256)] {
            let entries = sizes.enumerated().map { Self.entry($1, UInt8($0 % 250)) }
            let typed = PullResponse(
                item: .batch(EntryBatch(entries: try entries.map { try SignedEntry(wireBytes: $0) }))
            )
            let built = SyncProvider.encodedBatch(entries[...])
            #expect(built == typed.wireBytes(), "sizes \(sizes)")
            #expect(try PullResponse(wireBytes: built) == typed)
        }
    }
}
