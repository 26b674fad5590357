import CoopRPC
import Synchronization
import Testing

/// Retries: an idempotent call is tried again after UNAVAILABLE, within its deadline and the policy's attempts; a
/// call that is not idempotent never is.
@Suite("RPC retries")
struct RPCRetryTests {
    /// A server whose `/t.S/Get` holds the call until the server is killed, then a second server that answers it.
    static func killMidCall(
        _ kind: RPCTransportKind,
        idempotent: Bool
    ) async throws -> (result: Result<RPCResponse, any Error>, firstRuns: Int, secondRuns: Int) {
        let servers = try RPCRestartableServer(kind)
        let firstRuns = Counter()
        let secondRuns = Counter()
        let release = Flag()
        let first = try await servers.start([
            "/t.S/Get": .unary { _ in
                firstRuns.increment()
                while !release.isSet { try await Task.sleep(for: .milliseconds(10)) }
                return RPCResponse(body: [1])
            }
        ])
        let client = try await servers.client(first.address)
        let call = Task {
            try await client.unary(
                "/t.S/Get",
                [],
                options: RPCCallOptions(timeout: patient, isIdempotent: idempotent)
            )
        }
        try await eventually("the first attempt to reach the server") { firstRuns.value == 1 }
        await servers.kill(first)
        release.set()
        let second = try await servers.start(
            [
                "/t.S/Get": .unary { _ in
                    secondRuns.increment()
                    return RPCResponse(body: [2])
                },
                "/t.S/Ping": .unary { _ in RPCResponse(body: []) },
            ],
            at: first.address
        )
        let result = await call.result
        // A later call proves the client is connected to the second server, so any retry would have reached it.
        _ = try await client.unary("/t.S/Ping", [], timeout: patient)
        await client.close()
        await servers.shutdown([first, second])
        return (result, firstRuns.value, secondRuns.value)
    }

    @Test(
        "an idempotent call whose server dies mid-call is retried and answered by the server that comes back",
        arguments: [RPCTransportKind.inMemory, .tcp]
    )
    func idempotentRetried(_ kind: RPCTransportKind) async throws {
        let (result, firstRuns, secondRuns) = try await Self.killMidCall(kind, idempotent: true)
        #expect(try result.get().body == [2])
        #expect(firstRuns == 1 && secondRuns == 1)
    }

    @Test(
        "a call that is not idempotent fails UNAVAILABLE when its server dies, and is never sent again",
        arguments: [RPCTransportKind.inMemory, .tcp]
    )
    func nonIdempotentNotRetried(_ kind: RPCTransportKind) async throws {
        let (result, firstRuns, secondRuns) = try await Self.killMidCall(kind, idempotent: false)
        guard case .failure(let error as RPCError) = result else {
            Issue.record("the call ended with \(result)")
            return
        }
        #expect(error.code == .unavailable)
        #expect(firstRuns == 1 && secondRuns == 0)
    }

    /// A server (in memory) whose `/t.S/Flaky` breaks the connection under every attempt.
    static func flaky(
        policy: RPCRetryPolicy,
        timeout: Duration?,
        idempotent: Bool = true
    ) async throws -> (error: RPCError?, attempts: Int) {
        let servers = try RPCRestartableServer(.inMemory)
        let attempts = Counter()
        let address = Mutex("")
        let running = try await servers.start([
            "/t.S/Flaky": .unary { [network = servers.network] _ in
                attempts.increment()
                network.dropConnections(to: address.withLock { $0 })
                try await Task.sleep(for: .seconds(3600))
                return RPCResponse(body: [])
            }
        ])
        address.withLock { $0 = running.address }
        let client = try await servers.client(running.address, retryPolicy: policy)
        var failure: RPCError?
        do {
            _ = try await client.unary(
                "/t.S/Flaky",
                [],
                options: RPCCallOptions(timeout: timeout, isIdempotent: idempotent)
            )
        } catch {
            failure = error
        }
        await client.close()
        await servers.shutdown([running])
        return (failure, attempts.value)
    }

    @Test("retries stop after the policy's attempts, with UNAVAILABLE")
    func boundedAttempts() async throws {
        let policy = RPCRetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(5), maxBackoff: .milliseconds(20))
        let (error, attempts) = try await Self.flaky(policy: policy, timeout: patient)
        #expect(error?.code == .unavailable)
        #expect(attempts == 3)
        let (once, onlyOne) = try await Self.flaky(policy: policy, timeout: patient, idempotent: false)
        #expect(once?.code == .unavailable && onlyOne == 1)
    }

    @Test("retries stop before a pause would pass the deadline")
    func deadlineBoundsRetries() async throws {
        let policy = RPCRetryPolicy(maxAttempts: 100, initialBackoff: .milliseconds(400), maxBackoff: .seconds(1))
        let (error, attempts) = try await Self.flaky(policy: policy, timeout: .milliseconds(500))
        #expect(error?.code == .unavailable || error?.code == .deadlineExceeded, "\(String(describing: error))")
        // Pauses of 200–400 ms, then 500–1000 ms: the deadline leaves room for two or three attempts, never 100.
        #expect(attempts >= 1 && attempts <= 3, "\(attempts) attempts")
    }

    @Test("backoff doubles from the initial pause up to the cap; jitter keeps half to all of it")
    func backoff() {
        let policy = RPCRetryPolicy(initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(300), multiplier: 2)
        #expect(policy.backoff(after: 1) == .milliseconds(50))
        #expect(policy.backoff(after: 2) == .milliseconds(100))
        #expect(policy.backoff(after: 3) == .milliseconds(200))
        #expect(policy.backoff(after: 4) == .milliseconds(300))
        #expect(policy.backoff(after: 40) == .milliseconds(300))
        #expect(RPCRetryPolicy.none.maxAttempts == 1)
        #expect(RPCRetryPolicy(maxAttempts: 0).maxAttempts == 1)
    }
}
