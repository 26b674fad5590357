public import CoopLedger
public import CoopRPC
public import CoopZMQ

extension MeshWriter.Mesh {
    /// A connected RPC client of `node`, authenticated as `member` with that member's keys from this mesh (CurveZMQ,
    /// the node's public key from `roster`). For tests, benchmarks and tools that talk to a mesh's nodes.
    ///
    /// **Threading.** The client is `Sendable`; its socket lives on `reactor`'s thread.
    public func client(
        on reactor: ZMQReactor,
        roster: RosterBook,
        node: String,
        as member: String
    ) async throws -> RPCClient {
        guard let endpoint = endpoints[node] else {
            throw LedgerError(code: .invalidArgument, message: "\(node) is not a node of the mesh in \(directory)")
        }
        return try await MeshWriter.client(
            on: reactor,
            endpoint: endpoint,
            roster: roster,
            node: node,
            as: member,
            keys: "\(directory)/keys"
        )
    }
}

extension MeshWriter {
    /// A connected RPC client of the node `node` listening at `endpoint`, authenticated as `member` with its keys
    /// from the directory `keys` (CurveZMQ, the node's public key from `roster`).
    ///
    /// **Threading.** The client is `Sendable`; its socket lives on `reactor`'s thread.
    public static func client(
        on reactor: ZMQReactor,
        endpoint: String,
        roster: RosterBook,
        node: String,
        as member: String,
        keys directory: String
    ) async throws -> RPCClient {
        let keys = try NodeKeys.read(name: member, from: directory)
        guard let server = roster.member(node) else {
            throw LedgerError(code: .invalidArgument, message: "\(node) is not in the roster")
        }
        let client = RPCClient(
            reactor: reactor,
            endpoint: endpoint,
            curve: RPCClientCurve(
                serverPublicKey: server.curvePublicKey,
                publicKey: keys.curvePublicKey,
                secretKey: keys.curveSecretKey
            )
        )
        try await client.connect()
        return client
    }
}
