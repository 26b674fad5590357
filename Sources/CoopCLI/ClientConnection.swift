import ArgumentParser
import CoopRPC
import CoopServices
import CoopWire
import CoopZMQ

/// One connection of a client command to a node: its own ZeroMQ context and reactor, and an ``RPCClient`` on them.
///
/// **Threading.** Opened and closed by the command's task; ``rpc`` may be used from any task in between.
/// ``with(_:_:)`` closes it on every path, so the reactor thread never outlives the command.
struct ClientConnection: Sendable {
    let rpc: RPCClient
    let reactor: ZMQReactor
    let target: ClientTarget

    /// Connects to `target`, runs `body`, closes. An ``RPCError`` from `body` is printed as
    /// `error: CODE (REASON): message` and becomes its exit code (``ClientExit``), a ``ClientError`` its own; other
    /// errors pass through.
    static func with<T: Sendable>(
        _ target: ClientTarget,
        _ body: (ClientConnection) async throws -> T
    ) async throws -> T {
        if target.curve == nil {
            CLIOutput.err(
                "warning: plain text to \(target.endpoint): no encryption and no authentication "
                    + "(for local experiments only)"
            )
        }
        let reactor: ZMQReactor
        do {
            reactor = try ZMQReactor(context: try ZMQContext(), name: "coop-client")
        } catch {
            throw CLIOutput.fail("cannot start ZeroMQ: \(error)", code: ClientExit.unavailable)
        }
        let rpc = RPCClient(reactor: reactor, endpoint: target.endpoint, curve: target.curve)
        let connection = ClientConnection(rpc: rpc, reactor: reactor, target: target)
        do {
            try await rpc.connect()
            let result = try await body(connection)
            await connection.close()
            return result
        } catch let error as RPCError {
            await connection.close()
            throw ClientExit.fail(Self.explained(error, target: target))
        } catch let error as ClientError {
            await connection.close()
            throw error.fail()
        } catch let error as ZMQError {
            await connection.close()
            throw CLIOutput.fail("cannot connect to \(target.endpoint): \(error)", code: ClientExit.unavailable)
        } catch {
            await connection.close()
            throw error
        }
    }

    /// `error` with a hint when the node did not answer: where it was looked for, and what to check.
    static func explained(_ error: RPCError, target: ClientTarget) -> RPCError {
        guard error.code == .deadlineExceeded || error.code == .unavailable else { return error }
        var error = error
        let keyHint = target.curve == nil ? "" : ", and is the profile's server_curve_public_key that node's key"
        error.message += "; no answer from \(target.endpoint) (\(target.label)): is the node running there\(keyHint)?"
        return error
    }

    /// Checks within `timeout` that the node answers at all (a health check; any answer but UNAVAILABLE,
    /// DEADLINE_EXCEEDED, UNAUTHENTICATED or CANCELLED will do, even UNIMPLEMENTED), so that a stream without a
    /// deadline does not wait for ever on a node that is not there.
    func checkReachable(timeout: Duration) async throws(RPCError) {
        do {
            _ = try await HealthService.Client(rpc).check(
                HealthCheckRequest(),
                options: RPCCallOptions(timeout: timeout)
            )
        } catch {
            switch error.code {
            case .unavailable, .deadlineExceeded, .unauthenticated, .cancelled: throw error
            default: return
            }
        }
    }

    /// Waits until everything sent so far has reached the node — a cancelled stream's cancel in particular, which
    /// closing the socket at once could drop — by a health check on the same connection (messages on one connection
    /// arrive in order), for at most two seconds; its answer does not matter.
    func flush() async {
        _ = try? await HealthService.Client(rpc).check(
            HealthCheckRequest(),
            options: RPCCallOptions(timeout: .seconds(2))
        )
    }

    private func close() async {
        await rpc.close()
        await reactor.shutdown()
    }
}
