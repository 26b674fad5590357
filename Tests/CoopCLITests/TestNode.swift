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
        try staff.write(to: mesh + "/keys")
        try stranger.write(to: mesh + "/keys")
        try FileManager.default.createDirectory(atPath: mesh + "/clients", withIntermediateDirectories: true)

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
            group.addTask { try await server.run() }
            let node = TestNode(
                fake: fake,
                endpoint: try await server.boundEndpoint(),
                mesh: mesh,
                serverPublicKey: serverKeys.publicKey,
                staff: staff,
                stranger: stranger
            )
            try node.profileText(member: staffID).write(toFile: node.profile, atomically: true, encoding: .utf8)
            try node.profileText(member: strangerID)
                .write(toFile: node.strangerProfile, atomically: true, encoding: .utf8)
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
