import CoopLedger
public import CoopLog
import CoopRPC
import CoopSegments
import CoopServices
import CoopSync
import CoopWire
import CoopZMQ
import Foundation
public import Logging
public import ServiceLifecycle

/// A district's node: opens its log, serves the ledger, health and reflection services on one ROUTER endpoint over
/// CurveZMQ (only roster keys admitted), writes a checkpoint whenever the log goes idle, and drains on graceful
/// shutdown (SIGTERM/SIGINT through a `ServiceGroup`): it stops taking calls, lets the writes in flight become
/// durable and be answered, ends streams, syncs the log, writes a checkpoint, closes its sockets and returns.
///
/// **Threading.** `Sendable`; ``run()`` is called once. The sockets live on the node's ``ZMQReactor`` thread; the
/// store and the services are thread-safe.
public final class LedgerNode: Service, Sendable {
    public let config: NodeConfig
    let logger: Logger
    /// Called once the node serves, with the endpoint bound (the readiness line is printed by the caller).
    let onReady: @Sendable (Readiness) -> Void
    /// What the node records of its work (calls, appends); `nil`: nothing.
    let metrics: NodeMetrics?
    /// What runs beside the node while it serves (its HTTP listener).
    let companions: [any NodeCompanion]
    /// Whose turn it is to replay the whole log for an item's history (``ReplayGate``).
    let replayGate: ReplayGate

    /// What the node reports when it is ready.
    public struct Readiness: Sendable {
        public var nodeID: String
        public var endpoint: String
        public var secure: Bool
        public var records: UInt64
        public var openSeconds: Double
        public var openReport: OpenReport
        /// The PUB endpoint bound for head notices, if any.
        public var publish: String? = nil
        /// Peers configured.
        public var peers: [String] = []
        /// What the companions serve (the HTTP listener's `http://HOST:PORT`), in order.
        public var companions: [String] = []

        /// The line printed on standard output when the node serves; scripts wait for it.
        public var line: String {
            "coop node \(nodeID) ready: serving \(endpoint) (\(secure ? "CurveZMQ" : "PLAIN TEXT, --insecure")); "
                + "log \(records) records, opened in \(String(format: "%.2f", openSeconds)) s"
                + (openReport.checkpointUsed ? " from a checkpoint" : "")
                + (peers.isEmpty ? "" : "; peers \(peers.joined(separator: ", "))")
                + (publish.map { "; notices on \($0)" } ?? "")
                + companions.map { "; web \($0)" }.joined()
        }
    }

    /// A node for `config`. `metrics` records calls and appends; each of `companions` runs beside the node while it
    /// serves, and the node reports ready only once each has bound. `ItemHistory` replays (and the item pages of a
    /// companion, ``NodeParts/replayGate``) take turns at `replayGate` (the process's by default).
    public init(
        config: NodeConfig,
        logger: Logger,
        metrics: NodeMetrics? = nil,
        companions: [any NodeCompanion] = [],
        replayGate: ReplayGate = .shared,
        onReady: @escaping @Sendable (Readiness) -> Void = { _ in }
    ) {
        self.config = config
        self.metrics = metrics
        self.companions = companions
        self.replayGate = replayGate
        var logger = logger
        logger[metadataKey: "node"] = .string(config.nodeID)
        self.logger = logger
        self.onReady = onReady
    }

