import Foundation
import TOMLKit

extension NodeConfig {
    /// Reads and checks the configuration at `path`. Throws a ``NodeError`` (`.config`) naming the file, the line
    /// and the key for a syntax error, a missing or unknown key, or a value of the wrong type or out of range;
    /// `.io` when the file cannot be read.
    public static func load(path: String) throws(NodeError) -> NodeConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NodeError(code: .io, message: "\(path): cannot read the configuration file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw NodeError(code: .config, message: "\(path): the configuration is not UTF-8 text")
        }
        return try parse(text, path: path)
    }

    /// Parses configuration `text` read from `path` (relative paths in it are resolved against `path`'s directory).
    public static func parse(_ text: String, path: String) throws(NodeError) -> NodeConfig {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw NodeError(
                code: .config,
                message: "\(path):\(error.source.begin.line):\(error.source.begin.column): \(error.description)"
            )
        } catch {
            throw NodeError(code: .config, message: "\(path): not valid TOML: \(error)")
        }
        var reader = TOMLReader(table: table, text: text, path: path, section: nil)
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ p: String) -> String {
            ((p.hasPrefix("/") || base.isEmpty ? p : base + "/" + p) as NSString).standardizingPath
        }

        var config = NodeConfig(
            nodeID: try reader.string("node_id"),
            listen: try reader.string("listen"),
            dataDirectory: resolve(try reader.string("data_dir")),
            rosterPath: resolve(try reader.string("roster")),
            catalogPath: resolve(try reader.string("catalog")),
            keyDirectory: resolve(try reader.string("key_dir"))
        )
        config.path = path
        config.insecure = try reader.bool("insecure") ?? false
        guard config.listen.hasPrefix("tcp://") || config.listen.hasPrefix("ipc://") else {
            throw reader.problem("listen", "is \"\(config.listen)\"; expected tcp://HOST:PORT or ipc://PATH")
        }
        if var log = try reader.section("log") {
            config.logLevel = try log.string("level", default: "info")
            guard logLevels.contains(config.logLevel) else {
                throw log.problem(
                    "level",
                    "is \"\(config.logLevel)\"; expected one of \(logLevels.joined(separator: ", "))"
                )
            }
            config.logFormat = try log.string("format", default: "text")
            guard ["text", "json"].contains(config.logFormat) else {
                throw log.problem("format", "is \"\(config.logFormat)\"; expected text or json")
            }
            try log.finish()
        }
        if var durability = try reader.section("durability") {
            config.fsync = try durability.bool("fsync") ?? true
            config.checkpointIdleMs = try durability.int("checkpoint_idle_ms", in: 10...3_600_000) ?? 1000
            try durability.finish()
        }
        if var limits = try reader.section("limits") {
            config.maxCalls = try limits.int("max_calls", in: 1...1_000_000) ?? config.maxCalls
            config.maxCallsPerClient = try limits.int("max_calls_per_client", in: 1...1_000_000) ?? 64
            config.maxMessageBytes = try limits.int("max_message_bytes", in: 1024...(256 << 20)) ?? (4 << 20)
            config.drainTimeoutMs = try limits.int("drain_timeout_ms", in: 0...3_600_000) ?? 10_000
            try limits.finish()
        }
        config.publish = try reader.optionalString("publish")
        if let publish = config.publish, !(publish.hasPrefix("tcp://") || publish.hasPrefix("ipc://")) {
            throw reader.problem("publish", "is \"\(publish)\"; expected tcp://HOST:PORT or ipc://PATH")
        }
        if var sync = try reader.section("sync") {
            config.antiEntropyMs = try sync.int("anti_entropy_ms", in: 50...3_600_000) ?? config.antiEntropyMs
            config.pullBatch = try sync.int("pull_batch", in: 1...100_000) ?? config.pullBatch
            try sync.finish()
        }
        if var http = try reader.section("http") {
            let listen = try http.string("listen", default: "127.0.0.1:0")
            guard let (host, port) = HTTP.address(listen) else {
                throw http.problem("listen", "is \"\(listen)\"; expected HOST:PORT, e.g. 127.0.0.1:8080")
            }
            config.http = HTTP(
                host: host,
                port: port,
                staleDays: try http.int("stale_days", in: 1...3650) ?? 14,
                metrics: try http.bool("metrics") ?? true,
                keepaliveSeconds: try http.int("keepalive_s", in: 1...3600) ?? 15
            )
            try http.finish()
        }
        config.peers = try reader.peers(nodeID: config.nodeID)
        try reader.finish()
        return config
    }
}

