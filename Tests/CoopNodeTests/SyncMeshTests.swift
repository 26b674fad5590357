import CoopLedger
import CoopNode
import CoopRPC
import CoopServices
import CoopSync
import CoopTestKit
import CoopWire
import Foundation
import Testing

/// Three nodes of a peering mesh in this process, over real ZeroMQ (tcp 127.0.0.1, CurveZMQ, PUB/SUB notices).
@Suite(.serialized) struct SyncMeshTests {
    /// Writes `count` status updates on `nodeID`, as its staff, to items it takes part in; returns the entry ids.
    static func write(
        _ mesh: MeshHarness,
        on nodeID: String,
        count: Int,
        status: ItemStatus = .assigned,
        skip: Int = 0
    ) async throws -> [[UInt8]] {
        let ledger = LedgerService.Client(try await mesh.client(nodeID, as: MeshHarness.staff(nodeID)))
        var ids: [[UInt8]] = []
        for (index, item) in mesh.items(of: nodeID).dropFirst(skip).prefix(count).enumerated() {
            let response = try await writeWhenOpen(
                ledger,
                UpdateStatusRequest(itemId: item, status: status, progress: UInt32(10 + index), note: "分办 \(index)")
            )
            ids.append(response.entryId)
        }
        return ids
    }

    /// Updates, retrying while the node answers OWN_LOG_UNCONFIRMED (for at most 30 s).
    static func writeWhenOpen(
        _ ledger: LedgerService.Client,
        _ request: UpdateStatusRequest
    ) async throws -> AppendResponse {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let outcome: Result<AppendResponse, RPCError>
            do {
                outcome = .success(try await ledger.updateStatus(request, options: testCall))
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(let response): return response
            case .failure(let error):
                guard error.reason == NodeReason.ownLogUnconfirmed, ContinuousClock.now < deadline else { throw error }
                #expect(error.code == .unavailable)
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    static func drain(_ stream: TypedStream<PullResponse>) async throws -> Int {
        var count = 0
        for try await _ in stream { count += 1 }
        return count
    }

    @Test("updates on both sides reach every node; views and digests end identical")
    func converges() async throws {
        let mesh = try MeshHarness()
        try await mesh.startAll()
        do {
            for node in MeshHarness.nodes { _ = try await Self.write(mesh, on: node, count: 3) }
            let result = try await mesh.converged()
            #expect(result.digests.map(\.origin) == MeshHarness.nodes.sorted())
            #expect(result.digests.allSatisfy { $0.sequence == 3 && $0.evidence == 0 })
        } catch {
            try? await mesh.stopAll()
            throw error
        }
        try await mesh.stopAll()
    }

    @Test("with the direct Wuhou–Qingbaijiang link absent, their entries travel through Shapingba")
    func relays() async throws {
        let mesh = try MeshHarness { config in
            let cut = ["cd-wuhou": "cd-qingbaijiang", "cd-qingbaijiang": "cd-wuhou"]
            config.peers.removeAll { $0.id == cut[config.nodeID] }
        }
        try await mesh.startAll()
        do {
            _ = try await Self.write(mesh, on: "cd-wuhou", count: 2)
            _ = try await Self.write(mesh, on: "cd-qingbaijiang", count: 2)
            let result = try await mesh.converged()
            #expect(result.digests.first { $0.origin == "cd-wuhou" }?.sequence == 2)
            #expect(result.digests.first { $0.origin == "cd-qingbaijiang" }?.sequence == 2)
        } catch {
            try? await mesh.stopAll()
            throw error
        }
        try await mesh.stopAll()
    }

    @Test("a node stopped while the others write catches up when it starts again")
    func stoppedNodeCatchesUp() async throws {
        let mesh = try MeshHarness()
        try await mesh.startAll()
        do {
            try await mesh.stop("cd-qingbaijiang")
            _ = try await Self.write(mesh, on: "cd-wuhou", count: 4)
            _ = try await Self.write(mesh, on: "cq-shapingba", count: 4)
            try await mesh.converged(["cd-wuhou", "cq-shapingba"])
            try await mesh.start("cd-qingbaijiang")
            let result = try await mesh.converged()
            #expect(result.digests.first { $0.origin == "cd-wuhou" }?.sequence == 4)
        } catch {
            try? await mesh.stopAll()
            throw error
        }
        try await mesh.stopAll()
    }

    @Test("a node restored from an old copy of its data dir learns its own entries before signing: no equivocation")
    func restoredOldCopy() async throws {
        let mesh = try MeshHarness()
        try await mesh.startAll()
        do {
            _ = try await Self.write(mesh, on: "cd-wuhou", count: 2)
            try await mesh.converged()
            try await mesh.stop("cd-wuhou")
            let backup = mesh.directory.file("wuhou-backup")
            try FileManager.default.copyItem(atPath: mesh.dataDirectory("cd-wuhou"), toPath: backup)
            try await mesh.start("cd-wuhou")
            _ = try await Self.write(mesh, on: "cd-wuhou", count: 3, status: .inProgress)
            try await mesh.converged()
            try await mesh.stop("cd-wuhou")
            try await mesh.stop("cq-shapingba")
            try await mesh.stop("cd-qingbaijiang")
            // The disk "loses" the last three writes: the old copy comes back, and no peer is up yet.
            try FileManager.default.removeItem(atPath: mesh.dataDirectory("cd-wuhou"))
            try FileManager.default.moveItem(atPath: backup, toPath: mesh.dataDirectory("cd-wuhou"))
            try await mesh.start("cd-wuhou")
            let ledger = LedgerService.Client(try await mesh.client("cd-wuhou", as: "staff.wuhou"))
            let item = mesh.items(of: "cd-wuhou")[0]
            let request = UpdateStatusRequest(itemId: item, status: .delayed, progress: 40, note: "跟踪: delayed")
            // Alone, it cannot know whether it lost entries: it signs nothing.
            let refused = await #expect(throws: RPCError.self) {
                try await ledger.updateStatus(request, options: testCall)
            }
            #expect(refused?.code == .unavailable)
            #expect(refused?.reason == NodeReason.ownLogUnconfirmed)
            #expect(refused?.message.contains("cd-wuhou has not yet learned") == true, "\(String(describing: refused))")
            // Once a peer answers, it pulls its own #3…#5, then signs #6 (never a second #3).
            try await mesh.start("cq-shapingba")
            try await mesh.start("cd-qingbaijiang")
            let response = try await Self.writeWhenOpen(ledger, request)
            #expect(response.sequence == 6)
            let result = try await mesh.converged()
            #expect(result.digests.first { $0.origin == "cd-wuhou" }?.sequence == 6)
            #expect(result.digests.allSatisfy { $0.evidence == 0 })
        } catch {
            try? await mesh.stopAll()
            throw error
        }
        try await mesh.stopAll()
    }

    @Test("Pull with max_batch sends the same entries, in the same order, in EntryBatch messages of at most max_batch")
    func batchedPull() async throws {
        let mesh = try MeshHarness()
        try await mesh.startAll()
        do {
            _ = try await Self.write(mesh, on: "cq-shapingba", count: 7)
            _ = try await Self.write(mesh, on: "cd-wuhou", count: 4)
            _ = try await mesh.converged()
            let sync = SyncService.Client(try await mesh.client("cd-qingbaijiang", as: "cq-shapingba"))
            var singles: [SignedEntry] = []
            for try await message in try sync.pull(PullRequest(), options: testCall) {
                guard case .entry(let entry) = message.item else {
                    Issue.record("without max_batch the server sent \(String(describing: message.item))")
                    continue
                }
                singles.append(entry)
            }
            #expect(singles.count == 11)
            var batched: [SignedEntry] = []
            var sizes: [Int] = []
            for try await message in try sync.pull(PullRequest(maxBatch: 3), options: testCall) {
                guard case .batch(let batch) = message.item else {
                    Issue.record("with max_batch 3 the server sent \(String(describing: message.item))")
                    continue
                }
                sizes.append(batch.entries.count)
                batched += batch.entries
            }
            #expect(batched == singles)
            #expect(sizes.allSatisfy { (1...3).contains($0) }, "\(sizes)")
            #expect(sizes.contains(3), "\(sizes)")
        } catch {
            try? await mesh.stopAll()
            throw error
        }
        try await mesh.stopAll()
    }

    @Test("a hello with another catalog is refused FAILED_PRECONDITION CATALOG_MISMATCH, naming both nodes' hashes")
    func catalogMismatch() async throws {
        let mesh = try MeshHarness()
        try await mesh.start("cd-wuhou")
        do {
            let sync = SyncService.Client(try await mesh.client("cd-wuhou", as: "cq-shapingba"))
            var hello = Hello(protocolVersion: HelloCheck.protocolVersion, nodeId: "cq-shapingba", side: .chongqing)
            hello.catalogHash = Array(repeating: 0xab, count: 32)
            hello.rosterHash = mesh.roster.hash.bytes
            let error = await #expect(throws: RPCError.self) { try await sync.exchange(hello, options: testCall) }
            #expect(error?.code == .failedPrecondition)
            #expect(error?.reason == "CATALOG_MISMATCH")
            #expect(error?.message.contains("abababababab") == true, "\(String(describing: error))")
            #expect(error?.message.contains("cd-wuhou holds ") == true, "\(String(describing: error))")

            hello.catalogHash = mesh.catalog.hash.bytes
            hello.nodeId = "cd-qingbaijiang"
            let wrong = await #expect(throws: RPCError.self) { try await sync.exchange(hello, options: testCall) }
            #expect(wrong?.reason == "WRONG_PEER")

            let staff = SyncService.Client(try await mesh.client("cd-wuhou", as: "staff.wuhou"))
            let denied = await #expect(throws: RPCError.self) { try await Self.drain(staff.pull(PullRequest())) }
            #expect(denied?.code == .permissionDenied)
        } catch {
            try? await mesh.stopAll()
            throw error
        }
        try await mesh.stopAll()
    }
}
