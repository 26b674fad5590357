import CoopTestKit
import CoopWire
import Foundation
import Testing

/// `coop report overdue` against a node, as a supervisor runs it.
@Suite("coop report overdue", .timeLimit(.minutes(3)))
struct ReportCommandTests {
    @Test func tableJSONAndCSV() async throws {
        let coop = try ChildProcess.product("coop")
        try await WebHarness.run { node in
            let base = [
                "report", "overdue", "--mesh", node.mesh.directory, "--as", "auditor.wuhou", "--node", node.endpoint,
            ]
            // CY-01 was due 2025-12-31: overdue by the real clock from 2026 on; CY-02 (2027-12-31) is not yet.
            let json = try await ChildProcess.runOffPool(coop, base + ["--json"])
            #expect(json.status == 0, "\(json.stderr)")
            guard case .array(let lines) = try JSONParser.parse(json.stdoutText) else {
                Issue.record("not a JSON array: \(json.stdoutText)")
                return
            }
            let ids = lines.compactMap { line -> String? in
                if case .string(let id)? = line["item"] { return id }
                return nil
            }
            #expect(ids.contains("CY-01"))
            let first = try #require(lines.first)
            #expect(first["overdue"] == .bool(true))
            let csv = try await ChildProcess.runOffPool(coop, base + ["--csv"])
            #expect(csv.status == 0)
            #expect(csv.stdoutText.hasPrefix("item,status,progress,due,days_overdue,"))
            #expect(csv.stdoutText.contains("\nCY-01,ITEM_STATUS_PLANNED,0,2025-12-31,"))
            let table = try await ChildProcess.runOffPool(coop, base)
            #expect(table.status == 0)
            #expect(table.stdoutText.contains("CY-01") && table.stdoutText.contains("overdue"))
            let bad = try await ChildProcess.runOffPool(coop, base + ["--stale-days", "0"])
            #expect(bad.status == 64)
        }
    }
}
