import CoopSegments
import CoopTestKit
import Dispatch
import Foundation
import Synchronization
import Testing

@testable import CoopLog

@Suite("Chunked decoding on threads of its own")
struct ChunkedDecodeTests {
    /// Record `i`'s payload: `i` as 8 bytes.
    static func payload(_ i: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(i)) { Array($0) } }

    static func position(_ i: Int) -> RecordPosition {
        RecordPosition(segment: 1, offset: UInt64(i) * 8, index: UInt64(i))
    }

    static func value(_ bytes: UnsafeRawBufferPointer) -> UInt64 { bytes.loadUnaligned(as: UInt64.self) }

    struct Odd: Error {
        var index: UInt64
    }

    @Test(
        "every record's result comes back once, in order, with the record before it; a failure stops the fold there",
        arguments: [0, 1, 63, 64, 4096, 10_000]
    )
    func order(count: Int) throws {
        var seen: [UInt64] = []
        // Counted on the decoding threads, checked here (an expectation there would not be tied to this test).
        let wrong = Atomic<Int>(0)
        try ChunkedDecode.forEach(
            read: { deliver in
                for i in 0..<count { try Self.payload(i).withUnsafeBytes { try deliver(Self.position(i), $0) } }
            },
            decode: { position, payload, previous in
                // Uneven work, so that slices finish out of order.
                if position.index % 7 == 0 { usleep(20) }
                let value = Self.value(payload)
                if value != position.index || previous.map(Self.value) != (value == 0 ? nil : value - 1) {
                    wrong.add(1, ordering: .relaxed)
                }
                return value * 2
            },
            apply: { position, value in
                #expect(value == position.index * 2)
                seen.append(position.index)
            }
        )
        #expect(seen == (0..<UInt64(count)).map { $0 })
        #expect(wrong.load(ordering: .relaxed) == 0)

        guard count > 0 else { return }
        var folded: [UInt64] = []
        // Each case runs at once with the others: its threads have a name of their own.
        let name = "tf\(count)"
        #expect(throws: Odd.self) {
            try ChunkedDecode.forEach(
                threadName: name,
                read: { deliver in
                    for i in 0..<count { try Self.payload(i).withUnsafeBytes { try deliver(Self.position(i), $0) } }
                },
                decode: { position, _, _ in
                    if position.index == UInt64(count / 2) { throw Odd(index: position.index) }
                    return position.index
                },
                apply: { _, value in folded.append(value) }
            )
        }
        #expect(folded == (0..<UInt64(count / 2)).map { $0 })
        #expect(ThreadNames.gone(name + "-"))
    }

    enum Event: Equatable {
        case far(UInt64)
        case near(UInt64)
        case apply(UInt64)
    }

    /// Within each chunk, before record i is applied, the keys of records i + 16 and then i + 6 are looked ahead at,
    /// when they are in the chunk and have a key (not for failed decodes, nor when `key` gives none): a test of
    /// the order of calls, since a wrong key would only make the prefetches useless, not the results wrong.
    @Test(
        "keys are looked ahead at far, then near, before each record is applied",
        arguments: [100, 4096, 8_200, 10_000]
    )
    func lookahead(count: Int) throws {
        var events: [Event] = []
        // The 10,000-record case fails at record 4,100; the others have full chunks and a short last one.
        let failing: UInt64 = count == 10_000 ? 4_100 : .max
        let run = {
            try ChunkedDecode.forEach(
                read: { deliver in
                    for i in 0..<count { try Self.payload(i).withUnsafeBytes { try deliver(Self.position(i), $0) } }
                },
                decode: { _, payload, _ in
                    let value = Self.value(payload)
                    if value == failing { throw Odd(index: value) }
                    return value
                },
                key: { value in value % 7 == 0 ? nil : value },
                lookahead: { key, near in events.append(near ? .near(key) : .far(key)) },
                apply: { position, value in
                    #expect(value == position.index)
                    events.append(.apply(value))
                }
            )
        }
        if failing < UInt64(count) {
            #expect(throws: Odd.self) { try run() }
        } else {
            try run()
        }
        var expected: [Event] = []
        let size = UInt64(ParallelDecode.chunkSize)
        let records = UInt64(count)
        func keyed(_ i: UInt64) -> Bool { i % 7 != 0 && i != failing }
        outer: for start in stride(from: 0, to: records, by: Int(size)) {
            let end = min(start + size, records)
            for i in start..<end {
                if i + 16 < end && keyed(i + 16) { expected.append(.far(i + 16)) }
                if i + 6 < end && keyed(i + 6) { expected.append(.near(i + 6)) }
                if i == failing { break outer }
                expected.append(.apply(i))
            }
        }
        #expect(events == expected)
    }

    @Test("reading stops at ParallelDecode.Stop, and what was read is still folded")
    func stop() throws {
        var folded = 0
        try ChunkedDecode.forEach(
            read: { deliver in
                for i in 0..<10_000 {
                    if i == 5_000 { throw ParallelDecode.Stop() }
                    try Self.payload(i).withUnsafeBytes { try deliver(Self.position(i), $0) }
                }
            },
            decode: { _, payload, _ in Self.value(payload) },
            apply: { position, value in
                #expect(value == position.index)
                folded += 1
            }
        )
        #expect(folded == 5_000)
    }

    /// Records 0 and 64 (in different slices) can only be decoded together: each waits up to 0.5 s for the other to
    /// have started, while the reading thread keeps a core busy, as the folding thread does. Dispatch's shared pool,
    /// which decoded before, started the second slice only after 0.97 s on this machine (2 cores), and the audit and
    /// replay kept only 1.4–1.6 of 2 cores busy.
    @Test(
        "records decode on every core while the caller reads and folds",
        .enabled(if: ProcessInfo.processInfo.activeProcessorCount >= 2, "needs two cores (one thread per core)")
    )
    func parallel() throws {
        let arrived = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let met = Atomic<Int>(0)
        var together = 0
        try ChunkedDecode.forEach(
            threadName: "tst-cpar",
            read: { deliver in
                // A full chunk goes to the threads at once.
                for i in 0..<ParallelDecode.chunkSize {
                    try Self.payload(i).withUnsafeBytes { try deliver(Self.position(i), $0) }
                }
                let deadline = Date().addingTimeInterval(10)
                while met.load(ordering: .relaxed) < 2 && Date() < deadline {}
            },
            decode: { position, _, _ in
                guard position.index == 0 || position.index == 64 else { return false }
                let (mine, other) = position.index == 0 ? (arrived.0, arrived.1) : (arrived.1, arrived.0)
                mine.signal()
                let met2 = other.wait(timeout: .now() + 0.5) == .success
                if met2 { met.add(1, ordering: .relaxed) }
                return met2
            },
            apply: { _, met in if met { together += 1 } }
        )
        #expect(together == 2)
        #expect(ThreadNames.gone("tst-cpar"))
    }
}
