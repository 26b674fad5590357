import CoopLedger
import CoopRPC
import CoopServices
import CoopTestKit
import CoopWire
import CoopZMQ
import Foundation

/// A node for the client commands' tests, in the test process: a ``FakeLedger`` with the health and reflection
/// services on an `RPCServer` over CurveZMQ at tcp://127.0.0.1 (port 0), a ZAP handler admitting only the staff
/// member's key, and a mesh directory as `coop dev mesh` lays it out — `keys/` written as `coop keygen` writes them and
/// `clients/<member>.toml` profiles — for `staff.wuhou` (admitted) and `staff.stranger` (not in the roster).
struct TestNode: Sendable {
    let fake: FakeLedger
    /// The bound endpoint, `tcp://127.0.0.1:PORT`.
    let endpoint: String
    /// The mesh directory (with `clients/` and `keys/`).
    let mesh: String
    /// The node's CurveZMQ public key.
    let serverPublicKey: [UInt8]
    /// The keys of the admitted staff member and of the stranger.
    let staff: NodeKeys
    let stranger: NodeKeys

    static let staffID = "staff.wuhou"
    static let strangerID = "staff.stranger"

    /// The admitted member's profile.
    var profile: String { "\(mesh)/clients/\(Self.staffID).toml" }
    /// The stranger's profile.
    var strangerProfile: String { "\(mesh)/clients/\(Self.strangerID).toml" }

    /// Options that connect as the admitted member, with a deadline generous enough for a loaded machine.
    var asStaff: [String] { ["--mesh", mesh, "--as", Self.staffID, "--timeout", "30"] }

    /// The text of a profile for `member` at `endpoint` (the server's key unless `serverKey` is given).
    func profileText(member: String, endpoint: String? = nil, serverKey: String? = nil) -> String {
        """
        # written by the test, as coop dev mesh would
        member = "\(member)"
        node = "cd-wuhou"
        endpoint = "\(endpoint ?? self.endpoint)"
        server_curve_public_key = "\(serverKey ?? Base64.encode(serverPublicKey))"
        key_dir = "../keys"
        insecure = false

        """
    }

    /// Runs blocking file work on a thread of its own instead of the Swift concurrency pool (which on Linux is also
    /// Dispatch's global pool).
    static func offPool(_ work: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            CLIProcess.detach { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Writes `text` to `path` off the pool (Foundation's atomic writes fsync).
    static func write(_ text: String, to path: String) async throws {
        try await offPool { try text.write(toFile: path, atomically: false, encoding: .utf8) }
    }

    /// Starts a node in `directory`, runs `body` with it, stops it.
    static func with(
        in directory: TemporaryDirectory,
        fake: FakeLedger = FakeLedger(),
        _ body: (TestNode) async throws -> Void
    ) async throws {
        let serverKeys = try ZMQCurve.keyPair()
        let staff = NodeKeys.generate(name: staffID)
        let stranger = NodeKeys.generate(name: strangerID)
        let mesh = directory.file("mesh")
        // Key files are fsynced: on a busy disk that can take long, so not on the test's (small) thread pool, which
        // the node's handlers need.
        try await Self.offPool {
            try staff.write(to: mesh + "/keys")
            try stranger.write(to: mesh + "/keys")
            try FileManager.default.createDirectory(atPath: mesh + "/clients", withIntermediateDirectories: true)
        }

        let context = try ZMQContext()
        let reactor = try ZMQReactor(context: context, name: "test-node")
        try await ZAPHandler(admitted: [staff.curvePublicKey: staffID]).install(on: reactor)
        let health = HealthProvider(services: [LedgerService.name])
        var methods = fake.rpcMethods
        methods.merge(health.rpcMethods) { a, _ in a }
        let reflection = ReflectionProvider(
            methods: Array(methods.keys) + ReflectionService.Method.all.map(\.fullName)
        )
        methods.merge(reflection.rpcMethods) { a, _ in a }
        let server = RPCServer(
            reactor: reactor,
            endpoint: "tcp://127.0.0.1:0",
            methods: methods,
            curve: RPCServerCurve(secretKey: serverKeys.secretKey)
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The node's tasks (the server's loop and its handlers, which inherit the preference) run on a thread of
            // their own, not on the shared pool (see NodeExecutor).
            group.addTask(executorPreference: NodeExecutor.shared) { try await server.run() }
            let node = TestNode(
                fake: fake,
                endpoint: try await server.boundEndpoint(),
                mesh: mesh,
                serverPublicKey: serverKeys.publicKey,
                staff: staff,
                stranger: stranger
            )
            try await write(node.profileText(member: staffID), to: node.profile)
            try await write(node.profileText(member: strangerID), to: node.strangerProfile)
            do {
                try await body(node)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
            try await group.waitForAll()
        }
        await reactor.shutdown()
    }
}
