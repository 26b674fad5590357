import CoopRPC
import CoopZMQ
import Synchronization
import Testing

/// CurveZMQ with a ZAP handler that admits only listed keys: the handler sees the caller's member id from its key,
/// and a refused client gets UNAUTHENTICATED naming its key instead of waiting out its deadline.
@Suite("RPC over CurveZMQ")
struct RPCCurveTests {
    @Test("an admitted key calls and is known by its member id; an unknown key is refused at once, by name")
    func admittedAndRefused() async throws {
        #expect(ZMQ.hasCurve, "libzmq was built without CurveZMQ")
        let server = try ZMQCurve.keyPair()
        let staff = try ZMQCurve.keyPair()
        let stranger = try ZMQCurve.keyPair()
        #expect(try ZMQCurve.publicKey(secretKey: staff.secretKey) == staff.publicKey)
        let refusals = Mutex<[String]>([])
        let context = try ZMQContext()
        let serverReactor = try ZMQReactor(context: context, name: "rpc-curve-srv")
        let clientReactor = try ZMQReactor(context: context, name: "rpc-curve-cli")
        try await ZAPHandler(admitted: [staff.publicKey: "cq-staff"]) { key, _, reason in
            refusals.withLock { $0.append("\(key): \(reason)") }
        }.install(on: serverReactor)
        let rpc = RPCServer(
            reactor: serverReactor,
            endpoint: "tcp://127.0.0.1:0",
            handlers: ["/t.S/WhoAmI": { request in RPCResponse(body: Array((request.caller ?? "nobody").utf8)) }],
            curve: RPCServerCurve(secretKey: server.secretKey)
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await rpc.run() }
            let endpoint = try await rpc.boundEndpoint()

            let good = RPCClient(
                reactor: clientReactor,
                endpoint: endpoint,
                curve: RPCClientCurve(
                    serverPublicKey: server.publicKey,
                    publicKey: staff.publicKey,
                    secretKey: staff.secretKey
                )
            )
            try await good.connect()
            let answer = try await good.unary("/t.S/WhoAmI", [], timeout: patient)
            #expect(String(decoding: answer.body, as: UTF8.self) == "cq-staff")

            let bad = RPCClient(
                reactor: clientReactor,
                endpoint: endpoint,
                curve: RPCClientCurve(
                    serverPublicKey: server.publicKey,
                    publicKey: stranger.publicKey,
                    secretKey: stranger.secretKey
                )
            )
            try await bad.connect()
            // A long deadline: the refusal must arrive through the handshake events, not the deadline.
            let error = await #expect(throws: RPCError.self) {
                try await bad.unary("/t.S/WhoAmI", [], timeout: .seconds(600))
            }
            #expect(error?.code == .unauthenticated && error?.reason == RPCReason.unauthenticated)
            #expect(error?.message.contains(ZMQCurve.z85(stranger.publicKey)) == true, "\(String(describing: error))")
            #expect(refusals.withLock { $0.contains { $0.hasPrefix(ZMQCurve.z85(stranger.publicKey)) } })

            await good.close()
            await bad.close()
            group.cancelAll()
            try await group.waitForAll()
        }
        await clientReactor.shutdown()
        await serverReactor.shutdown()
    }

    @Test("the ZAP reply: 200 with the member id for a listed key, 400 otherwise, and for other mechanisms")
    func zapReplies() throws {
        let key = try ZMQCurve.keyPair().publicKey
        let handler = ZAPHandler(admitted: [key: "cd-wuhou"])
        func request(_ mechanism: String, _ credentials: [UInt8]) -> [[UInt8]] {
            [
                Array("1.0".utf8), [7], Array("coop".utf8), Array("127.0.0.1".utf8), [], Array(mechanism.utf8),
                credentials,
            ]
        }
        let ok = handler.reply(to: request("CURVE", key))
        #expect(ok[1] == [7] && ok[2] == Array("200".utf8) && ok[4] == Array("cd-wuhou".utf8))
        #expect(handler.reply(to: request("CURVE", [UInt8](repeating: 1, count: 32)))[2] == Array("400".utf8))
        #expect(handler.reply(to: request("NULL", []))[2] == Array("400".utf8))
        #expect(handler.reply(to: [Array("9.9".utf8)])[2] == Array("500".utf8))
    }
}
