import CoopLedger
import CoopLog
import CoopServices
import CoopTestKit
import CoopWire
import Foundation
import Testing

/// A node that learns of an equivocation while it runs raises its health to DEGRADED (ARCHITECTURE §3), and says who.
@Suite(.serialized) struct EvidenceHealthTests {
    @Test("two nodes holding different entries of one origin at one sequence both turn DEGRADED once they sync")
    func forkFoundBySyncDegradesBothNodes() async throws {
        let mesh = try MeshHarness()
        // cd-qingbaijiang (never started here) "signed" two different first entries; each running node holds one.
        let factory = try EntryFactory(origin: "cd-qingbaijiang", keysDirectory: "\(mesh.mesh.directory)/keys")
        for (node, status) in [("cd-wuhou", ItemStatus.assigned), ("cq-shapingba", .cancelled)] {
            let store = try LogStore.open(
                directory: mesh.dataDirectory(node),
                roster: mesh.roster,
                catalog: mesh.catalog
            )
            let payload = EntryBody.Payload.statusUpdate(StatusUpdate(itemId: "CY-01", status: status))
            _ = try await store.ingest(factory.entry(sequence: 1, previous: nil, payload: payload))
            try await store.close()
        }
        let nodes = ["cd-wuhou", "cq-shapingba"]
        do {
            // The first node, alone, holds one of the two entries: it serves. (Once the second starts, the two sync
            // at once, so only the first can be asked before they do.)
            try await mesh.start(nodes[0])
            let first = HealthService.Client(try await mesh.client(nodes[0], as: MeshHarness.auditor(nodes[0])))
            #expect(try await first.check(HealthCheckRequest(service: ""), options: testCall).status == .serving)
            try await mesh.start(nodes[1])
            let deadline = ContinuousClock.now + .seconds(30)
            for node in nodes {
                let health = HealthService.Client(try await mesh.client(node, as: MeshHarness.auditor(node)))
                var answer = try await health.check(HealthCheckRequest(service: ""), options: testCall)
                while answer.status != .degraded && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                    answer = try await health.check(HealthCheckRequest(service: ""), options: testCall)
                }
                #expect(answer.status == .degraded, "\(node): \(answer)")
                #expect(answer.reasons.first?.contains("cd-qingbaijiang") == true, "\(node): \(answer)")
                // Still serving: the ledger answers.
                let ledger = LedgerService.Client(try await mesh.client(node, as: MeshHarness.auditor(node)))
                #expect(try await ledger.listItems(ListItemsRequest(), options: testCall).items.count == 40)
            }
        } catch {
            try? await mesh.stopAll()
            throw error
        }
        try await mesh.stopAll()
    }
}
