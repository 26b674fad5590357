import ArgumentParser
import CoopDevTools
import CoopLedger
import CoopLog
import CoopWire

/// `coop dev …`: tools for development, benchmarks and training.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Development tools: generate data for benchmarks, docs and auditor training.",
        subcommands: [GenerateLog.self, DevMesh.self]
    )
}

struct GenerateLog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-log",
        abstract: "Write a valid data directory (log, catalog, roster) with N entries from the example nodes.",
        discussion: """
            The example nodes (keys from --keys) update the items they take part in through the life cycle, see \
            each other's entries late (so concurrent updates occur), comment, and sign off joint completions. \
            Deterministic for a --seed. `coop audit …` accepts DIR as it is.
            """
    )

    @Argument(help: "The directory to create (must not hold a log yet).")
    var directory: String

    /// The most entries --entries takes: a bound, so that a typo (or Int.max) cannot start a run that goes on for
    /// days and fills the disk. Far above what benchmarks and the demo use (1,000,000 and 20,000).
    static let maxEntries = 100_000_000

    @Option(name: .long, parsing: .unconditional, help: "Number of entries (0 to 100,000,000).")
    var entries: Int = 1000

    @Option(name: .long, parsing: .unconditional, help: "Random seed.")
    var seed: UInt64 = 1

    @OptionGroup var files: ReferenceOptions

    @Option(name: .long, help: "Directory with the nodes' private keys.")
    var keys: String = "deploy/demo/keys"

    func validate() throws {
        guard (0...Self.maxEntries).contains(entries) else {
            throw ValidationError("--entries must be 0 to \(Self.maxEntries), not \(entries)")
        }
        try ArgumentCheck.notEmpty(directory, "<directory>")
        try ArgumentCheck.notEmpty(keys, "--keys")
    }

    func run() async throws {
        do {
            let roster = try RosterBook.load(path: files.roster ?? "deploy/roster.json")
            let catalog = try CatalogBook.load(path: files.catalog, roster: roster)
            let nodeKeys = try roster.peers.map { try NodeKeys.read(name: $0.id, from: keys) }
            let bar = ProgressBar(label: "generating")
            try await DemoLogGenerator(catalog: catalog, roster: roster, keys: nodeKeys, seed: seed)
                .generate(into: directory, entries: entries) { bar.update(UInt64($0), of: UInt64(entries)) }
            bar.finish()
            CLIOutput.out("wrote \(entries) entries to \(directory)/log (with catalog.json and roster.json)")
        } catch {
            throw CLIOutput.fail(error)
        }
    }
}

struct DevMesh: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh",
        abstract: "Write a local three-district mesh: keys, roster, catalog, node configs and client profiles.",
        discussion: """
            Nodes cq-shapingba, cd-wuhou and cd-qingbaijiang on free loopback ports, each listing the other two \
            as peers to reconcile with (unless --standalone), with one staff and one \
            auditor client per node (staff.wuhou, auditor.wuhou, …). Start a node with \
            `coop node run --config DIR/nodes/cd-wuhou.toml`; talk to it with \
            `coop item list --mesh DIR --as staff.wuhou`.
            """
    )

    @Argument(help: "The directory to create (must not exist or be empty).")
    var directory: String

    @Option(name: .long, help: "The catalog to copy into the mesh.")
    var catalog: String = "deploy/catalog.json"

    @Flag(
        name: .long,
        help: "No peers: each node stands alone (and may write before any peer has answered)."
    )
    var standalone = false

    func validate() throws {
        try ArgumentCheck.notEmpty(directory, "<directory>")
        try ArgumentCheck.notEmpty(catalog, "--catalog")
    }

    func run() async throws {
        do {
            let mesh = try MeshWriter(directory: directory, catalogPath: catalog, peering: !standalone).write()
            for district in MeshWriter.districts {
                let publish = mesh.publishEndpoints[district.nodeID].map { "  notices \($0)" } ?? ""
                CLIOutput.out(
                    "\(district.nodeID)  \(mesh.endpoints[district.nodeID] ?? "-")  \(mesh.configs[district.nodeID] ?? "-")"
                        + publish
                )
            }
            CLIOutput.out(
                "clients: " + mesh.clients.keys.sorted().joined(separator: ", ") + " (profiles in \(directory)/clients)"
            )
        } catch {
            throw CLIOutput.fail(error)
        }
    }
}
