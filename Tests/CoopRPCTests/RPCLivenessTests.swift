import CoopRPC
import CoopZMQ
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What a client sees when its server dies: calls in flight fail with UNAVAILABLE at once (never a hang, never only
/// at their deadline), a call made while there is no connection waits for one until its deadline, and the client
/// reconnects by itself when a server comes back on the same endpoint. With a real child process killed with SIGKILL,
/// one stopped with SIGSTOP (only heartbeats can tell), and in process.
@Suite("RPC liveness: heartbeats, a dying server, reconnection")
struct RPCLivenessTests {
    @Test(
        "a server that goes away: the call in flight fails UNAVAILABLE; a new call waits; the client comes back by itself",
        arguments: [RPCTransportKind.inMemory, .tcp]
    )
    func serverGoesAwayAndComesBack(_ kind: RPCTransportKind) async throws {
        let servers = try RPCRestartableServer(kind)
        let release = Flag()
        let started = Counter()
        let first = try await servers.start([
            "/t.S/Hold": .unary { _ in
                started.increment()
                while !release.isSet { try await Task.sleep(for: .milliseconds(10)) }
                return RPCResponse(body: [])
            },
            "/t.S/Echo": .unary { RPCResponse(body: $0.body) },
        ])
        let client = try await servers.client(first.address)
        #expect(try await client.unary("/t.S/Echo", [1], timeout: patient).body == [1])
        let clock = ContinuousClock()
        let held = Task { try await client.unary("/t.S/Hold", [], timeout: .seconds(600)) }
        try await eventually("the call to reach the server") { started.value == 1 }

        let killed = clock.now
        await servers.kill(first)
        let result = await held.result
        let failedAfter = clock.now - killed
        guard case .failure(let error as RPCError) = result else {
            Issue.record("the call in flight ended with \(result)")
            return
        }
        // UNAVAILABLE, not DEADLINE_EXCEEDED: the lost connection ended the call, not its 600 s deadline.
        #expect(
            error.code == .unavailable && error.reason == RPCReason.unavailable,
            "\(error), \(failedAfter) after the server died"
        )
        #expect(client.callsInFlight == 0)
        release.set()

        // No server: a new call waits for a connection until its deadline, and is never sent.
        let waited = await #expect(throws: RPCError.self) {
            try await client.unary("/t.S/Echo", [2], timeout: .milliseconds(300))
        }
        #expect(waited?.code == .deadlineExceeded && waited?.message.contains("not sent") == true)

        // A server comes back on the same address: the client reconnects by itself, and a call waiting meanwhile
        // goes through.
        let waiting = Task { try await client.unary("/t.S/Echo", [3], timeout: patient) }
        let second = try await servers.start(["/t.S/Echo": .unary { RPCResponse(body: $0.body) }], at: first.address)
        #expect(second.address == first.address)
        #expect(try await waiting.value.body == [3])
        #expect(try await client.unary("/t.S/Echo", [4], timeout: patient).body == [4])
        #expect(client.isConnected)
        await client.close()
        await servers.shutdown([first, second])
    }

    @Test(
        "a server process killed with SIGKILL: calls and streams in flight fail UNAVAILABLE; a new process on the same endpoint serves the same client"
    )
    func killedServerProcess() async throws {
        let context = try ZMQContext()
        let reactor = try ZMQReactor(context: context, name: "rpc-kill-cli")
        let (child, endpoint) = try await RPCChildProcess.server()
        let client = RPCClient(reactor: reactor, endpoint: endpoint)
        try await client.connect()
        #expect(try await client.unary("/t.Child/Echo", [7], timeout: patient).body == [7])
        let hang = Task { try await client.unary("/t.Child/Hang", [], timeout: .seconds(600)) }
        let stream = try client.serverStream("/t.Child/Count", [], credit: 4)
        var iterator = stream.makeAsyncIterator()
        for expected in 0..<3 { #expect(try await iterator.next() == [UInt8(expected)]) }
        // The hanging call starts on a task of its own: wait until it is on its way (under load it may not be yet),
        // so that the kill finds both calls in flight.
        let started = ContinuousClock.now
        while client.callsSent < 2 && ContinuousClock.now - started < .seconds(300) {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(client.callsInFlight == 2)

        let clock = ContinuousClock()
        let killed = clock.now
        child.signal(SIGKILL)
        _ = try await child.waitForExit()
        let result = await hang.result
        guard case .failure(let error as RPCError) = result else {
            Issue.record("the call in flight ended with \(result)")
            return
        }
        // UNAVAILABLE, not DEADLINE_EXCEEDED (600 s): the lost connection ended it.
        #expect(error.code == .unavailable, "\(error), \(clock.now - killed) after the kill")
        // The stream has no deadline at all: only the lost connection can end it.
        do {
            while try await iterator.next() != nil {}
            Issue.record("the stream ended OK")
        } catch let error as RPCError {
            #expect(error.code == .unavailable, "\(error)")
        }
        #expect(client.callsInFlight == 0)

        let (again, sameEndpoint) = try await RPCChildProcess.server(endpoint)
        #expect(sameEndpoint == endpoint)
        #expect(try await client.unary("/t.Child/Echo", [8], timeout: patient).body == [8])
        await client.close()
        await again.stop()
        await reactor.shutdown()
    }

    @Test(
        "a server process stopped with SIGSTOP: heartbeats end the call in flight with UNAVAILABLE long before its deadline; without heartbeats only the deadline does"
    )
    func hungServerProcess() async throws {
        let context = try ZMQContext()
        let reactor = try ZMQReactor(context: context, name: "rpc-stop-cli")
        // The server sends no heartbeats (and so no TTL): the unwatched client has no way to notice but its deadline.
        let (child, endpoint) = try await RPCChildProcess.server(heartbeat: false)
        // The defaults (a PING every second, 3 s timeout): what a client gets without asking.
        let watched = RPCClient(reactor: reactor, endpoint: endpoint, heartbeat: .standard)
        let unwatched = RPCClient(reactor: reactor, endpoint: endpoint, heartbeat: .off)
        try await watched.connect()
        try await unwatched.connect()
        #expect(try await watched.unary("/t.Child/Echo", [1], timeout: patient).body == [1])
        #expect(try await unwatched.unary("/t.Child/Echo", [2], timeout: patient).body == [2])

        let hangWatched = Task { try await watched.unary("/t.Child/Hang", [], timeout: patient) }
        let hangUnwatched = Task { try await unwatched.unary("/t.Child/Hang", [], timeout: .seconds(4)) }
        try await eventually("both calls to be sent") { watched.callsInFlight == 1 && unwatched.callsInFlight == 1 }
        let clock = ContinuousClock()
        let stopped = clock.now
        // The process hangs: its TCP connections stay open, only heartbeats can tell.
        child.signal(SIGSTOP)
        let result = await hangWatched.result
        guard case .failure(let error as RPCError) = result else {
            Issue.record("the call in flight ended with \(result)")
            await child.stop()
            return
        }
        // UNAVAILABLE, not DEADLINE_EXCEEDED: the heartbeat timeout ended it, long before its deadline.
        #expect(error.code == .unavailable, "\(error), \(clock.now - stopped) after the stop")
        let plain = await hangUnwatched.result
        guard case .failure(let plainError as RPCError) = plain else {
            Issue.record("the unwatched call ended with \(plain)")
            await child.stop()
            return
        }
        #expect(plainError.code == .deadlineExceeded, "\(plainError)")

        // The process runs again: the client reconnects by itself.
        child.signal(SIGCONT)
        #expect(try await watched.unary("/t.Child/Echo", [3], timeout: patient).body == [3])
        await watched.close()
        await unwatched.close()
        await child.stop()
        await reactor.shutdown()
    }

    @Test(
        "a client process killed with SIGKILL mid-stream: its call is cancelled and leaves the table; others are served"
    )
    func killedClientProcess() async throws {
        let sent = Counter()
        let cancelled = Flag()
        try await withRPCServer(
            .tcp,
            methods: methods(
                unary: ["/t.S/Echo": { RPCResponse(body: $0.body) }],
                streams: ["/t.S/Count": RPCBadInputTests.counting(sent, cancelled, total: 1000)]
            )
        ) { fixture in
            let child = try RPCChildProcess(["stream-client", fixture.address])
            let line = try await child.lines.next(limit: patient, "the child to stream")
            #expect(line == "STREAMING")
            // Credit 2, and one more for each of the two messages the child read: then the stream waits for credit
            // the child will never grant.
            try await eventually("the stream to wait for credit") { sent.value == 4 }
            #expect(fixture.server.callsInFlight == 1)
            child.signal(SIGKILL)
            _ = try await child.waitForExit()
            try await eventually("the server to notice the client died") { fixture.server.callsInFlight == 0 }
            try await eventually("the handler's cancellation") { cancelled.isSet }
            #expect(sent.value == 4)
            let answer = try await fixture.client.unary("/t.S/Echo", [5], timeout: patient)
            #expect(answer.body == [5])
        }
    }

    @Test("a call without a deadline waits at most the client's connect timeout for a connection, then UNAVAILABLE")
    func connectTimeout() async throws {
        let servers = try RPCRestartableServer(.inMemory)
        let client = try await servers.client("nobody-listens", retryPolicy: .none, connectTimeout: .milliseconds(200))
        let error = await #expect(throws: RPCError.self) { try await client.unary("/t.S/Echo", []) }
        #expect(error?.code == .unavailable && error?.message.contains("not sent") == true)
        #expect(client.callsInFlight == 0)
        await client.close()
        await servers.shutdown([])
    }

    @Test("heartbeat options: milliseconds on the socket, clamped, and off")
    func heartbeatOptions() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, type: .dealer)
        try socket.set(ZMQHeartbeat(interval: .milliseconds(250), timeout: .seconds(2), ttl: .seconds(99_999)))
        #expect(try socket.int(.heartbeatInterval) == 250)
        #expect(try socket.int(.heartbeatTimeout) == 2000)
        // libzmq keeps the TTL in deciseconds within 16 bits.
        #expect(try socket.int(.heartbeatTTL) == 6_553_500)
        try socket.set(.off)
        #expect(try socket.int(.heartbeatInterval) == 0)
        #expect(ZMQHeartbeat.standard.isOn && !ZMQHeartbeat.off.isOn)
        socket.close()
        #expect(context.openSocketCount == 0)
    }
}
