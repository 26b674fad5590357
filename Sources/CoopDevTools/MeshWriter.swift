import CoopLedger
public import CoopWire
import Foundation

/// Writes what a local three-district mesh needs (`coop dev mesh DIR`): fresh keys for the nodes `cq-shapingba`,
/// `cd-wuhou` and `cd-qingbaijiang` and for one staff and one auditor client per node, the roster with their public
/// keys, the catalog, one TOML configuration per node with free loopback ports, and one client profile per client.
///
/// ```
/// DIR/roster.json  DIR/catalog.json
/// DIR/keys/<member>.signing.key, <member>.curve.key      (mode 0600)
/// DIR/nodes/<node>.toml                                  (coop node run --config)
/// DIR/clients/<member>.toml                              (coop item --client, or --mesh DIR --as MEMBER)
/// DIR/data/<node>/                                       (created by each node)
/// ```
///
/// Not thread-safe: one call at a time per directory. Ports are found free by binding 127.0.0.1:0 and released
/// before the nodes start, so another program could take one in between; the node then fails to start naming it.
public struct MeshWriter {
    /// One district node of the mesh.
    public struct District: Sendable {
        public var nodeID: String
        public var short: String
        public var side: Side
        public var displayName: String
    }

    /// The three districts of the seed document: Shapingba (Chongqing), Wuhou and Qingbaijiang (Chengdu).
    public static let districts = [
        District(
            nodeID: "cq-shapingba",
            short: "shapingba",
            side: .chongqing,
            displayName: "重庆市沙坪坝区 Shapingba District, Chongqing"
        ),
        District(nodeID: "cd-wuhou", short: "wuhou", side: .chengdu, displayName: "成都市武侯区 Wuhou District, Chengdu"),
        District(
            nodeID: "cd-qingbaijiang",
            short: "qingbaijiang",
            side: .chengdu,
            displayName: "成都市青白江区 Qingbaijiang District, Chengdu"
        ),
    ]

    /// What was written.
    public struct Mesh: Sendable {
        public var directory: String
        /// Node id → listen endpoint.
        public var endpoints: [String: String]
        /// Node id → PUB endpoint of its head notices (empty without peering).
        public var publishEndpoints: [String: String] = [:]
        /// Node id → configuration file.
        public var configs: [String: String]
        /// Client member ids → profile file.
        public var clients: [String: String]
    }

    public let directory: String
    public let catalogPath: String
    /// Whether each node's config lists the other two as `[[peers]]` and publishes head notices. Without it each
    /// node stands alone (tests of one node; such a node may write at once, having no peer to ask about its log).
    public let peering: Bool
    /// The nodes of the mesh: ``districts`` by default; ``districts(count:)`` for a larger mesh (scale runs).
    public let nodes: [District]
    /// Who lists whom as `[[peers]]` (with `peering`): every node every other by default.
    public let topology: MeshTopology

    /// A writer for the three-district mesh, or with `nodes` and `topology` another (the default topology is
    /// complete: every node peers with every other). Every node gets a staff and an auditor client.
    public init(
        directory: String,
        catalogPath: String,
        peering: Bool = true,
        nodes: [District] = MeshWriter.districts,
        topology: MeshTopology? = nil
    ) {
        self.directory = directory
        self.catalogPath = catalogPath
        self.peering = peering
        self.nodes = nodes
        self.topology = topology ?? .complete(nodes.map(\.nodeID))
    }

