import CoopDevTools
import CoopLedger
import CoopRPC
import CoopServices
import CoopWire
import CoopZMQ
import Foundation
import Synchronization

/// The demo's RPC clients of the mesh's nodes, as the members of `DIR/keys` (staff, auditors, and a node's peer
/// identity for digests), over CurveZMQ on one reactor; the ledger calls the scenario makes.
///
/// **Threading.** Thread-safe; clients are kept per member and endpoint until ``forget(endpoint:)`` or ``close()``.
final class DemoClients: Sendable {
    private let reactor: ZMQReactor
    private let roster: RosterBook
    private let keyDirectory: String
    private let clients = Mutex<[String: RPCClient]>([:])

    /// The deadline of each call.
    static let call = RPCCallOptions(timeout: .seconds(15))
    /// How long a write is retried while its node has not yet learned its own log from a peer.
    static let writeWindow = Duration.seconds(30)

    init(roster: RosterBook, keyDirectory: String) throws {
        self.roster = roster
        self.keyDirectory = keyDirectory
        reactor = try ZMQReactor(context: try ZMQContext(), name: "coop-demo")
    }

    /// A connected client of the node `nodeID` at `endpoint`, authenticated as `member`.
    func client(_ nodeID: String, at endpoint: String, as member: String) async throws -> RPCClient {
        let key = "\(member)@\(endpoint)"
        if let existing = clients.withLock({ $0[key] }) { return existing }
        guard roster.member(nodeID) != nil else { throw DemoError("\(nodeID) is not in the roster") }
        let client = try await MeshWriter.client(
            on: reactor,
            endpoint: endpoint,
            roster: roster,
            node: nodeID,
            as: member,
            keys: keyDirectory
        )
        clients.withLock { $0[key] = client }
        return client
    }

    /// Closes the clients of `endpoint` (its node stopped; the next call connects afresh).
    func forget(endpoint: String) async {
        let gone = clients.withLock { all in
            let keys = all.keys.filter { $0.hasSuffix("@" + endpoint) }
            return keys.compactMap { all.removeValue(forKey: $0) }
        }
        for client in gone { await client.close() }
    }

    func close() async {
        for client in clients.withLock({ all in
            defer { all = [:] }
            return Array(all.values)
        }) { await client.close() }
        await reactor.shutdown()
    }

    /// Writes `request` on `nodeID` as `member`, retrying while the node answers UNAVAILABLE OWN_LOG_UNCONFIRMED
    /// (it has not yet heard from a peer since it started) for up to ``writeWindow``.
    func update(
        _ request: UpdateStatusRequest,
        on nodeID: String,
        at endpoint: String,
        as member: String
    ) async throws -> AppendResponse {
        let ledger = LedgerService.Client(try await client(nodeID, at: endpoint, as: member))
        return try await retryingUnconfirmed { try await ledger.updateStatus(request, options: Self.call) }
    }

    /// Signs off `request` on `nodeID` as `member`, retrying as ``update(_:on:at:as:)`` does.
    func signOff(
        _ request: SignOffRequest,
        on nodeID: String,
        at endpoint: String,
        as member: String
    ) async throws -> AppendResponse {
        let ledger = LedgerService.Client(try await client(nodeID, at: endpoint, as: member))
        return try await retryingUnconfirmed { try await ledger.signOff(request, options: Self.call) }
    }

    private func retryingUnconfirmed(
        _ write: () async throws -> AppendResponse
    ) async throws -> AppendResponse {
        let deadline = ContinuousClock.now + Self.writeWindow
        while true {
            do {
                return try await write()
            } catch let error as RPCError {
                guard error.code == .unavailable, error.reason == "OWN_LOG_UNCONFIRMED", ContinuousClock.now < deadline
                else { throw DemoError("\(error.code) \(error.reason): \(error.message)") }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// One node's view: the item states (as its auditor lists them, in catalog order) and its digest of each
    /// origin's log (asked as a peer, `peer`, would).
    func snapshot(
        _ nodeID: String,
        at endpoint: String,
        auditor: String,
        peer: String
    ) async throws -> DemoSnapshot {
        do {
            let ledger = LedgerService.Client(try await client(nodeID, at: endpoint, as: auditor))
            let listed = try await ledger.listItems(ListItemsRequest(), options: Self.call)
            let sync = SyncService.Client(try await client(nodeID, at: endpoint, as: peer))
            let digests = try await sync.digest(DigestRequest(), options: Self.call)
            return DemoSnapshot(views: listed.items, digests: digests.origins)
        } catch let error as RPCError {
            throw DemoError("\(nodeID) did not answer: \(error.code) \(error.reason): \(error.message)")
        }
    }
}

/// What one node showed: its items (catalog entry and state) and its per-origin digests.
struct DemoSnapshot: Sendable {
    var views: [ItemView]
    var digests: [OriginDigest]

    var states: [ItemState] { views.compactMap(\.state) }
    /// Entries held: the sum of each origin's contiguous sequence number.
    var entries: UInt64 { digests.reduce(0) { $0 + $1.sequence } }

    func state(_ itemID: String) -> ItemState? { states.first { $0.itemId == itemID } }

    /// Same states and same digests.
    func matches(_ other: DemoSnapshot) -> Bool { states == other.states && digests == other.digests }
}
