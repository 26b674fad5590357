import CoopRPC
import Synchronization
import Testing

/// Server streams with credit-based flow control over real ZeroMQ: the server never sends past the credit granted,
/// a stream never granted more ends at its deadline, and a consumer that stops early cancels the call.
@Suite("RPC server streams")
struct RPCStreamTests {
    /// Counts what a handler sent and whether it saw cancellation.
    final class Probe: Sendable {
        let sent = Mutex(0)
        let cancelled = Mutex(false)
    }

    static func counting(_ probe: Probe, total: Int, failAfter: Int? = nil) -> RPCServerStreamHandler {
        { _, writer in
            do {
                for i in 0..<total {
                    if let failAfter, i == failAfter {
                        throw RPCError(code: .aborted, message: "stopped at \(i)", reason: "TEST_ABORT")
                    }
                    try await writer.send([UInt8(i % 256)])
                    probe.sent.withLock { $0 += 1 }
                }
            } catch is CancellationError {
                probe.cancelled.withLock { $0 = true }
                throw CancellationError()
            }
            return RPCMetadata()
        }
    }

    @Test(
        "1,000 messages with credit 8: all arrive in order, and the server is never more than 8 ahead",
        arguments: ["inproc", "tcp"]
    )
    func creditBoundsTheServer(_ transport: String) async throws {
        let probe = Probe()
        try await RPCServerTests.withServer(
            transport: transport,
            handlers: [:],
            streams: ["/t.S/Count": Self.counting(probe, total: 1000)]
        ) { client, _, _ in
            var received: [UInt8] = []
            for try await message in try client.serverStream("/t.S/Count", [], timeout: .seconds(300), credit: 8) {
                received.append(contentsOf: message)
                let sent = probe.sent.withLock { $0 }
                #expect(sent <= received.count + 8, "the server sent \(sent) with \(received.count) consumed")
            }
            #expect(received == (0..<1000).map { UInt8($0 % 256) })
        }
    }

    @Test("a stream never granted more credit stops at it and ends at the deadline on both sides")
    func neverGranted() async throws {
        let probe = Probe()
        try await RPCServerTests.withServer(
            handlers: [:],
            streams: ["/t.S/Count": Self.counting(probe, total: 100)]
        ) { client, _, _ in
            let stream = try client.serverStream("/t.S/Count", [], timeout: .milliseconds(300), credit: 4)
            // Nothing is consumed, so nothing more is granted.
            while !probe.cancelled.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
            #expect(probe.sent.withLock { $0 } == 4)
            var iterator = stream.makeAsyncIterator()
            var got = 0
            do {
                while try await iterator.next() != nil { got += 1 }
                Issue.record("the stream ended OK")
            } catch let error as RPCError {
                #expect(error.code == .deadlineExceeded)
            }
            #expect(got <= 4)
        }
    }

    @Test("a consumer that stops early cancels the call on the server")
    func stopEarly() async throws {
        let probe = Probe()
        try await RPCServerTests.withServer(
            handlers: [:],
            streams: ["/t.S/Count": Self.counting(probe, total: 1_000_000)]
        ) { client, _, _ in
            var count = 0
            for try await _ in try client.serverStream("/t.S/Count", [], timeout: .seconds(300), credit: 4) {
                count += 1
                if count == 10 { break }
            }
            while !probe.cancelled.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
            #expect(probe.sent.withLock { $0 } < 30)
        }
    }

    @Test("a handler's error ends the stream with its status after the messages sent")
    func errorStatus() async throws {
        let probe = Probe()
        try await RPCServerTests.withServer(
            handlers: [:],
            streams: ["/t.S/Count": Self.counting(probe, total: 10, failAfter: 3)]
        ) { client, _, _ in
            var received = 0
            do {
                for try await _ in try client.serverStream("/t.S/Count", [], timeout: .seconds(300)) { received += 1 }
                Issue.record("the stream ended OK")
            } catch let error as RPCError {
                #expect(error.code == .aborted && error.reason == "TEST_ABORT")
            }
            #expect(received == 3)
        }
    }
}
