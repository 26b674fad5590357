import CoopRPC
import CoopTestKit
import CoopWire
import Synchronization
import Testing

/// Bad input at the RPC level, over every transport: a raw peer (on ZeroMQ a bare DEALER) sends hand-made frames,
/// each case is answered with its own code, reason and message, and a good call from another client succeeds
/// afterwards — the server keeps serving.
@Suite("RPC bad input")
struct RPCBadInputTests {
    static let echo: RPCUnaryHandler = { request in RPCResponse(body: request.body) }

    /// A handler that waits for cancellation and says when it saw it.
    static func hanging(_ started: Counter, _ cancelled: Counter) -> RPCUnaryHandler {
        { _ in
            started.increment()
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                cancelled.increment()
                throw error
            }
            return RPCResponse(body: [])
        }
    }

    /// A stream of `total` one-byte messages; counts what it sent and whether it was cancelled.
    static func counting(_ sent: Counter, _ cancelled: Flag, total: Int) -> RPCServerStreamHandler {
        { _, writer in
            do {
                for i in 0..<total {
                    try await writer.send([UInt8(i % 256)])
                    sent.increment()
                }
            } catch {
                cancelled.set()
                throw error
            }
            return RPCMetadata()
        }
    }

    /// Runs `body` with a server of echo, a hanging method and a counting stream, then checks a good call succeeds.
    static func scenario(
        _ kind: RPCTransportKind,
        maxMessageBytes: Int = 4 << 20,
        started: Counter = Counter(),
        cancelled: Counter = Counter(),
        streamSent: Counter = Counter(),
        streamCancelled: Flag = Flag(),
        _ body: (RPCFixture, RPCRawPeer) async throws -> Void
    ) async throws {
        try await withRPCServer(
            kind,
            methods: methods(
                unary: ["/t.Echo/Say": echo, "/t.S/Hang": hanging(started, cancelled)],
                streams: ["/t.S/Count": counting(streamSent, streamCancelled, total: 100)]
            ),
            maxMessageBytes: maxMessageBytes
        ) { fixture in
            let raw = try await fixture.makeRawPeer()
            try await body(fixture, raw)
            await raw.close()
            #expect(try await fixture.client.unary("/t.Echo/Say", [42], timeout: patient).body == [42])
        }
    }

    static func expect(
        _ message: RPCServerMessage,
        callID: UInt64,
        _ code: RPCStatus.Code,
        _ reason: String,
        says: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(message.callID == callID, sourceLocation: sourceLocation)
        #expect(message.status?.code == code, "\(String(describing: message.status))", sourceLocation: sourceLocation)
        #expect(message.status?.reason == reason, sourceLocation: sourceLocation)
        #expect(
            message.status?.message.contains(says) == true,
            "\(String(describing: message.status))",
            sourceLocation: sourceLocation
        )
    }

    @Test(
        "garbage frames: PROTOCOL_VERSION without the tag, MALFORMED_FRAME behind it",
        arguments: RPCTransportKind.allCases
    )
    func garbage(_ kind: RPCTransportKind) async throws {
        var random = SeededRandom(seed: 0x5EED_0007)
        try await Self.scenario(kind) { _, raw in
            for _ in 0..<5 {
                var first = random.bytes(Int.random(in: 1...40, using: &random))
                if first.starts(with: Array("coop".utf8)) { first[0] = 0 }
                try await raw.send([first, random.bytes(30), random.bytes(10)])
                Self.expect(
                    try await raw.next(),
                    callID: 0,
                    .unimplemented,
                    RPCReason.protocolVersion,
                    says: "not this protocol"
                )
            }
            // 0xFF bytes are never a valid protobuf field key, so the header cannot decode.
            try await raw.send([RPCFrames.tag, [0xFF] + random.bytes(20), []])
            Self.expect(
                try await raw.next(),
                callID: 0,
                .invalidArgument,
                RPCReason.malformedFrame,
                says: "not a ClientFrame"
            )
        }
    }

    @Test("wrong number of frames: MALFORMED_FRAME naming the count", arguments: RPCTransportKind.allCases)
    func wrongFrameCount(_ kind: RPCTransportKind) async throws {
        try await Self.scenario(kind) { _, raw in
            let request = RawFrames.request(3, "/t.Echo/Say")
            try await raw.send([RPCFrames.tag])
            Self.expect(try await raw.next(), callID: 0, .invalidArgument, RPCReason.malformedFrame, says: "not 1")
            try await raw.send(request + [[9]])
            Self.expect(try await raw.next(), callID: 0, .invalidArgument, RPCReason.malformedFrame, says: "not 4")
            // A request without its message frame names its call.
            try await raw.send(Array(request.prefix(2)))
            Self.expect(
                try await raw.next(),
                callID: 3,
                .invalidArgument,
                RPCReason.malformedFrame,
                says: "third frame"
            )
        }
    }

    @Test("an unknown protocol version tag: UNIMPLEMENTED naming the version", arguments: RPCTransportKind.allCases)
    func unknownVersion(_ kind: RPCTransportKind) async throws {
        try await Self.scenario(kind) { _, raw in
            var frames = RawFrames.request(4, "/t.Echo/Say")
            frames[0] = Array("coop.rpc/2".utf8)
            try await raw.send(frames)
            let answer = try await raw.next()
            Self.expect(answer, callID: 0, .unimplemented, RPCReason.protocolVersion, says: "version 2")
            #expect(answer.status?.message.contains("coop.rpc/1") == true)
        }
    }

    @Test("a truncated header: MALFORMED_FRAME", arguments: RPCTransportKind.allCases)
    func truncatedHeader(_ kind: RPCTransportKind) async throws {
        try await Self.scenario(kind) { _, raw in
            var frames = RawFrames.request(5, "/t.Echo/Say", timeoutMicroseconds: 1_000_000)
            frames[1] = Array(frames[1].dropLast(3))
            try await raw.send(frames)
            Self.expect(
                try await raw.next(),
                callID: 0,
                .invalidArgument,
                RPCReason.malformedFrame,
                says: "not a ClientFrame"
            )
        }
    }

    @Test(
        "an oversized header: RESOURCE_EXHAUSTED with MESSAGE_TOO_LARGE, refused unread",
        arguments: RPCTransportKind.allCases
    )
    func oversizedHeader(_ kind: RPCTransportKind) async throws {
        try await Self.scenario(kind) { _, raw in
            try await raw.send([RPCFrames.tag, [UInt8](repeating: 0x0A, count: RPCFrames.maxHeaderBytes + 1), []])
            Self.expect(try await raw.next(), callID: 0, .resourceExhausted, RPCReason.messageTooLarge, says: "limit")
        }
    }

    @Test("an unknown method: UNIMPLEMENTED with UNKNOWN_METHOD naming it", arguments: RPCTransportKind.allCases)
    func unknownMethod(_ kind: RPCTransportKind) async throws {
        try await Self.scenario(kind) { fixture, raw in
            try await raw.send(RawFrames.request(6, "/t.Nope/Missing"))
            Self.expect(
                try await raw.next(),
                callID: 6,
                .unimplemented,
                RPCReason.unknownMethod,
                says: "/t.Nope/Missing"
            )
            try await eventually("the call to leave the table") { fixture.server.callsInFlight == 0 }
        }
    }

    @Test(
        "an oversized message: RESOURCE_EXHAUSTED with MESSAGE_TOO_LARGE naming both sizes",
        arguments: RPCTransportKind.allCases
    )
    func oversizedMessage(_ kind: RPCTransportKind) async throws {
        try await Self.scenario(kind, maxMessageBytes: 1000) { _, raw in
            try await raw.send(RawFrames.request(7, "/t.Echo/Say", body: [UInt8](repeating: 1, count: 1001)))
            let answer = try await raw.next()
            Self.expect(answer, callID: 7, .resourceExhausted, RPCReason.messageTooLarge, says: "1001 bytes")
            #expect(answer.status?.message.contains("1000") == true)
        }
    }

    @Test("an expired deadline: DEADLINE_EXCEEDED, and the handler is cancelled", arguments: RPCTransportKind.allCases)
    func expiredDeadline(_ kind: RPCTransportKind) async throws {
        let cancelled = Counter()
        try await Self.scenario(kind, cancelled: cancelled) { fixture, raw in
            // A budget of one microsecond is spent before the handler can answer.
            try await raw.send(RawFrames.request(8, "/t.S/Hang", timeoutMicroseconds: 1))
            Self.expect(try await raw.next(), callID: 8, .deadlineExceeded, RPCReason.deadlineExceeded, says: "1 µs")
            try await eventually("the handler's cancellation") { cancelled.value == 1 }
            try await eventually("the call to leave the table") { fixture.server.callsInFlight == 0 }
        }
    }

    @Test(
        "a call id already in flight: ALREADY_EXISTS with DUPLICATE_CALL_ID; the first call goes on",
        arguments: RPCTransportKind.allCases
    )
    func duplicateCallID(_ kind: RPCTransportKind) async throws {
        let started = Counter()
        let cancelled = Counter()
        try await Self.scenario(kind, started: started, cancelled: cancelled) { fixture, raw in
            try await raw.send(RawFrames.request(9, "/t.S/Hang", timeoutMicroseconds: 600_000_000))
            try await eventually("the first call's handler") { started.value == 1 }
            try await raw.send(RawFrames.request(9, "/t.Echo/Say", body: [1]))
            Self.expect(
                try await raw.next(),
                callID: 9,
                .alreadyExists,
                RPCReason.duplicateCallID,
                says: "already in flight"
            )
            #expect(started.value == 1 && fixture.server.callsInFlight == 1)
            // The first call is still in flight: a cancel reaches it.
            try await raw.send(RPCFrames.encode(.cancel(callID: 9)))
            let end = try await raw.next()
            #expect(end.callID == 9 && end.status?.code == .cancelled)
            try await eventually("the handler's cancellation") { cancelled.value == 1 }
        }
    }

    @Test("credit and cancel for an unknown call: NOT_FOUND with UNKNOWN_CALL", arguments: RPCTransportKind.allCases)
    func unknownCall(_ kind: RPCTransportKind) async throws {
        try await Self.scenario(kind) { _, raw in
            try await raw.send(RPCFrames.encode(.credit(callID: 77, credit: 5)))
            Self.expect(try await raw.next(), callID: 77, .notFound, RPCReason.unknownCall, says: "credit for call 77")
            try await raw.send(RPCFrames.encode(.cancel(callID: 78)))
            Self.expect(try await raw.next(), callID: 78, .notFound, RPCReason.unknownCall, says: "cancel for call 78")
        }
    }

    @Test(
        "a stream never granted more credit: exactly its credit, then DEADLINE_EXCEEDED",
        arguments: RPCTransportKind.allCases
    )
    func neverGrantedCredit(_ kind: RPCTransportKind) async throws {
        let sent = Counter()
        let cancelled = Flag()
        try await Self.scenario(kind, streamSent: sent, streamCancelled: cancelled) { fixture, raw in
            try await raw.send(RawFrames.request(10, "/t.S/Count", timeoutMicroseconds: 2_000_000, credit: 3))
            var bodies: [[UInt8]] = []
            var end: RPCServerMessage?
            while end == nil {
                let message = try await raw.next(skippingProbes: true)
                #expect(message.callID == 10)
                if let body = message.body { bodies.append(body) }
                if message.status != nil { end = message }
            }
            // Never past the credit of 3 (exactly 3 unless the machine is so slow that the deadline passes first).
            #expect(bodies == Array([[0], [1], [2]].prefix(bodies.count)) && bodies.count <= 3, "\(bodies)")
            #expect(end?.status?.code == .deadlineExceeded && end?.status?.reason == RPCReason.deadlineExceeded)
            #expect(sent.value == bodies.count)
            try await eventually("the handler's cancellation") { cancelled.isSet }
            try await eventually("the call to leave the table") { fixture.server.callsInFlight == 0 }
        }
    }

    @Test(
        "a client that vanishes mid-stream: its call is cancelled and leaves the table; others are served",
        arguments: RPCTransportKind.allCases
    )
    func clientVanishesMidStream(_ kind: RPCTransportKind) async throws {
        let sent = Counter()
        let cancelled = Flag()
        try await Self.scenario(kind, streamSent: sent, streamCancelled: cancelled) { fixture, raw in
            // No deadline: only the client's going away can end this stream.
            try await raw.send(RawFrames.request(11, "/t.S/Count", credit: 2))
            var bodies = 0
            while bodies < 2 {
                if try await raw.next(skippingProbes: true).body != nil { bodies += 1 }
            }
            #expect(fixture.server.callsInFlight == 1)
            await raw.close()
            try await eventually("the server to notice the client left") { fixture.server.callsInFlight == 0 }
            try await eventually("the handler's cancellation") { cancelled.isSet }
            #expect(sent.value == 2)
        }
    }
}
