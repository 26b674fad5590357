import CoopZMQ
import Testing

@testable import CoopRPC

/// Credit and cancel messages that a full connection refuses wait and go once it drains: over real tcp, against a
/// bare ROUTER that stops reading until the client's queue is full (`ZMQ_SNDHWM` reached), and for the bookkeeping
/// of what waits.
@Suite("Credit and cancel on a full connection")
struct RPCControlBackpressureTests {
    /// Long heartbeats: a server that does not read does not answer pings, and the test must not lose the
    /// connection to them while the queue is full.
    static let slowHeartbeat = ZMQHeartbeat(interval: .seconds(60), timeout: .seconds(120), ttl: .seconds(120))

    @Test("tcp: a credit and a cancel refused while the server stops reading reach it once it reads again")
    func controlWaitsForTheConnection() async throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context, type: .router)
        try router.set(.receiveHighWaterMark, 1)
        let endpoint = try router.bind("tcp://127.0.0.1:0")
        let reactor = try ZMQReactor(context: context, name: "rpc-ctl-full")
        let client = RPCClient(reactor: reactor, endpoint: endpoint, heartbeat: Self.slowHeartbeat)
        // Closed whatever happens: the flood's calls end with the client.
        let outcome: Result<Void, any Error>
        do {
            try await client.connect()
            try await Self.scenario(router: router, client: client)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await client.close()
        router.close()
        await reactor.shutdown()
        try outcome.get()
    }

    /// Fills the connection, has the client owe a credit and a cancel, then reads until both arrive.
    static func scenario(router: ZMQSocket, client: RPCClient) async throws {
        // Two streams: `granted` will ask for more credit, `cancelled` will be given up.
        let granted = try client.serverStream("/t.Test/Granted", [], credit: 2)
        let cancelled = try client.serverStream("/t.Test/Cancelled", [], credit: 2)
        var peer: [UInt8] = []
        var ids: [String: UInt64] = [:]
        while ids.count < 2 {
            let frames = try await Self.receive(router, "the two stream requests")
            peer = frames[0]
            if case .request(let head, _) = try RPCFrames.decodeClient(Array(frames.dropFirst())) {
                ids[head.method] = head.callID
            }
        }
        let grantedID = try #require(ids["/t.Test/Granted"])
        let cancelledID = try #require(ids["/t.Test/Cancelled"])

        // The server stops reading; requests of 16 KiB fill the kernel's buffers and then the client's queue.
        let flood = Task {
            await withTaskGroup(of: Void.self) { group in
                var started = 0
                while client.requestsRefused == 0 && started < 40_000 && !Task.isCancelled {
                    for _ in 0..<50 {
                        group.addTask {
                            let request = [UInt8](repeating: 7, count: 16 << 10)
                            _ = try? await client.unary("/t.Test/Flood", request, timeout: .seconds(120))
                        }
                    }
                    started += 50
                    try? await Task.sleep(for: .milliseconds(2))
                }
                await group.waitForAll()
            }
        }
        try await eventually("the client's queue is full (a request was refused)", limit: Self.limit) {
            client.requestsRefused > 0
        }

        // Two stream messages: reading each grants one more; the grants find the queue full.
        let reader = Task {
            var count = 0
            for try await _ in granted {
                count += 1
                if count == 2 { break }
            }
            return count
        }
        for n in 0..<2 {
            let message = RPCFrames.encode(RPCServerMessage(callID: grantedID, body: [UInt8(n)]))
            #expect(try router.send([peer] + message, blocking: false))
        }
        // The other stream's consumer gives up: its cancel finds the queue full too.
        let consumer = Task { for try await _ in cancelled {} }
        consumer.cancel()
        try await eventually("the credit and the cancel wait (two calls owe a control message)", limit: Self.limit) {
            client.controlWaiting == 2
        }
        _ = try await reader.value

        // The server reads again: among the requests it finds the credit and the cancel.
        var credit: UInt32 = 0
        var cancelSeen = false
        var read = 0
        while credit < 2 || !cancelSeen {
            let frames = try await Self.receive(router, "the credit and the cancel (after \(read) messages)")
            read += 1
            switch try RPCFrames.decodeClient(Array(frames.dropFirst())) {
            case .credit(let id, let amount) where id == grantedID: credit += amount
            case .cancel(let id) where id == cancelledID: cancelSeen = true
            default: break
            }
        }
        #expect(credit == 2)
        #expect(cancelSeen)
        #expect(client.controlWaiting == 0)
        // The stream stays open to the end (had its consumer gone, its cancel would replace the credit).
        withExtendedLifetime(granted) {}
        flood.cancel()
    }

    /// How long each step may take (far more than it needs; a lost message must fail the test, not hang it).
    static let limit: Duration = .seconds(60)

    /// The next message on `router`, polled without blocking the test's thread for long; fails after ``limit``.
    static func receive(_ router: ZMQSocket, _ what: String) async throws -> [[UInt8]] {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let frames = try router.receive(blocking: false) { return frames }
            try await Task.sleep(for: .milliseconds(2))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    @Test("what waits: one message per call, credit added up, a cancel replacing credit, oldest first, then nothing")
    func owedControl() {
        var owed = RPCClient.OwedControl()
        owed.owe(7, .credit(3))
        owed.owe(9, .cancel)
        owed.owe(7, .credit(4))
        owed.owe(11, .credit(1))
        owed.owe(11, .cancel)
        owed.owe(9, .credit(5))
        owed.blocked = true
        #expect(owed.count == 3)
        let all = owed.takeAll()
        #expect(all.map(\.0) == [7, 9, 11])
        #expect(all.map(\.1) == [.credit(7), .cancel, .cancel])
        #expect(owed.isEmpty)
        #expect(!owed.blocked, "what is taken was sent: the next refusal blocks again")
        #expect(owed.takeAll().isEmpty)
    }
}
