import CoopDevTools
import CoopLedger
import CoopNode
import CoopTestKit
import Foundation
import Testing

@Suite("Node configuration (TOML)")
struct NodeConfigTests {
    static let valid = """
        node_id = "cd-wuhou"
        listen = "tcp://127.0.0.1:40101"
        data_dir = "data/cd-wuhou"
        roster = "roster.json"
        catalog = "/etc/coop/catalog.json"
        key_dir = "keys"

        [log]
        level = "debug"
        format = "json"

        [durability]
        fsync = false
        checkpoint_idle_ms = 250

        [limits]
        max_calls = 10
        max_calls_per_client = 2
        max_message_bytes = 65536
        drain_timeout_ms = 500
        """

    @Test("a complete file: every key read, relative paths resolved against the file's directory")
    func completeFile() throws {
        let config = try NodeConfig.parse(Self.valid, path: "/srv/coop/node.toml")
        #expect(config.nodeID == "cd-wuhou")
        #expect(config.listen == "tcp://127.0.0.1:40101")
        #expect(config.dataDirectory == "/srv/coop/data/cd-wuhou")
        #expect(config.rosterPath == "/srv/coop/roster.json")
        #expect(config.catalogPath == "/etc/coop/catalog.json")
        #expect(config.keyDirectory == "/srv/coop/keys")
        #expect(config.logLevel == "debug" && config.logFormat == "json")
        #expect(config.fsync == false && config.checkpointIdleMs == 250)
        #expect(config.maxCalls == 10 && config.maxCallsPerClient == 2 && config.maxMessageBytes == 65536)
        #expect(config.drainTimeoutMs == 500)
    }

    /// `text` with `line` replaced, and the message the error must contain.
    static let broken: [(replace: String, with: String, expect: String)] = [
        ("max_calls = 10", "max_calls = -1", "node.toml:17: limits.max_calls is -1; expected 1…1000000"),
        ("max_calls = 10", "max_calls = \"ten\"", "node.toml:17: limits.max_calls must be a whole number"),
        ("fsync = false", "fsnyc = false", "node.toml:13: durability.fsnyc is not a known setting of [durability]"),
        ("listen = \"tcp://127.0.0.1:40101\"\n", "", "node.toml: listen is missing"),
        ("level = \"debug\"", "level = \"loud\"", "node.toml:9: log.level is \"loud\"; expected one of"),
        ("format = \"json\"", "format = \"xml\"", "node.toml:10: log.format is \"xml\"; expected text or json"),
        ("listen = \"tcp://127.0.0.1:40101\"", "listen = \"http://x\"", "node.toml:2: listen is \"http://x\""),
        ("node_id = \"cd-wuhou\"", "node_id = \"\"", "node.toml:1: node_id is empty"),
        ("fsync = false", "fsync = 1", "node.toml:13: durability.fsync must be true or false"),
        ("[log]", "log = 3", "node.toml:8: log must be a table"),
        ("node_id = \"cd-wuhou\"", "node_id = \"cd-wuhou", "node.toml:1:"),
        ("key_dir = \"keys\"", "key_dir = \"keys\"\nkeydir = \"x\"", "node.toml:7: keydir is not a known setting"),
    ]

    @Test("each broken file names the file, the line and the key", arguments: Self.broken.indices)
    func brokenFile(_ index: Int) {
        let (old, new, expected) = Self.broken[index]
        let text = Self.valid.replacingOccurrences(of: old, with: new)
        #expect(text != Self.valid)
        do {
            _ = try NodeConfig.parse(text, path: "node.toml")
            Issue.record("accepted: \(new)")
        } catch {
            #expect(error.code == .config)
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test("a missing file is an I/O error naming it")
    func missing() {
        #expect(throws: NodeError.self) { try NodeConfig.load(path: "/nonexistent/coop/node.toml") }
        do {
            _ = try NodeConfig.load(path: "/nonexistent/coop/node.toml")
        } catch {
            #expect(error.code == .io)
            #expect(error.message.contains("/nonexistent/coop/node.toml"))
        }
    }
}

@Suite("coop dev mesh")
struct MeshWriterTests {
    @Test("a catalog that cannot be read writes nothing, so that a corrected second attempt succeeds")
    func missingCatalogWritesNothing() throws {
        let directory = try TemporaryDirectory("coop-mesh")
        let mesh = directory.file("mesh")
        #expect(throws: LedgerError.self) {
            _ = try MeshWriter(directory: mesh, catalogPath: directory.file("no-such-catalog.json")).write()
        }
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: mesh)) ?? []).isEmpty)
        let written = try MeshWriter(directory: mesh, catalogPath: Fixtures.catalogPath).write()
        #expect(written.configs.count == 3)
        #expect(written.clients.count == 6)
    }

    @Test("the mesh's ports are distinct and below the kernel's ephemeral range, which port 0 binds draw from")
    func portsBelowTheEphemeralRange() throws {
        let directory = try TemporaryDirectory("coop-mesh")
        let written = try MeshWriter(directory: directory.file("mesh"), catalogPath: Fixtures.catalogPath).write()
        let ports = written.endpoints.values.compactMap { $0.split(separator: ":").last.flatMap { UInt16($0) } }
        #expect(ports.count == 3 && Set(ports).count == 3, "\(written.endpoints)")
        let range = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
        let low = try #require(range.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) })
        if low > 12_000 {
            #expect(ports.allSatisfy { $0 >= 10_000 && Int($0) < low }, "\(ports) against \(range)")
        }
    }
}
