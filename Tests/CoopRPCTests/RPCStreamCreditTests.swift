import CoopRPC
import Testing

/// The client's side of stream credit, over every transport, against a raw server (on ZeroMQ a bare ROUTER) that
/// sends what it likes: a server that sends past the credit granted ends the call with INTERNAL (`CREDIT_EXCEEDED`)
/// and is told to cancel it, the client's buffer never holds more than the credit, and the connection goes on
/// serving other calls; a server that sends exactly what it is granted, as it is granted, never trips the check.
@Suite("RPC stream credit, client side")
struct RPCStreamCreditTests {
    /// Reads the client's next message; records an issue and returns `nil` when it is not a request.
    static func nextRequest(
        _ raw: RPCRawServer,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (peer: [UInt8], head: RPCRequestHead, body: [UInt8])? {
        let (peer, message) = try await raw.next()
        guard case .request(let head, let body) = message else {
            Issue.record("expected a request, got \(message)", sourceLocation: sourceLocation)
            return nil
        }
        return (peer, head, body)
    }

    @Test(
        "a server past the credit: INTERNAL (CREDIT_EXCEEDED) after the messages within it, a cancel; calls go on",
        arguments: RPCTransportKind.allCases
    )
    func pastCredit(_ kind: RPCTransportKind) async throws {
        try await RPCRawServer.with(kind) { raw, client in
            let stream = try client.serverStream("/t.S/Flood", [], timeout: patient, credit: 4)
            guard let (peer, head, _) = try await Self.nextRequest(raw) else { return }
            #expect(head.method == "/t.S/Flood" && head.credit == 4)
            // The 4 messages granted, 20 more, then OK: a server that ignores credit.
            for i in 0..<24 {
                try await raw.send(RPCServerMessage(callID: head.callID, body: [UInt8(i)]), to: peer)
            }
            try await raw.send(RPCServerMessage(callID: head.callID, status: .ok), to: peer)
            try await eventually("the call to end") { client.callsInFlight == 0 }
            // Nothing consumed yet: what waits for the consumer is exactly the credit.
            #expect(stream.buffered == 4, "the client holds \(stream.buffered) messages on a credit of 4")

            var received: [[UInt8]] = []
            do {
                for try await message in stream { received.append(message) }
                Issue.record("the stream ended OK after \(received.count) messages")
            } catch let error as RPCError {
                #expect(error.code == .internal, "\(error)")
                #expect(error.reason == RPCReason.creditExceeded, "\(error)")
                #expect(error.message.contains("message 5 of stream /t.S/Flood"), "\(error)")
                #expect(error.message.contains("past the credit of 4 messages granted"), "\(error)")
            }
            #expect(received == (0..<4).map { [UInt8($0)] })

            // Another call on the same client; the raw server reads until its request, then answers it.
            async let answer = client.unary("/t.Echo/Say", [42], timeout: patient)
            var before: [RPCClientMessage] = []
            var echo: (peer: [UInt8], head: RPCRequestHead, body: [UInt8])?
            while echo == nil {
                let (from, message) = try await raw.next()
                if case .request(let echoHead, let body) = message {
                    echo = (from, echoHead, body)
                } else {
                    before.append(message)
                }
            }
            // The cancel left before the caller learnt of the failure, so before the next request; no credit was
            // granted after the call ended.
            #expect(before == [.cancel(callID: head.callID)])
            let (echoPeer, echoHead, body) = try #require(echo)
            #expect(echoPeer == peer, "the echo came on another connection")
            try await raw.send(RPCServerMessage(callID: echoHead.callID, body: body, status: .ok), to: echoPeer)
            #expect(try await answer.body == [42])
            #expect(client.callsInFlight == 0 && client.isConnected)
        }
    }

    @Test(
        "a server that sends exactly the credit granted, as it is granted: every message, then OK",
        arguments: RPCTransportKind.allCases
    )
    func exactlyTheCredit(_ kind: RPCTransportKind) async throws {
        let total = 40
        try await RPCRawServer.with(kind) { raw, client in
            let stream = try client.serverStream("/t.S/Exact", [], timeout: patient, credit: 4)
            guard let (peer, head, _) = try await Self.nextRequest(raw) else { return }
            let consumer = Task {
                var got: [[UInt8]] = []
                for try await message in stream {
                    got.append(message)
                    #expect(stream.buffered <= 4)
                }
                return got
            }
            // Each credit frame allows as many messages more; the server sends them as soon as it reads it, so they
            // meet the client's check with no slack.
            var granted = Int(head.credit ?? 0)
            var sent = 0
            while sent < total {
                while sent < min(granted, total) {
                    try await raw.send(RPCServerMessage(callID: head.callID, body: [UInt8(sent)]), to: peer)
                    sent += 1
                }
                guard sent < total else { break }
                let (_, message) = try await raw.next()
                guard case .credit(head.callID, let more) = message else {
                    Issue.record("expected credit for call \(head.callID), got \(message)")
                    consumer.cancel()
                    return
                }
                granted += Int(more)
            }
            try await raw.send(RPCServerMessage(callID: head.callID, status: .ok), to: peer)
            #expect(try await consumer.value == (0..<total).map { [UInt8($0)] })
            #expect(client.callsInFlight == 0)
        }
    }
}