    public func run() async throws {
        let started = ContinuousClock.now
        let opened = try NodeFiles.open(config, logger: logger, onCommit: metrics?.commitObserver)
        let store = opened.store
        let openSeconds = Self.seconds(ContinuousClock.now - started)
        let peerKeys: [String: [UInt8]]
        do {
            peerKeys = try Self.peerKeys(config, roster: opened.roster)
        } catch {
            try? await store.close()
            throw error
        }
        let context: ZMQContext
        let reactor: ZMQReactor
        do {
            context = try ZMQContext()
            reactor = try ZMQReactor(context: context, name: "node-\(config.nodeID)")
        } catch {
            try? await store.close()
            throw NodeError(code: .endpoint, message: "cannot start ZeroMQ: \(error)", cause: error)
        }
        let insecure = config.insecure
        if insecure {
            logger.warning("plain text: no CurveZMQ, no authentication; every caller is taken as this node's staff")
        } else {
            var admitted: [[UInt8]: String] = [:]
            for member in opened.roster.roster.members where member.curvePublicKey.count == 32 {
                admitted[member.curvePublicKey] = member.id
            }
            let logger = self.logger
            let zap = ZAPHandler(admitted: admitted) { key, address, reason in
                logger.warning(
                    "refused a CurveZMQ handshake",
                    metadata: ["key": .string(key), "peer": .string(address), "reason": .string(reason)]
                )
            }
            try await zap.install(on: reactor)
        }

        let feed = ChangeFeed()
        let health = HealthProvider(services: [LedgerService.name, SyncService.name])
        let evidenceHealth = EvidenceHealth(store: store, health: health)
        let access = NodeAccess(nodeID: config.nodeID, roster: opened.roster, insecure: insecure)
        var settings = PeerSession.Settings()
        settings.antiEntropyMs = UInt64(config.antiEntropyMs)
        let hub = SyncHub(
            store: store,
            nodeID: config.nodeID,
            peers: config.peers,
            settings: settings,
            feed: feed,
            logger: logger,
            onEvidence: evidenceHealth.refresh
        )
        evidenceHealth.refresh()
        var ledger = LedgerProvider(store: store, access: access, feed: feed, sync: hub)
        ledger.metrics = metrics
        ledger.replayGate = replayGate
        let sync = SyncProvider(hub: hub, access: access, readBatch: config.pullBatch)
        var methods = ledger.rpcMethods.merging(health.rpcMethods) { a, _ in a }
        methods.merge(sync.rpcMethods) { a, _ in a }
        let reflection = ReflectionProvider(methods: Array(methods.keys) + ReflectionService.Method.all.map(\.fullName))
        methods.merge(reflection.rpcMethods) { a, _ in a }
        let server = RPCServer(
            reactor: reactor,
            endpoint: config.listen,
            methods: CallLog(logger: logger, metrics: metrics).wrap(methods),
            curve: insecure ? nil : RPCServerCurve(secretKey: opened.keys.curveSecretKey),
            limits: RPCCallTable.Limits(maxCalls: config.maxCalls, maxCallsPerPeer: config.maxCallsPerClient),
            maxMessageBytes: config.maxMessageBytes,
            drainTimeout: .milliseconds(config.drainTimeoutMs)
        )

        let outcome: Result<Void, any Error> = await withTaskGroup(of: Result<Void, any Error>.self) { group in
            group.addTask {
                do {
                    try await server.run()
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            let bound: String
            do {
                bound = try await server.boundEndpoint()
            } catch {
                group.cancelAll()
                await group.waitForAll()
                return .failure(
                    NodeError(
                        code: .endpoint,
                        message: "cannot listen on \(config.listen) (listen in \(config.path)): \(error)",
                        cause: error
                    )
                )
            }
            let bus = NoticeBus(reactor: reactor)
            let published: String?
            do {
                published = try await bus.start(
                    publish: config.publish,
                    peers: config.peers,
                    curve: insecure
                        ? nil
                        : NoticeBus.Curve(
                            publicKey: opened.keys.curvePublicKey,
                            secretKey: opened.keys.curveSecretKey,
                            peerKeys: peerKeys
                        ),
                    onNotice: { hub.notice($0) }
                )
            } catch {
                group.cancelAll()
                await group.waitForAll()
                return .failure(
                    NodeError(
                        code: .endpoint,
                        message: "cannot publish on \(config.publish ?? "-") (publish in \(config.path)): \(error)",
                        cause: error
                    )
                )
            }
            hub.setPublisher { bus.announce($0) }
            var clients: [RPCClient] = []
            for peer in config.peers {
                let client = RPCClient(
                    reactor: reactor,
                    endpoint: peer.endpoint,
                    curve: insecure
                        ? nil
                        : RPCClientCurve(
                            serverPublicKey: peerKeys[peer.id] ?? [],
                            publicKey: opened.keys.curvePublicKey,
                            secretKey: opened.keys.curveSecretKey
                        )
                )
                clients.append(client)
                let link = PeerLink(peer: peer, hub: hub, client: client, pullBatch: config.pullBatch)
                group.addTask {
                    do {
                        try await client.connect()
                    } catch {
                        self.logger.error("cannot connect to peer \(peer.id) at \(peer.endpoint): \(error)")
                        return .success(())
                    }
                    await link.run()
                    return .success(())
                }
            }
            group.addTask {
                await IdleCheckpointer(
                    store: store,
                    idle: .milliseconds(self.config.checkpointIdleMs),
                    logger: self.logger
                )
                .run()
                return .success(())
            }
            let parts = NodeParts(
                config: config,
                store: store,
                feed: feed,
                sync: hub,
                health: health,
                metrics: metrics,
                replayGate: replayGate
            )
            var served: [String] = []
            for companion in companions {
                let (bound, boundContinuation) = AsyncStream<String>.makeStream()
                group.addTask {
                    defer { boundContinuation.finish() }
                    do {
                        try await companion.run(parts) { boundContinuation.yield($0) }
                        return .success(())
                    } catch {
                        return .failure(error)
                    }
                }
                var iterator = bound.makeAsyncIterator()
                guard let address = await iterator.next() else {
                    // It stopped before it bound: its error is the node's.
                    health.shutDown()
                    feed.close()
                    group.cancelAll()
                    for client in clients { await client.close() }
                    var failure: (any Error)?
                    for await result in group {
                        if case .failure(let error) = result, !(error is CancellationError) {
                            failure = failure ?? error
                        }
                    }
                    // An address it cannot bind is an endpoint error, like the RPC listener's (exit 2).
                    return .failure(
                        failure.map { $0 as? NodeError ?? NodeError(code: .endpoint, message: "\($0)", cause: $0) }
                            ?? NodeError(code: .endpoint, message: "a companion of the node stopped before serving")
                    )
                }
                served.append(address)
            }
            onReady(
                Readiness(
                    nodeID: config.nodeID,
                    endpoint: bound,
                    secure: !insecure,
                    records: store.recordCount,
                    openSeconds: openSeconds,
                    openReport: store.openReport,
                    publish: published,
                    peers: config.peers.map(\.id),
                    companions: served
                )
            )
            logger.info(
                "serving",
                metadata: ["endpoint": .string(bound), "records": .stringConvertible(store.recordCount)]
            )
            // Until SIGTERM/SIGINT (or the task is cancelled).
            try? await gracefulShutdown()
            logger.info("draining: no new calls; writes in flight finish; streams end")
            health.shutDown()
            feed.close()
            group.cancelAll()
            for client in clients { await client.close() }
            var failure: (any Error)?
            for await result in group {
                if case .failure(let error) = result, !(error is CancellationError) { failure = failure ?? error }
            }
            return failure.map { .failure($0) } ?? .success(())
        }
        do {
            try await store.close()
            logger.info(
                "log synced and checkpoint written",
                metadata: ["records": .stringConvertible(store.recordCount)]
            )
        } catch {
            logger.error("closing the log failed", metadata: ["error": .string("\(error)")])
            await reactor.shutdown()
            throw NodeError(code: .io, message: "closing the log failed: \(error)", cause: error)
        }
        await reactor.shutdown()
        _ = context
        try outcome.get()
        logger.info("stopped")
    }

    /// Each configured peer's CurveZMQ public key from the roster; a peer that is not a roster PEER is a config
    /// error naming it.
    static func peerKeys(_ config: NodeConfig, roster: RosterBook) throws(NodeError) -> [String: [UInt8]] {
        var keys: [String: [UInt8]] = [:]
        for peer in config.peers {
            guard let member = roster.member(peer.id), member.role == .peer else {
                throw NodeError(
                    code: .config,
                    message: "\(config.path): [[peers]] id \"\(peer.id)\" is not a peer node in the roster "
                        + "(\(config.rosterPath))"
                )
            }
            keys[peer.id] = member.curvePublicKey
        }
        return keys
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
