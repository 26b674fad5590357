import ArgumentParser
import CoopNode
import CoopWeb
import Logging
import ServiceLifecycle

/// `coop node …`: run a district's node.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a district's node (the peer daemon), or show how a running one stands.",
        subcommands: [NodeRun.self, NodeStatusCommand.self]
    )
}

struct NodeRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Serve the ledger in the foreground until SIGTERM or SIGINT.",
        discussion: """
            Reads the TOML configuration (see docs/OPERATIONS.md; `coop dev mesh` writes examples), opens the log, \
            and serves coop.v1.Ledger, Health and Reflection over CurveZMQ, admitting only roster keys. Prints one \
            line on standard output when ready ("coop node ID ready: serving ENDPOINT …"); logs go to standard \
            error. SIGTERM or SIGINT drains: no new calls, writes in flight finish and are answered, streams end, \
            the log is synced, a checkpoint written, and the node exits 0.
            Exit codes: 0 stopped cleanly; 1 the configuration or keys are invalid; 2 a file cannot be read or the \
            log cannot be opened; 75 another process holds the data directory; 64 the command line is wrong.
            """
    )

    @Option(name: .long, help: "The node's TOML configuration file.")
    var config: String

    @Flag(name: .long, help: "Plain text instead of CurveZMQ: no authentication (local experiments only; logged).")
    var insecure = false

    @Option(name: .long, help: "Override the configuration's log level (trace … critical).")
    var logLevel: String?

    @Option(name: .long, help: "Override the configuration's log format: text or json.")
    var logFormat: String?

    func validate() throws {
        try ArgumentCheck.notEmpty(config, "--config")
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical")
        }
        if let logFormat, NodeLogHandler.Format(rawValue: logFormat) == nil {
            throw ValidationError("--log-format must be text or json")
        }
    }

    func run() async throws {
        var settings: NodeConfig
        do {
            settings = try NodeConfig.load(path: config)
        } catch {
            throw Self.exit(error)
        }
        if insecure { settings.insecure = true }
        let level = Logger.Level(rawValue: logLevel ?? settings.logLevel) ?? .info
        let format = NodeLogHandler.Format(rawValue: logFormat ?? settings.logFormat) ?? .text
        LoggingSystem.bootstrap { label in NodeLogHandler(label: label, level: level, format: format) }
        let logger = Logger(label: "coop.node")
        // The HTTP listener (wall chart, metrics, health probes) only when [http] is configured.
        let web = settings.http.map { WebServer(settings: $0, logger: Logger(label: "coop.web")) }
        let node = LedgerNode(
            config: settings,
            logger: logger,
            metrics: web?.nodeMetrics,
            companions: web.map { [$0] } ?? []
        ) { ready in
            CLIOutput.out(ready.line)
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(
                        service: node,
                        successTerminationBehavior: .gracefullyShutdownGroup,
                        failureTerminationBehavior: .gracefullyShutdownGroup
                    )
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            throw Self.exit(error)
        }
    }

    /// The exit for an error that stopped the node, after printing it.
    static func exit(_ error: any Error) -> ExitCode {
        guard let nodeError = error as? NodeError else { return CLIOutput.fail(error) }
        CLIOutput.err("error: \(nodeError.message)")
        switch nodeError.code {
        case .config, .keys: return ExitCode(1)
        case .dataDirectoryHeld: return ExitCode(75)
        default: return ExitCode(2)
        }
    }
}
