import CoopLedger
import CoopLog
import CoopWire
import Foundation

extension DemoScenario {
    /// Step 8: every node stopped with SIGTERM (each must exit 0), then each data directory verified and replayed
    /// offline, as `coop audit verify` and `coop audit replay --json` do; the three replayed views must be identical.
    mutating func stopAndAudit() async throws {
        begin(8)
        for node in Self.allNodes {
            try await nodes.stop(node)
            await clients.forget(endpoint: endpoints[node]!)
        }
        var records: [UInt64] = []
        var views: [String] = []
        for node in Self.allNodes {
            let data = dataDirectory(node)
            let report = try Auditor.verify(directory: data, roster: roster)
            guard report.isIntact, report.equivocations.isEmpty else {
                let problem = report.problems.first.map { "\($0)" } ?? "\(report.equivocations.count) equivocations"
                throw DemoError("coop audit verify \(data): \(problem)")
            }
            records.append(report.records)
            let (view, _) = try LedgerReplay.view(directory: data, catalog: catalog, roster: roster)
            views.append(JSONWriter.write(.array(try view.states.map { try ProtoJSON.json($0) })))
            replayed = view.states
        }
        guard views.allSatisfy({ $0 == views[0] }) else {
            throw DemoError("the replayed views of the three data directories differ")
        }
        say(
            "all stopped with SIGTERM (exit 0 ×3); audit verify: 3 data directories intact ("
                + records.map(String.init).joined(separator: "/") + " records, 0 equivocations); "
                + "replayed views identical on 3 data directories (\(replayed.count) items)"
        )
    }

    /// Step 9: the wall chart of every item, from the replayed view.
    mutating func showWallChart() throws {
        begin(9)
        let views = try replayed.map { state in
            guard let item = catalog.item(state.itemId) else {
                throw DemoError("\(state.itemId) is not in the catalog")
            }
            return ItemView(item: item, state: state)
        }
        let today = WallChart.today()
        say("wall chart of the \(views.count) items (挂图作战), as replayed from the logs, today \(today) (UTC):")
        DemoOutput.out(WallChart.render(views, today: today))
    }

    /// Where the data is and how to look at it.
    func showWhereToLook() {
        let d = directory
        let files = "--roster \(d)/roster.json --catalog \(d)/catalog.json"
        DemoOutput.out(
            """

            The mesh stays in \(d): keys/, roster.json, catalog.json, nodes/*.toml, data/<node>/, logs/<node>.log.
            Explore it:
              coop audit replay \(dataDirectory(DemoScript.shapingba)) \(files)
              coop audit history \(dataDirectory(DemoScript.wuhou)) \(DemoScript.jointItem) \(files)
              coop audit verify \(dataDirectory(DemoScript.qingbaijiang)) --roster \(d)/roster.json
              coop audit diff \(dataDirectory(DemoScript.shapingba)) \(dataDirectory(DemoScript.wuhou))
              coop node run --config \(d)/nodes/cq-shapingba.toml      (and the other two; then, elsewhere:)
              coop item list --mesh \(d) --as staff.shapingba
              coop item show \(DemoScript.jointItem) --mesh \(d) --as auditor.wuhou
            """
        )
    }

    func dataDirectory(_ node: String) -> String { "\(directory)/data/\(node)" }
}
