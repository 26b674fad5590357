import CoopDevTools
import CoopLedger
import CoopWire
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The story `coop demo` tells on a running three-district mesh, one numbered line per step (details indented
/// below it): nodes up, updates on both sides, a node killed, a partition and a conflict, reconnection, resolution,
/// a joint completion signed off by both sides, a clean stop and audit, and the wall chart.
///
/// **Threading.** Driven by one task (`mutating` steps); ``step`` is the step under way, for the failure message.
struct DemoScenario {
    let directory: String
    let mesh: MeshWriter.Mesh
    let nodes: NodeProcesses
    let clients: DemoClients
    let roster: RosterBook
    let catalog: CatalogBook
    /// Node id → the endpoint it serves now (another one while it is partitioned).
    var endpoints: [String: String]
    /// The step under way (1…``stepCount``), 0 before the first.
    private(set) var step = 0
    /// Entry ids of the two concurrent updates of step 4, by node.
    var concurrentIDs: [String: [UInt8]] = [:]
    /// The replayed view of step 8, for the wall chart.
    var replayed: [ItemState] = []

    static let stepCount = 9
    static let allNodes = MeshWriter.districts.map(\.nodeID)

    init(mesh: MeshWriter.Mesh, nodes: NodeProcesses, clients: DemoClients) throws {
        directory = mesh.directory
        self.mesh = mesh
        self.nodes = nodes
        self.clients = clients
        roster = try RosterBook.load(path: "\(mesh.directory)/roster.json")
        catalog = try CatalogBook.load(path: "\(mesh.directory)/catalog.json", roster: roster)
        endpoints = mesh.endpoints
    }

    mutating func run() async throws {
        try check()
        try await startNodes()
        try await updateBothSides()
        try await killOneNode()
        try await partition()
        try await reconnect()
        try await resolveConflict()
        try await completeJointItem()
        try await stopAndAudit()
        try showWallChart()
        showWhereToLook()
    }

    /// The scenario's items must be in the catalog with the participants it writes as (another --catalog may not).
    func check() throws {
        let updates = DemoScript.opening + DemoScript.whileDown + DemoScript.concurrent + [DemoScript.completion]
        for update in updates where catalog.item(update.item)?.participants.contains(update.node) != true {
            throw DemoError(
                "the catalog has no item \(update.item) with participant \(update.node), which the demo writes; "
                    + "run it with the repository's deploy/catalog.json"
            )
        }
    }

    // MARK: Steps 1–3

    mutating func startNodes() async throws {
        begin(1)
        for node in Self.allNodes { _ = try await nodes.start(node, config: mesh.configs[node]!) }
        let up = Self.allNodes.map { "\(DemoNames.label($0)) \(endpoints[$0]!)" }
        say("three nodes up (CurveZMQ, each peering with the other two): " + up.joined(separator: ", "))
    }

    mutating func updateBothSides() async throws {
        begin(2)
        for update in DemoScript.opening { _ = try await write(update) }
        let view = try await converged(Self.allNodes)
        say(
            "updates on both sides (任务→分办→落实→跟踪→反馈→上报): \(DemoScript.opening.count) entries by "
                + Self.allNodes.map(Self.staff).joined(separator: ", ") + "; "
                + "views identical on 3 nodes (\(view.entries) entries)"
        )
        for node in Self.allNodes {
            let items = DemoScript.opening.filter { $0.node == node }.map(\.item).uniqued()
            detail(DemoNames.name(node) + ": " + items.map { Self.brief(view.state($0)) }.joined(separator: " · "))
        }
    }

    mutating func killOneNode() async throws {
        begin(3)
        let victim = DemoScript.qingbaijiang
        let exit = try await nodes.send(SIGKILL, to: victim)
        await clients.forget(endpoint: endpoints[victim]!)
        for update in DemoScript.whileDown { _ = try await write(update) }
        let alive = Self.allNodes.filter { $0 != victim }
        let view = try await converged(alive)
        say(
            "one node stopped: \(DemoNames.label(victim)) killed with SIGKILL (\(exit)); writes continue on "
                + alive.map(DemoNames.name).joined(separator: " and ") + ": "
                + DemoScript.whileDown.map { Self.brief(view.state($0.item)) }.joined(separator: " · ")
                + "; views identical on 2 nodes (\(view.entries) entries)"
        )
    }

    // MARK: Helpers

    mutating func begin(_ step: Int) { self.step = step }

    /// The step's line: `N. text`.
    func say(_ text: String) { DemoOutput.out("\(step). \(text)") }

    /// A detail under the step's line.
    func detail(_ text: String) { DemoOutput.out("   " + text) }

    /// `staff.wuhou` for `cd-wuhou`.
    static func staff(_ node: String) -> String { "staff." + (DemoNames.district(node)?.short ?? node) }

    static func auditor(_ node: String) -> String { "auditor." + (DemoNames.district(node)?.short ?? node) }

    /// Writes `update` on its node as the node's staff.
    func write(_ update: DemoScript.Update) async throws -> AppendResponse {
        try await clients.update(
            update.request,
            on: update.node,
            at: endpoints[update.node]!,
            as: Self.staff(update.node)
        )
    }

    /// `CY-02 落实 35%`.
    static func brief(_ state: ItemState?) -> String {
        guard let state else { return "?" }
        return "\(state.itemId) \(WallChart.chinese(state.status)) \(state.progress)%"
    }

    /// Waits (up to `timeout`) until `nodes` show the same item states and the same digests; returns the view.
    func converged(_ nodes: [String], timeout: Duration = .seconds(60)) async throws -> DemoSnapshot {
        let deadline = ContinuousClock.now + timeout
        while true {
            var snapshots: [DemoSnapshot] = []
            for node in nodes {
                let peer = Self.allNodes.first { $0 != node }!
                snapshots.append(
                    try await clients.snapshot(node, at: endpoints[node]!, auditor: Self.auditor(node), peer: peer)
                )
            }
            if snapshots.allSatisfy({ $0.matches(snapshots[0]) }) { return snapshots[0] }
            guard ContinuousClock.now < deadline else {
                let shown = zip(nodes, snapshots).map { node, s in
                    "\(node): " + s.digests.map { "\($0.origin)#\($0.sequence)" }.joined(separator: " ")
                }
                throw DemoError("the views did not converge within \(timeout): " + shown.joined(separator: "; "))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

extension Array where Element: Hashable {
    /// The elements in order, each once.
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
