import ArgumentParser
import CoopRPC
import CoopServices
import CoopWire

/// `coop node status`: how a running node and its peer links stand (`Sync/Status`), for operators.
struct NodeStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running node's peers, lag, version vector, conflicts and equivocations.",
        discussion: """
            Connects like `coop item` (--client FILE, --mesh DIR --as MEMBER, or $COOP_CLIENT); any roster member \
            may read it. Per peer: the link's phase, up or down, entries this node lacks (and for how long) and \
            entries the peer lacks, the last contact, failures and the last error. Then the version vector, per \
            origin digests, items in conflict, equivocations, clock skews and whether the node signs new entries. \
            Exit codes as for `coop item`.
            """
    )

    @OptionGroup var connection: ClientOptions
    @OptionGroup var output: ItemOutputOptions

    func run() async throws {
        let target: ClientTarget
        do { target = try connection.target() } catch { throw error.fail() }
        let timeout = connection.callTimeout
        let status = try await ClientConnection.with(target) { connection in
            try await SyncService.Client(connection.rpc).status(
                StatusRequest(),
                options: RPCCallOptions(timeout: timeout)
            )
        }
        try output.print(status) { Self.render($0, language: output.lang) }
    }

    static func render(_ s: NodeStatus, language: ItemTable.Language) -> String {
        let l = language
        var out: [String] = []
        out.append(
            "\(s.nodeId) (\(s.side.protoValueName.dropFirst("SIDE_".count).lowercased())): "
                + l.pick(
                    "\(s.records) records, up \(s.uptimeSeconds) s, ",
                    "日志 \(s.records) 条, 运行 \(s.uptimeSeconds) 秒, "
                )
                + (s.mayWrite
                    ? l.pick("signing", "可写入")
                        + (s.ownHeadConfirmedBy.isEmpty
                            ? ""
                            : l.pick(" (own head confirmed by ", " (本节点日志由 ")
                                + s.ownHeadConfirmedBy + l.pick(")", " 确认)"))
                    : l.pick("NOT signing yet: waiting for a peer to confirm its own head", "暂不写入: 等待对端确认本节点日志"))
        )
        var peers = TextTable(
            l == .en
                ? [
                    "peer", "endpoint", "state", "lacks here", "behind for", "peer lacks", "last contact", "failures",
                    "last error",
                ]
                : ["对端", "地址", "状态", "本节点缺", "落后时长", "对端缺", "上次联系", "失败", "最近错误"]
        )
        for p in s.peers {
            peers.add([
                p.peer, p.endpoint, (p.up ? "up " : "DOWN ") + p.phase, "\(p.lagEntries)",
                p.lagMs == 0 ? "-" : Self.duration(p.lagMs), "\(p.peerLacks)",
                p.lastContactMsAgo == 0
                    ? l.pick("never", "从未") : Self.duration(p.lastContactMsAgo) + l.pick(" ago", "前"),
                "\(p.failures)", String(p.lastError.prefix(60)),
            ])
        }
        out.append(s.peers.isEmpty ? l.pick("no peers configured", "未配置对端") : peers.render())
        var origins = TextTable(l == .en ? ["origin", "sequence", "head", "evidence"] : ["来源", "序号", "最新条目", "证据"])
        for d in s.digests {
            origins.add([d.origin, "\(d.sequence)", d.head.prefix(6).map { hex($0) }.joined(), "\(d.evidence)"])
        }
        out.append(origins.render())
        out.append(
            l.pick("conflicts: ", "冲突事项: ") + (s.conflicts.isEmpty ? "-" : s.conflicts.joined(separator: ", "))
                + l.pick("; equivocations: ", "; 分叉证据: ") + "\(s.equivocations)"
                + l.pick("; waiting for a gap: ", "; 等待缺口: ") + "\(s.pending)"
                + l.pick("; held for clock skew: ", "; 因时钟偏差暂缓: ") + "\(s.held)"
        )
        if !s.clockSkews.isEmpty {
            out.append(
                l.pick("clocks ahead: ", "时钟超前: ")
                    + s.clockSkews.map { "\($0.origin) +\(Self.duration($0.aheadMs))" }.joined(separator: ", ")
            )
        }
        return out.joined(separator: "\n\n")
    }

    static func duration(_ ms: UInt64) -> String {
        if ms < 1000 { return "\(ms) ms" }
        if ms < 120_000 { return "\(ms / 1000) s" }
        return "\(ms / 60_000) min"
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
