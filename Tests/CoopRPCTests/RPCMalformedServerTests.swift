import CoopRPC
import CoopWire
import Testing

/// A server that answers a call with a message whose header decodes but breaks the protocol (end of stream without a
/// status; metadata that is not valid) ends that call at once with the decoding error, and is told to cancel it. The
/// client used to drop such a message, so a call without a deadline waited for ever. Messages that name no call (a
/// header that does not decode) are still dropped, and other calls go on.
@Suite("RPC client: malformed answers from the server")
struct RPCMalformedServerTests {
    @Test(
        "a malformed answer ends its call with INTERNAL (MALFORMED_FRAME) and a cancel; garbage is dropped; calls go on",
        arguments: RPCTransportKind.allCases
    )
    func malformedAnswer(_ kind: RPCTransportKind) async throws {
        try await RPCRawServer.with(kind) { raw, client in
            // Before the fix this call ended only at its deadline (DEADLINE_EXCEEDED), and without one never.
            async let answer = client.unary("/t.Echo/Say", [1], timeout: .seconds(20))
            let (peer, first) = try await raw.next()
            guard case .request(let head, _) = first else {
                Issue.record("expected a request, got \(first)")
                return
            }
            // Garbage that names no call: dropped, the call still waits.
            try await raw.send(frames: [RPCFrames.tag, [0xFF, 0xFF, 0xFF]], to: peer)
            // End of stream without a status: the header decodes, so its call is known.
            let header = ResponseHeader(callId: head.callID, endOfStream: true)
            try await raw.send(frames: [RPCFrames.tag, header.wireBytes(), [2]], to: peer)
            do {
                let response = try await answer
                Issue.record("the call succeeded: \(response)")
            } catch let error as RPCError {
                #expect(error.code == .internal, "\(error)")
                #expect(error.reason == RPCReason.malformedFrame, "\(error)")
                #expect(error.message.contains("call \(head.callID) (/t.Echo/Say) is malformed"), "\(error)")
                #expect(error.message.contains("end_of_stream and status disagree"), "\(error)")
            }
            let (_, cancel) = try await raw.next()
            #expect(cancel == .cancel(callID: head.callID))
            #expect(client.callsInFlight == 0)

            async let second = client.unary("/t.Echo/Say", [42], timeout: patient)
            let (echoPeer, message) = try await raw.next()
            guard case .request(let echoHead, let body) = message else {
                Issue.record("expected a request, got \(message)")
                return
            }
            try await raw.send(RPCServerMessage(callID: echoHead.callID, body: body, status: .ok), to: echoPeer)
            #expect(try await second.body == [42])
        }
    }
}
