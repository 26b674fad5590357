import CoopDevTools
import CoopTestKit
import Foundation
import Testing

/// A real network cut: two `coop node run` processes in their own network namespaces joined by a veth pair; the
/// link is taken down while both write, then brought up; they converge. Needs root (network namespaces); elsewhere
/// the test says so and checks nothing.
@Suite(.serialized) struct NetworkCutTests {
    /// Runs `ip ARGS`; throws with its stderr when it fails.
    @discardableResult
    static func ip(_ arguments: [String]) async throws -> String {
        let result = try await ChildProcess.runOffPool("/usr/sbin/ip", arguments)
        guard result.status == 0 else {
            throw NodeProcessError(message: "ip \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        return result.stdoutText
    }

    /// `coop ARGS` in namespace `ns`.
    static func coop(_ ns: String, _ arguments: [String]) async throws -> ChildProcess.Result {
        try await ChildProcess.runOffPool(
            "/usr/sbin/ip",
            ["netns", "exec", ns, try ChildProcess.product("coop")] + arguments
        )
    }

    /// Per origin, the sequence number the node in `ns` holds (from `coop node status --json`).
    static func sequences(_ ns: String, mesh: String, as member: String) async throws -> [String: Int] {
        let result = try await coop(ns, ["node", "status", "--mesh", mesh, "--as", member, "--json", "--timeout", "5"])
        guard result.status == 0,
            let json = try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any]
        else { throw NodeProcessError(message: "coop node status: \(result.status) \(result.stderr)") }
        var out: [String: Int] = [:]
        for digest in json["digests"] as? [[String: Any]] ?? [] {
            out[digest["origin"] as? String ?? ""] = Int(digest["sequence"] as? String ?? "0") ?? 0
        }
        return out
    }

    static func update(_ ns: String, mesh: String, as member: String, item: String, note: String) async throws {
        for _ in 0..<300 {
            let result = try await coop(
                ns,
                [
                    "item", "update", item, "--status", "in-progress", "--progress", "30", "--note", note,
                    "--mesh", mesh, "--as", member, "--timeout", "5",
                ]
            )
            if result.status == 0 { return }
            // Until a peer confirmed the node's own head, writes are refused UNAVAILABLE (exit 3): retry.
            guard result.status == 3, result.stderr.contains("OWN_LOG_UNCONFIRMED") else {
                throw NodeProcessError(message: "coop item update: \(result.status) \(result.stderr)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw NodeProcessError(message: "\(member)'s node never confirmed its own head")
    }

    @Test("nodes in two network namespaces joined by veth: the link is cut while both write, restored, they converge")
    func linkCut() async throws {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let (nsA, nsB) = ("coopa\(suffix)", "coopb\(suffix)")
        guard getuid() == 0, (try? await Self.ip(["netns", "add", nsA])) != nil else {
            print("NetworkCutTests skipped: network namespaces need root (ip netns add failed); nothing was checked")
            return
        }
        defer {
            // (A short blocking call: `defer` cannot await.)
            _ = try? ChildProcess.run("/usr/sbin/ip", ["netns", "del", nsA])
            _ = try? ChildProcess.run("/usr/sbin/ip", ["netns", "del", nsB])
        }
        try await Self.ip(["netns", "add", nsB])
        let (vethA, vethB) = ("cva\(suffix)".prefix(15), "cvb\(suffix)".prefix(15))
        try await Self.ip([
            "link", "add", String(vethA), "netns", nsA, "type", "veth", "peer", "name", String(vethB), "netns", nsB,
        ])
        try await Self.ip(["-n", nsA, "addr", "add", "10.77.0.1/24", "dev", String(vethA)])
        try await Self.ip(["-n", nsB, "addr", "add", "10.77.0.2/24", "dev", String(vethB)])
        for (ns, dev) in [(nsA, String(vethA)), (nsB, String(vethB))] {
            try await Self.ip(["-n", ns, "link", "set", dev, "up"])
            try await Self.ip(["-n", ns, "link", "set", "lo", "up"])
        }

        // A mesh whose Shapingba and Wuhou nodes listen on the veth addresses (the third node is not started).
        let directory = try TemporaryDirectory("coop-netns")
        let written = try MeshWriter(directory: directory.file("mesh"), catalogPath: Fixtures.catalogPath).write()
        let address = ["cq-shapingba": "10.77.0.1", "cd-wuhou": "10.77.0.2"]
        let namespace = ["cq-shapingba": nsA, "cd-wuhou": nsB]
        var files = try FileManager.default.contentsOfDirectory(atPath: written.directory + "/nodes").map {
            written.directory + "/nodes/" + $0
        }
        files += try FileManager.default.contentsOfDirectory(atPath: written.directory + "/clients").map {
            written.directory + "/clients/" + $0
        }
        for file in files {
            var text = try String(contentsOfFile: file, encoding: .utf8)
            for (node, ip) in address {
                for endpoint in [written.endpoints[node]!, written.publishEndpoints[node]!] {
                    text = text.replacingOccurrences(
                        of: endpoint,
                        with: endpoint.replacingOccurrences(of: "127.0.0.1", with: ip)
                    )
                }
            }
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        }
        var nodes: [String: NodeProcess] = [:]
        // Killed whatever `isRunning` says (a full run once left both nodes running after a failure here).
        defer { for node in nodes.values where kill(node.pid, 0) == 0 { node.signal(SIGKILL) } }
        for node in ["cq-shapingba", "cd-wuhou"] {
            let process = try NodeProcess(
                config: written.configs[node]!,
                directory: directory.path,
                name: node,
                namespace: namespace[node]
            )
            nodes[node] = process
            try await process.ready()
        }
        let mesh = written.directory
        func converged(_ origins: [String: Int]) async throws {
            for _ in 0..<300 {
                let a = try await Self.sequences(nsA, mesh: mesh, as: "auditor.shapingba")
                let b = try await Self.sequences(nsB, mesh: mesh, as: "auditor.wuhou")
                if a == b && origins.allSatisfy({ a[$0.key] == $0.value }) { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("no convergence on \(origins)")
        }
        try await Self.update(nsA, mesh: mesh, as: "staff.shapingba", item: "CY-01", note: "落实 before the cut")
        try await Self.update(nsB, mesh: mesh, as: "staff.wuhou", item: "CY-01", note: "落实 before the cut")
        try await converged(["cq-shapingba": 1, "cd-wuhou": 1])

        // Cut: both write; neither sees the other's entry.
        try await Self.ip(["-n", nsA, "link", "set", String(vethA), "down"])
        try await Self.update(nsA, mesh: mesh, as: "staff.shapingba", item: "CY-01", note: "跟踪 during the cut")
        try await Self.update(nsB, mesh: mesh, as: "staff.wuhou", item: "CY-01", note: "跟踪 during the cut")
        try await Task.sleep(for: .seconds(3))
        #expect(try await Self.sequences(nsA, mesh: mesh, as: "auditor.shapingba")["cd-wuhou"] == 1)
        #expect(try await Self.sequences(nsB, mesh: mesh, as: "auditor.wuhou")["cq-shapingba"] == 1)

        // Restored: they converge, the concurrent updates shown as a conflict on both.
        try await Self.ip(["-n", nsA, "link", "set", String(vethA), "up"])
        try await converged(["cq-shapingba": 2, "cd-wuhou": 2])
        for (ns, member) in [(nsA, "auditor.shapingba"), (nsB, "auditor.wuhou")] {
            let shown = try await Self.coop(ns, ["item", "show", "CY-01", "--mesh", mesh, "--as", member, "--json"])
            let json = try JSONSerialization.jsonObject(with: Data(shown.stdout)) as? [String: Any]
            let heads = (json?["state"] as? [String: Any])?["heads"] as? [Any]
            #expect(heads?.count == 2, "\(member): \(shown.stdoutText.prefix(600))")
        }
        for (node, ns) in namespace {
            nodes[node]!.signal(SIGTERM)
            #expect(try await nodes[node]!.exit() == 0, "\(node) in \(ns): \(nodes[node]!.stderr.suffix(1500))")
        }
    }
}
