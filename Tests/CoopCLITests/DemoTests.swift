import CoopTestKit
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `coop demo` end to end (issue 8 §3): the debug `coop` writes a mesh in a private directory, runs three node
/// processes through the scenario, and leaves data directories an auditor can replay.
@Suite("coop demo", .serialized)
struct DemoTests {
    @Test("the scenario runs to the end: numbered steps, identical views, a conflict, the wall chart, same replays")
    func scenario() async throws {
        let temp = try TemporaryDirectory("coop-demo-test")
        let dir = temp.file("mesh")
        let result = try await CLIProcess.run(
            ["demo", "--dir", dir, "--catalog", Fixtures.catalogPath],
            deadline: .seconds(150)
        )
        #expect(result.status == 0 && !result.signaled, "\(result)\n\(result.stdout)")
        let lines = result.lines
        for step in 1...9 {
            #expect(lines.contains { $0.hasPrefix("\(step). ") }, "step \(step) missing:\n\(result.stdout)")
        }
        #expect(result.stdout.contains("views identical on 3 nodes ("))
        #expect(lines.contains { $0.contains("CONFLICT on CY-07: 2 heads") })
        #expect(lines.contains { $0.hasPrefix("6. ") && $0.contains("heads 1") })
        #expect(lines.contains { $0.hasPrefix("7. ") && $0.contains("awaitingSignOff false") })
        let chartRows = lines.filter { $0.range(of: #"^!?\s+CY-\d\d\s"#, options: .regularExpression) != nil }
        #expect(chartRows.count == 40, "wall chart rows: \(chartRows.count)\n\(result.stdout)")
        #expect(result.stdout.contains("40 items: "))

        var replays: [String] = []
        for node in ["cq-shapingba", "cd-wuhou", "cd-qingbaijiang"] {
            let replay = try await CLIProcess.run([
                "audit", "replay", "\(dir)/data/\(node)", "--roster", "\(dir)/roster.json", "--catalog",
                "\(dir)/catalog.json", "--json",
            ])
            #expect(replay.status == 0, "\(replay)")
            replays.append(replay.stdout)
        }
        #expect(replays.allSatisfy { $0 == replays[0] && $0.contains("\"CY-40\"") }, "replays differ")
        #expect(Self.nodeProcesses(of: dir).isEmpty, "node processes left behind")
    }

    @Test("a non-empty --dir is refused before anything starts")
    func refusesNonEmptyDirectory() async throws {
        let temp = try TemporaryDirectory("coop-demo-test")
        try "x".write(toFile: temp.file("keep.txt"), atomically: false, encoding: .utf8)
        let result = try await CLIProcess.run(["demo", "--dir", temp.path, "--catalog", Fixtures.catalogPath])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("is not empty"), "\(result)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: temp.path) == ["keep.txt"])
    }

    @Test("Ctrl-C (SIGINT) during the scenario stops the node processes: no orphans")
    func interruptStopsNodes() async throws {
        let temp = try TemporaryDirectory("coop-demo-test")
        let dir = temp.file("mesh")
        let demo = try CLIProcess(["demo", "--dir", dir, "--catalog", Fixtures.catalogPath], deadline: .seconds(90))
        #expect(try await demo.waitForOutput(containing: "1. three nodes up"), "\(demo.stdoutSoFar)")
        // The scenario goes on at once: step 3 kills a node and step 4 stops another before starting it again alone,
        // so one to three are running by now (which, depends on how fast the machine got through steps 2–4).
        let running = Self.nodeProcesses(of: dir)
        #expect((1...3).contains(running.count), "node processes running when interrupted: \(running)")
        demo.interrupt()
        let result = await demo.wait()
        #expect(result.status == 128 + SIGINT && !result.signaled, "\(result)")
        #expect(Self.nodeProcesses(of: dir).isEmpty, "node processes left behind")
    }

    /// Process ids whose command line names a node configuration in `dir` (`coop node run --config DIR/nodes/…`).
    static func nodeProcesses(of dir: String) -> [Int32] {
        let prefix = URL(fileURLWithPath: dir).standardizedFileURL.path + "/nodes/"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { return nil }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.contains { $0.hasPrefix(prefix) } ? pid : nil
        }
    }
}