    /// Writes the mesh. Refuses a directory that exists and is not empty (never overwrites keys or data).
    public func write() throws -> Mesh {
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: directory), !existing.isEmpty {
            throw LedgerError(
                code: .invalidArgument,
                message: "\(directory) exists and is not empty; choose a new directory (a mesh's keys are never "
                    + "overwritten)"
            )
        }
        // The catalog is read and checked before anything is written: a wrong path must not leave a half-written
        // mesh that the next attempt then refuses as "not empty".
        guard let catalog = FileManager.default.contents(atPath: catalogPath) else {
            throw LedgerError(
                code: .io,
                message: "\(catalogPath): cannot read the catalog (run from the repository root, or pass --catalog)"
            )
        }
        _ = try CatalogBook.load(path: catalogPath)
        for sub in ["keys", "nodes", "clients", "data"] {
            try Self.makeDirectory("\(directory)/\(sub)")
        }
        var members: [RosterMember] = []
        var nodeKeys: [String: NodeKeys] = [:]
        for district in nodes {
            let keys = NodeKeys.generate(name: district.nodeID)
            try keys.write(to: "\(directory)/keys")
            nodeKeys[district.nodeID] = keys
            members.append(keys.rosterMember(side: district.side, role: .peer, displayName: district.displayName))
        }
        for district in nodes {
            for (role, prefix, label) in [(Role.staff, "staff", "ledger desk"), (.auditor, "auditor", "auditor")] {
                let id = "\(prefix).\(district.short)"
                let keys = NodeKeys.generate(name: id)
                try keys.write(to: "\(directory)/keys")
                members.append(
                    keys.rosterMember(
                        side: district.side,
                        role: role,
                        displayName: "\(district.displayName) \(label)",
                        homeNode: district.nodeID
                    )
                )
            }
        }
        let roster = Roster(version: "mesh-\(Int(Date().timeIntervalSince1970))", members: members)
        let rosterPath = "\(directory)/roster.json"
        try Self.writeFile(rosterPath, JSONWriter.write(try ProtoJSON.json(roster)) + "\n")
        let rosterBook = try RosterBook.load(path: rosterPath)
        try Self.writeFile("\(directory)/catalog.json", String(decoding: catalog, as: UTF8.self))
        _ = try CatalogBook.load(path: "\(directory)/catalog.json", roster: rosterBook)

        var mesh = Mesh(directory: directory, endpoints: [:], configs: [:], clients: [:])
        let ports = try FreePorts.take(nodes.count * 2)
        for (index, district) in nodes.enumerated() {
            mesh.endpoints[district.nodeID] = "tcp://127.0.0.1:\(ports[2 * index])"
            if peering { mesh.publishEndpoints[district.nodeID] = "tcp://127.0.0.1:\(ports[2 * index + 1])" }
        }
        for district in nodes {
            let endpoint = mesh.endpoints[district.nodeID]!
            let path = "\(directory)/nodes/\(district.nodeID).toml"
            try Self.writeFile(path, nodeConfig(district, mesh: mesh))
            mesh.configs[district.nodeID] = path
            for prefix in ["staff", "auditor"] {
                let member = "\(prefix).\(district.short)"
                let profile = "\(directory)/clients/\(member).toml"
                try Self.writeFile(
                    profile,
                    """
                    # Client profile of \(member): coop item --client \(profile)
                    member = "\(member)"
                    node = "\(district.nodeID)"
                    endpoint = "\(endpoint)"
                    server_curve_public_key = "\(Base64.encode(nodeKeys[district.nodeID]!.curvePublicKey))"
                    key_dir = "../keys"
                    insecure = false

                    """
                )
                mesh.clients[member] = profile
            }
        }
        return mesh
    }

    func nodeConfig(_ district: District, mesh: Mesh) -> String {
        let endpoint = mesh.endpoints[district.nodeID]!
        var peers = ""
        var publishLine = ""
        if let publish = mesh.publishEndpoints[district.nodeID] {
            publishLine = "publish = \"\(publish)\"\n"
            peers = """

                [sync]
                anti_entropy_ms = 2000
                pull_batch = 512

                """
            for other in topology.peers[district.nodeID] ?? [] {
                peers += """

                    [[peers]]
                    id = "\(other)"
                    endpoint = "\(mesh.endpoints[other]!)"
                    publish = "\(mesh.publishEndpoints[other]!)"

                    """
            }
        }
        return """
            # \(district.displayName): coop node run --config nodes/\(district.nodeID).toml
            # Paths are relative to this file.
            node_id = "\(district.nodeID)"
            listen = "\(endpoint)"
            data_dir = "../data/\(district.nodeID)"
            roster = "../roster.json"
            catalog = "../catalog.json"
            key_dir = "../keys"
            insecure = false
            \(publishLine)
            [log]
            level = "info"
            format = "text"

            [durability]
            fsync = true
            checkpoint_idle_ms = 1000

            [limits]
            max_calls = 1024
            max_calls_per_client = 64
            max_message_bytes = 4194304
            drain_timeout_ms = 10000

            """ + peers
    }

    static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw LedgerError(code: .io, message: "\(path): cannot create the directory: \(error.localizedDescription)")
        }
    }

    static func writeFile(_ path: String, _ text: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw LedgerError(code: .io, message: "\(path): cannot write the file")
        }
    }
}
