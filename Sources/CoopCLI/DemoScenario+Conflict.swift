import CoopDevTools
import CoopWire
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension DemoScenario {
    /// Step 4: Wuhou is cut off (restarted on fresh ports without peers) and both sides update the joint item.
    mutating func partition() async throws {
        begin(4)
        let node = DemoScript.wuhou
        try await nodes.stop(node)
        await clients.forget(endpoint: endpoints[node]!)
        let cut = try MeshWriter.writePartitionedConfig(meshDirectory: directory, nodeID: node)
        _ = try await nodes.start(node, config: cut.path)
        endpoints[node] = cut.endpoint
        let item = DemoScript.jointItem
        let title = catalog.item(item).map { ItemTable.cut($0.titleZh, 16) } ?? ""
        say(
            "network partition: \(DemoNames.label(node)) restarted alone on \(cut.endpoint) with no peers "
                + "(nobody reaches it); both sides update joint item \(item) \(title) at the same time:"
        )
        for update in DemoScript.concurrent {
            let response = try await write(update)
            concurrentIDs[update.node] = response.entryId
            detail("\(DemoNames.name(update.node)) (\(Self.staff(update.node))): \(Self.describe(update))")
        }
    }

    /// Step 5: Qingbaijiang (killed) and Wuhou (partitioned) come back with their normal configurations; the mesh
    /// converges and the joint item shows the two concurrent updates as a conflict.
    mutating func reconnect() async throws {
        begin(5)
        let wuhou = DemoScript.wuhou
        try await nodes.stop(wuhou)
        await clients.forget(endpoint: endpoints[wuhou]!)
        endpoints[wuhou] = mesh.endpoints[wuhou]
        let started = ContinuousClock.now
        for node in [DemoScript.qingbaijiang, wuhou] { _ = try await nodes.start(node, config: mesh.configs[node]!) }
        let view = try await converged(Self.allNodes)
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        say(
            "nodes back: \(DemoNames.label(DemoScript.qingbaijiang)) restarted after SIGKILL, "
                + "\(DemoNames.label(wuhou)) with its normal configuration; views identical on 3 nodes "
                + "(\(view.entries) entries) \(String(format: "%.1f", seconds)) s after the restart"
        )
        let item = DemoScript.jointItem
        guard let state = view.state(item), state.heads.count == 2,
            Set(state.heads) == Set(concurrentIDs.values)
        else {
            throw DemoError(
                "\(item) should show the two concurrent updates as 2 heads; it shows "
                    + "\(view.state(item)?.heads.count ?? 0)"
            )
        }
        let sides = DemoScript.concurrent.map { "\(DemoNames.name($0.node)) \(Self.describe($0))" }
        detail(
            "CONFLICT on \(item): 2 heads — " + sides.joined(separator: " | ")
                + "; shown meanwhile: \(state.updatedBy)'s (latest clock)"
        )
    }

    /// Step 6: an update on the joint item cites both heads as its parents: one head again.
    mutating func resolveConflict() async throws {
        begin(6)
        let update = DemoScript.resolution
        let response = try await write(update)
        let view = try await converged(Self.allNodes)
        let heads = view.state(update.item)?.heads.count ?? 0
        guard response.state?.heads.count == 1, heads == 1 else {
            throw DemoError("\(update.item) should have 1 head after the resolving update; it has \(heads)")
        }
        say(
            "conflict resolved: \(Self.staff(update.node)) updates \(update.item), its entry citing both heads → "
                + "heads 1 on 3 nodes: \(Self.describe(update))"
        )
    }

    /// Step 7: the joint item is completed on one side and signed off by a staff member of each side's node.
    mutating func completeJointItem() async throws {
        begin(7)
        let update = DemoScript.completion
        let completing = try await write(update)
        let awaiting = completing.state?.awaitingSignOff ?? false
        _ = try await converged(Self.allNodes)
        let signers = [DemoScript.shapingba, DemoScript.wuhou]
        for node in signers {
            let request = SignOffRequest(
                itemId: update.item,
                entryId: completing.entryId,
                note: "\(DemoNames.name(node))确认完成"
            )
            _ = try await clients.signOff(request, on: node, at: endpoints[node]!, as: Self.staff(node))
        }
        let view = try await converged(Self.allNodes)
        guard let state = view.state(update.item), state.status == .completed, !state.awaitingSignOff,
            Set(state.signedOff) == [.chengdu, .chongqing]
        else {
            throw DemoError(
                "\(update.item) should be COMPLETED and signed off by both sides: \(Self.brief(view.state(update.item)))"
            )
        }
        let sides = state.signedOff.map { $0 == .chengdu ? "chengdu 成都" : "chongqing 重庆" }
        say(
            "joint item completed: \(update.item) \(Self.describe(update)) by \(DemoNames.name(update.node)) "
                + "(awaitingSignOff \(awaiting) until each side signs); sign-offs by "
                + signers.map(Self.staff).joined(separator: " and ") + " → signedOff [" + sides.joined(separator: ", ")
                + "], awaitingSignOff false, 完成 COMPLETED on 3 nodes"
        )
    }

    /// `落实 IN_PROGRESS 40% "落实: …"`.
    static func describe(_ update: DemoScript.Update) -> String {
        "\(WallChart.chinese(update.status)) \(ItemTable.short(update.status)) \(update.progress)% \"\(update.note)\""
    }
}
