import CoopRPC
import Synchronization
import Testing

/// Server streams with credit-based flow control, over every transport: the server never sends past the credit
/// granted, a stream never granted more ends at its deadline, a consumer that stops early cancels the call, and
/// response metadata arrives before the first message.
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
        arguments: RPCTransportKind.allCases
    )
    func creditBoundsTheServer(_ kind: RPCTransportKind) async throws {
        let probe = Probe()
        try await withRPCServer(kind, methods: methods(streams: ["/t.S/Count": Self.counting(probe, total: 1000)])) {
            fixture in
            var received: [UInt8] = []
            for try await message in try fixture.client.serverStream(
                "/t.S/Count",
                [],
                timeout: patient,
                credit: 8
            ) {
                received.append(contentsOf: message)
                let sent = probe.sent.withLock { $0 }
                #expect(sent <= received.count + 8, "the server sent \(sent) with \(received.count) consumed")
            }
            #expect(received == (0..<1000).map { UInt8($0 % 256) })
        }
    }

    @Test(
        "a stream never granted more credit stops at it and ends at the deadline on both sides",
        arguments: RPCTransportKind.allCases
    )
    func neverGranted(_ kind: RPCTransportKind) async throws {
        let probe = Probe()
        try await withRPCServer(kind, methods: methods(streams: ["/t.S/Count": Self.counting(probe, total: 100)])) {
            fixture in
            let stream = try fixture.client.serverStream("/t.S/Count", [], timeout: .seconds(2), credit: 4)
            // Nothing is consumed, so nothing more is granted: at most 4 (exactly 4 unless the machine is so slow that
            // the deadline passes first).
            try await eventually("the handler to be cancelled") { probe.cancelled.withLock { $0 } }
            #expect(probe.sent.withLock { $0 } <= 4)
            var iterator = stream.makeAsyncIterator()
            var got = 0
            do {
                while try await iterator.next() != nil { got += 1 }
                Issue.record("the stream ended OK")
            } catch let error as RPCError {
                #expect(error.code == .deadlineExceeded)
            }
            #expect(got <= 4)
            try await eventually("the server's calls to end") { fixture.server.callsInFlight == 0 }
        }
    }

    @Test("a consumer that stops early cancels the call on the server", arguments: RPCTransportKind.allCases)
    func stopEarly(_ kind: RPCTransportKind) async throws {
        let probe = Probe()
        try await withRPCServer(
            kind,
            methods: methods(streams: ["/t.S/Count": Self.counting(probe, total: 1_000_000)])
        ) { fixture in
            var count = 0
            for try await _ in try fixture.client.serverStream("/t.S/Count", [], timeout: patient, credit: 4) {
                count += 1
                if count == 10 { break }
            }
            try await eventually("the handler to be cancelled") { probe.cancelled.withLock { $0 } }
            #expect(probe.sent.withLock { $0 } < 30)
            try await eventually("the server's calls to end") { fixture.server.callsInFlight == 0 }
        }
    }

    @Test(
        "a consumer cancelled while it waits: next() gives nil and the call is cancelled on the server",
        arguments: RPCTransportKind.allCases
    )
    func consumerCancelledWhileWaiting(_ kind: RPCTransportKind) async throws {
        let probe = Probe()
        let handler: RPCServerStreamHandler = { _, writer in
            try await writer.send([1])
            try await writer.send([2])
            probe.sent.withLock { $0 = 2 }
            do {
                try await Task.sleep(for: patient)
            } catch {
                probe.cancelled.withLock { $0 = true }
                throw error
            }
            return RPCMetadata()
        }
        try await withRPCServer(kind, methods: methods(streams: ["/t.S/Hang": handler])) { fixture in
            let stream = try fixture.client.serverStream("/t.S/Hang", [], timeout: patient, credit: 8)
            let consumer = Task {
                var iterator = stream.makeAsyncIterator()
                var got: [[UInt8]] = []
                while let message = try await iterator.next() { got.append(message) }
                // After the end the iterator stays ended.
                let again = try await iterator.next()
                return (got, again)
            }
            try await eventually("both messages to be sent") { probe.sent.withLock { $0 } == 2 }
            try await Task.sleep(for: .milliseconds(50))
            consumer.cancel()
            let (got, again) = try await consumer.value
            #expect(got.count <= 2 && again == nil)
            try await eventually("the handler to be cancelled") { probe.cancelled.withLock { $0 } }
            try await eventually("the server's calls to end") { fixture.server.callsInFlight == 0 }
        }
    }

    @Test("after a stream's error the iterator ends: the error is thrown once", arguments: RPCTransportKind.allCases)
    func errorThrownOnce(_ kind: RPCTransportKind) async throws {
        let probe = Probe()
        try await withRPCServer(
            kind,
            methods: methods(streams: ["/t.S/Count": Self.counting(probe, total: 10, failAfter: 2)])
        ) { fixture in
            var iterator = try fixture.client.serverStream("/t.S/Count", [], timeout: patient).makeAsyncIterator()
            #expect(try await iterator.next() == [0])
            #expect(try await iterator.next() == [1])
            await #expect(throws: RPCError.self) { try await iterator.next() }
            #expect(try await iterator.next() == nil)
        }
    }

    @Test(
        "a handler's error ends the stream with its status after the messages sent",
        arguments: RPCTransportKind.allCases
    )
    func errorStatus(_ kind: RPCTransportKind) async throws {
        let probe = Probe()
        try await withRPCServer(
            kind,
            methods: methods(streams: ["/t.S/Count": Self.counting(probe, total: 10, failAfter: 3)])
        ) { fixture in
            var received = 0
            do {
                for try await _ in try fixture.client.serverStream("/t.S/Count", [], timeout: patient) {
                    received += 1
                }
                Issue.record("the stream ended OK")
            } catch let error as RPCError {
                #expect(error.code == .aborted && error.reason == "TEST_ABORT")
            }
            #expect(received == 3)
        }
    }

    @Test(
        "a stream's initial metadata is known before its first message; none sent reads as empty; a refused call throws",
        arguments: RPCTransportKind.allCases
    )
    func initialMetadata(_ kind: RPCTransportKind) async throws {
        let gate = Flag()
        let streams: [String: RPCServerStreamHandler] = [
            "/t.S/Headed": { _, writer in
                var head = RPCMetadata()
                try head.add("x-snapshot", "42")
                try await writer.sendInitialMetadata(head)
                // The client reads the metadata while the handler still holds back the first message.
                while !gate.isSet { try await Task.sleep(for: .milliseconds(5)) }
                try await writer.send([1])
                let late = await #expect(throws: RPCError.self) { try await writer.sendInitialMetadata(head) }
                #expect(late?.code == .failedPrecondition)
                var trailers = RPCMetadata()
                try trailers.add("x-count", "1")
                return trailers
            },
            "/t.S/Bare": { _, writer in
                try await writer.send([2])
                return RPCMetadata()
            },
        ]
        try await withRPCServer(kind, methods: methods(streams: streams)) { fixture in
            let headed = try fixture.client.serverStream("/t.S/Headed", [], timeout: patient)
            let head = try await headed.initialMetadata
            #expect(head["x-snapshot"] == "42")
            gate.set()
            var messages: [[UInt8]] = []
            for try await message in headed { messages.append(message) }
            #expect(messages == [[1]])

            let bare = try fixture.client.serverStream("/t.S/Bare", [], timeout: patient)
            var bareMessages: [[UInt8]] = []
            for try await message in bare { bareMessages.append(message) }
            #expect(bareMessages == [[2]])
            #expect(try await bare.initialMetadata.isEmpty)

            let missing = try fixture.client.serverStream("/t.S/Missing", [], timeout: patient)
            let refused = await #expect(throws: RPCError.self) { try await missing.initialMetadata }
            #expect(refused?.code == .unimplemented && refused?.reason == RPCReason.unknownMethod)
        }
    }

    @Test(
        "credit far above the send queue (4096 against a SNDHWM of 16) and a slow start: every message, in order, then OK",
        arguments: RPCTransportKind.allCases
    )
    func creditAboveTheSendQueue(_ kind: RPCTransportKind) async throws {
        let total = 10_000
        let streams: [String: RPCServerStreamHandler] = [
            "/t.S/Burst": { _, writer in
                for i in 0..<total {
                    // The index, big-endian, then padding, so that the socket's queue fills quickly.
                    let index = UInt32(i)
                    try await writer.send(
                        [UInt8(index >> 24), UInt8(index >> 16 & 0xFF), UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF)]
                            + [UInt8](repeating: 0x5A, count: 252)
                    )
                }
                return RPCMetadata()
            }
        ]
        try await withRPCServer(kind, methods: methods(streams: streams), serverSendHighWaterMark: 16) { fixture in
            // A deadline well short of `patient`: a lost message used to leave the client waiting for it (and the
            // server for credit) until then.
            let stream = try fixture.client.serverStream("/t.S/Burst", [], timeout: .seconds(300), credit: 4096)
            // The consumer starts late and slowly: the server's burst meets a full queue.
            try await Task.sleep(for: .milliseconds(300))
            var next = 0
            for try await message in stream {
                #expect(message.count == 256)
                let index = message.prefix(4).reduce(0) { $0 << 8 | Int($1) }
                guard index == next else {
                    Issue.record("message \(index) arrived where \(next) was due")
                    return
                }
                next += 1
                if next < 50 { try await Task.sleep(for: .milliseconds(2)) }
            }
            #expect(next == total, "the stream ended OK after \(next) of \(total) messages")
        }
    }
}