extension TOMLReader {
    /// The `[[peers]]` array of tables: each with `id`, `endpoint` and optionally `publish`.
    mutating func peers(nodeID: String) throws(NodeError) -> [NodeConfig.Peer] {
        seen.insert("peers")
        guard let value = table["peers"] else { return [] }
        guard let array = value.array else {
            throw problem("peers", "must be an array of tables ([[peers]] with id, endpoint, publish)")
        }
        var peers: [NodeConfig.Peer] = []
        for (index, element) in array.enumerated() {
            guard let table = element.table else {
                throw problem("peers", "entry \(index + 1) must be a table ([[peers]])")
            }
            var peer = TOMLReader(table: table, text: text, path: path, section: "peers")
            let id = try peer.string("id")
            let endpoint = try peer.string("endpoint")
            let publish = try peer.optionalString("publish")
            for (key, value) in [("endpoint", endpoint), ("publish", publish ?? "tcp://")] {
                guard value.hasPrefix("tcp://") || value.hasPrefix("ipc://") else {
                    throw peer.problem(key, "of peer \(id) is \"\(value)\"; expected tcp://HOST:PORT or ipc://PATH")
                }
            }
            guard id != nodeID else { throw peer.problem("id", "is this node's own id (\(nodeID)); list other nodes") }
            guard !peers.contains(where: { $0.id == id }) else { throw peer.problem("id", "\(id) is listed twice") }
            try peer.finish()
            peers.append(NodeConfig.Peer(id: id, endpoint: endpoint, publish: publish))
        }
        return peers
    }
}

/// Reads one TOML table, remembering which keys were read so that an unknown (misspelt) key is an error, and
/// naming the file, line and key in every error.
struct TOMLReader {
    let table: TOMLTable
    let text: String
    let path: String
    let section: String?
    var seen: Set<String> = []

    init(table: TOMLTable, text: String, path: String, section: String?) {
        self.table = table
        self.text = text
        self.path = path
        self.section = section
    }

    func name(_ key: String) -> String { section.map { "\($0).\(key)" } ?? key }

    /// An error about `key`, with the line it is on when it can be found.
    func problem(_ key: String, _ what: String) -> NodeError {
        let line = Self.line(of: key, in: text, section: section).map { ":\($0)" } ?? ""
        return NodeError(code: .config, message: "\(path)\(line): \(name(key)) \(what)")
    }

    mutating func string(_ key: String) throws(NodeError) -> String {
        guard let value = try optionalString(key) else {
            throw NodeError(code: .config, message: "\(path): \(name(key)) is missing (a string)")
        }
        return value
    }

    mutating func string(_ key: String, default value: String) throws(NodeError) -> String {
        try optionalString(key) ?? value
    }

    mutating func optionalString(_ key: String) throws(NodeError) -> String? {
        seen.insert(key)
        guard let value = table[key] else { return nil }
        guard let string = value.string else { throw problem(key, "must be a string (in quotes)") }
        guard !string.isEmpty else { throw problem(key, "is empty") }
        return string
    }

    mutating func bool(_ key: String) throws(NodeError) -> Bool? {
        seen.insert(key)
        guard let value = table[key] else { return nil }
        guard let bool = value.bool else { throw problem(key, "must be true or false") }
        return bool
    }

    mutating func int(_ key: String, in range: ClosedRange<Int>) throws(NodeError) -> Int? {
        seen.insert(key)
        guard let value = table[key] else { return nil }
        guard let int = value.int else { throw problem(key, "must be a whole number") }
        guard range.contains(int) else {
            throw problem(key, "is \(int); expected \(range.lowerBound)…\(range.upperBound)")
        }
        return int
    }

    mutating func section(_ key: String) throws(NodeError) -> TOMLReader? {
        seen.insert(key)
        guard let value = table[key] else { return nil }
        guard let table = value.table else { throw problem(key, "must be a table ([\(key)])") }
        return TOMLReader(table: table, text: text, path: path, section: key)
    }

    /// Throws for a key that was never read: a misspelling that would otherwise be ignored.
    func finish() throws(NodeError) {
        for key in table.keys.sorted() where !seen.contains(key) {
            throw problem(key, "is not a known setting" + (section == nil ? "" : " of [\(section!)]"))
        }
    }

    /// The 1-based line where `key` is set in `section` (or the top level), found by reading the text.
    static func line(of key: String, in text: String, section: String?) -> Int? {
        var current: String?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") {
                current = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
                continue
            }
            guard current == section else { continue }
            if line.hasPrefix(key + " ") || line.hasPrefix(key + "=") || line.hasPrefix("\"\(key)\"") {
                return index + 1
            }
        }
        if let section {
            for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where raw.trimmingCharacters(in: .whitespaces) == "[\(section)]" {
                return index + 1
            }
        }
        return nil
    }
}
