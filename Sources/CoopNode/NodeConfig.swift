/// A node's configuration: who it is, where its data and keys are, where it listens, how durable its writes are and
/// what limits it enforces. Read from a TOML file (``load(path:)``); paths in the file are relative to the file.
/// A plain value; thread-safe.
///
/// ```toml
/// node_id = "cd-wuhou"
/// listen = "tcp://127.0.0.1:40101"
/// data_dir = "data/cd-wuhou"
/// roster = "roster.json"
/// catalog = "catalog.json"
/// key_dir = "keys"            # <node_id>.signing.key and <node_id>.curve.key
///
/// [log]
/// level = "info"              # trace, debug, info, notice, warning, error, critical
/// format = "text"             # or "json"
///
/// [durability]
/// fsync = true                # false: acknowledged writes may be lost on power loss (tests only)
/// checkpoint_idle_ms = 1000   # write a checkpoint after this long without writes
///
/// publish = "tcp://127.0.0.1:40102"   # optional: PUB socket for head notices to peers
///
/// [sync]
/// anti_entropy_ms = 2000      # exchange hellos with every peer this often, then pull what is missing
/// pull_batch = 512            # entries verified and stored per batch while pulling
///
/// [[peers]]                   # one per peer node
/// id = "cq-shapingba"
/// endpoint = "tcp://127.0.0.1:40201"
/// publish = "tcp://127.0.0.1:40202"   # optional: its head notices
///
/// [http]                      # optional; without it no HTTP listener is started
/// listen = "127.0.0.1:8080"   # the wall chart page, live updates, /metrics, /healthz, /readyz (port 0: any)
/// stale_days = 14             # items not updated for this many days are flagged for supervision
/// metrics = true              # false: no /metrics, and the node records no metrics
///
/// [limits]
/// max_calls = 1024
/// max_calls_per_client = 64
/// max_message_bytes = 4194304
/// drain_timeout_ms = 10000
/// ```
public struct NodeConfig: Sendable, Hashable {
    /// The file it was read from ("" when built in code).
    public var path: String = ""
    /// The node's roster id (a PEER).
    public var nodeID: String
    /// The ROUTER endpoint staff, auditors and peers connect to, `tcp://127.0.0.1:40101`.
    public var listen: String
    public var dataDirectory: String
    public var rosterPath: String
    public var catalogPath: String
    /// Directory holding `<node_id>.signing.key` and `<node_id>.curve.key`.
    public var keyDirectory: String
    /// Plain text instead of CurveZMQ (local experiments only; the node logs a warning). The `--insecure` flag of
    /// `coop node run` sets it too.
    public var insecure = false
    public var logLevel = "info"
    /// `text` or `json`.
    public var logFormat = "text"
    /// Whether acknowledged writes are fsynced first.
    public var fsync = true
    /// A checkpoint is written once the log has been idle this long after a write.
    public var checkpointIdleMs = 1000
    public var maxCalls = 1024
    public var maxCallsPerClient = 64
    public var maxMessageBytes = 4 << 20
    /// How long SIGTERM lets calls in flight run before it cancels them.
    public var drainTimeoutMs = 10_000

    /// A peer node this node reconciles with.
    public struct Peer: Sendable, Hashable {
        /// Its roster id (a PEER).
        public var id: String
        /// Its listen endpoint.
        public var endpoint: String
        /// Its PUB endpoint for head notices, if it publishes.
        public var publish: String?

        public init(id: String, endpoint: String, publish: String? = nil) {
            self.id = id
            self.endpoint = endpoint
            self.publish = publish
        }
    }

    /// The PUB endpoint on which this node announces each new entry (`HeadNotice`), if any.
    public var publish: String?
    /// The peers it reconciles with.
    public var peers: [Peer] = []
    /// The HTTP listener (wall chart, metrics, health probes); `nil` (the default): none.
    public var http: HTTP?

    /// Where and how the node's optional HTTP listener serves.
    public struct HTTP: Sendable, Hashable {
        /// Host to bind, `127.0.0.1` (loopback) unless configured otherwise.
        public var host: String
        /// Port to bind; 0 lets the system choose (the readiness line names the port bound).
        public var port: Int
        /// Items without an update for this many days are flagged as stale.
        public var staleDays: Int
        /// Whether `/metrics` is served and the node records metrics.
        public var metrics: Bool
        /// An open live-update stream (`/events`) that has had nothing to say for this many seconds gets a comment
        /// line, so that proxies and load balancers do not close it as idle and the browser notices a dead node.
        public var keepaliveSeconds: Int

        public init(
            host: String = "127.0.0.1",
            port: Int = 0,
            staleDays: Int = 14,
            metrics: Bool = true,
            keepaliveSeconds: Int = 15
        ) {
            self.host = host
            self.port = port
            self.staleDays = staleDays
            self.metrics = metrics
            self.keepaliveSeconds = keepaliveSeconds
        }

        /// Parses `HOST:PORT` (`[::1]:8080` for IPv6); `nil` when malformed.
        public static func address(_ text: String) -> (host: String, port: Int)? {
            let host: Substring
            let port: Substring
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                    return nil
                }
                host = text[text.index(after: text.startIndex)..<close]
                port = text[text.index(close, offsetBy: 2)...]
            } else {
                guard let colon = text.lastIndex(of: ":") else { return nil }
                host = text[..<colon]
                port = text[text.index(after: colon)...]
            }
            guard !host.isEmpty, !host.contains(" "), let number = Int(port), (0...65535).contains(number) else {
                return nil
            }
            return (String(host), number)
        }
    }

    /// How often an idle peer link exchanges hellos (then pulls what is missing).
    public var antiEntropyMs = 2000
    /// Entries verified and stored per batch while pulling.
    public var pullBatch = 512

    public init(
        nodeID: String,
        listen: String,
        dataDirectory: String,
        rosterPath: String,
        catalogPath: String,
        keyDirectory: String
    ) {
        self.nodeID = nodeID
        self.listen = listen
        self.dataDirectory = dataDirectory
        self.rosterPath = rosterPath
        self.catalogPath = catalogPath
        self.keyDirectory = keyDirectory
    }

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
}
