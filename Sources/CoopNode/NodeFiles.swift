import CoopLedger
import CoopLog
import CoopSegments
import Foundation
import Logging

/// What a node reads before it serves: roster, catalog, its keys, its log. Each failure is a ``NodeError`` naming
/// the file and the configuration key that points to it.
struct NodeFiles {
    let roster: RosterBook
    let catalog: CatalogBook
    let keys: NodeKeys
    let store: LogStore

    /// The file in the data directory that names the process holding it.
    static let pidFile = "node.pid"

    static func open(
        _ config: NodeConfig,
        logger: Logger,
        onCommit: SegmentedLog.CommitObserver? = nil
    ) throws(NodeError) -> NodeFiles {
        let roster: RosterBook
        let catalog: CatalogBook
        do {
            roster = try RosterBook.load(path: config.rosterPath)
        } catch {
            throw NodeError(code: .io, message: "roster (\(config.path)): \(error)", cause: error)
        }
        do {
            catalog = try CatalogBook.load(path: config.catalogPath, roster: roster)
        } catch {
            throw NodeError(code: .io, message: "catalog (\(config.path)): \(error)", cause: error)
        }
        guard let member = roster.member(config.nodeID) else {
            throw NodeError(
                code: .config,
                message: "\(config.path): node_id \(config.nodeID) is not in the roster \(config.rosterPath)"
            )
        }
        guard member.role == .peer else {
            throw NodeError(
                code: .config,
                message: "\(config.path): node_id \(config.nodeID) is a \(member.role.protoValueName) in the roster, "
                    + "not a ROLE_PEER node"
            )
        }
        let keys: NodeKeys
        do {
            keys = try NodeKeys.read(name: config.nodeID, from: config.keyDirectory)
        } catch {
            throw NodeError(code: .keys, message: "key_dir (\(config.path)): \(error)", cause: error)
        }
        if keys.curvePublicKey != member.curvePublicKey || keys.signingPublicKey != member.signingPublicKey {
            throw NodeError(
                code: .keys,
                message: "the keys in \(config.keyDirectory) are not those the roster lists for \(config.nodeID) "
                    + "(a roster from another mesh, or keys regenerated without updating the roster)"
            )
        }
        var options = LogStore.Options()
        options.durability = config.fsync ? .durable : .unsafeNoSync
        options.onCommit = onCommit
        let store: LogStore
        do {
            try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
            store = try LogStore.open(
                directory: config.dataDirectory,
                roster: roster,
                catalog: catalog,
                identity: keys,
                options: options
            )
        } catch let error as LogError where error.code == .locked {
            let holder =
                (try? String(contentsOfFile: "\(config.dataDirectory)/\(pidFile)", encoding: .utf8))
                .map { " by process \($0.trimmingCharacters(in: .whitespacesAndNewlines))" } ?? ""
            throw NodeError(
                code: .dataDirectoryHeld,
                message: "the data directory \(config.dataDirectory) is held\(holder): is another node running on it? "
                    + "Stop it first (\(error.message))",
                cause: error
            )
        } catch {
            throw NodeError(code: .io, message: "data_dir \(config.dataDirectory): \(error)", cause: error)
        }
        try? "\(getpid())\n".write(toFile: "\(config.dataDirectory)/\(pidFile)", atomically: true, encoding: .utf8)
        let report = store.openReport
        logger.info(
            "log opened",
            metadata: [
                "records": .stringConvertible(store.recordCount),
                "checkpoint": .stringConvertible(report.checkpointUsed),
                "replayed": .stringConvertible(report.replayedRecords),
            ]
        )
        if let note = report.note { logger.warning("\(note)") }
        return NodeFiles(roster: roster, catalog: catalog, keys: keys, store: store)
    }
}
