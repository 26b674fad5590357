import ArgumentParser
import CoopDevTools
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `coop demo`: a three-district mesh on this machine, three `coop node run` processes, and a scenario to follow.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run three district nodes on this machine and show the shared ledger at work, step by step.",
        discussion: """
            Writes a mesh (as `coop dev mesh` does) in --dir, starts cq-shapingba, cd-wuhou and cd-qingbaijiang as \
            child processes (`coop node run`, logs in DIR/logs), and walks through: updates on both sides, a node \
            killed, a network partition with concurrent updates (a conflict), reconnection, resolution, a joint \
            item completed and signed off by both sides, a clean stop with an offline audit, and the wall chart of \
            the 40 items. The nodes are stopped at the end, on failure and on SIGINT (Ctrl-C), SIGTERM or SIGHUP; \
            the data stays in DIR. Exit codes: 0 every step succeeded; 1 a step failed (it is named, with the \
            reason) or DIR is not empty; 2 a file could not be read or written; 128 + N stopped by signal N.
            """
    )

    @Option(name: .long, help: "The directory to write the mesh in (new or empty). Default: a fresh temporary one.")
    var dir: String?

    @Option(name: .long, help: "The catalog of cooperation items to copy into the mesh.")
    var catalog: String = "deploy/catalog.json"

    @Option(name: .long, help: "The coop executable to run the nodes with. Default: this one.")
    var coop: String?

    func validate() throws {
        try ArgumentCheck.notEmpty(dir, "--dir")
        try ArgumentCheck.notEmpty(catalog, "--catalog")
        try ArgumentCheck.notEmpty(coop, "--coop")
    }

    func run() async throws {
        let directory = try Self.prepare(dir)
        let executable = coop ?? Self.runningExecutable()
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw CLIOutput.fail("--coop \(CLIOutput.quoted(executable)) is not an executable file")
        }
        DemoOutput.out("coop demo: three district nodes in \(directory) (node logs in \(directory)/logs)")
        let mesh: MeshWriter.Mesh
        do {
            mesh = try MeshWriter(directory: directory, catalogPath: catalog, peering: true).write()
            try FileManager.default.createDirectory(atPath: "\(directory)/logs", withIntermediateDirectories: true)
        } catch {
            throw CLIOutput.fail(error)
        }
        let nodes = NodeProcesses(executable: executable, logDirectory: "\(directory)/logs")
        nodes.stopOnSignals()
        let clients: DemoClients
        var scenario: DemoScenario
        do {
            clients = try DemoClients(
                roster: try .load(path: "\(directory)/roster.json"),
                keyDirectory: "\(directory)/keys"
            )
            scenario = try DemoScenario(mesh: mesh, nodes: nodes, clients: clients)
        } catch {
            throw CLIOutput.fail("cannot prepare the demo: \(error)")
        }
        do {
            try await scenario.run()
        } catch {
            nodes.killAll()
            // A step that failed because a signal is stopping the nodes is not a failed step: exit as the signal's
            // handler does (128 + N), whichever of the two gets there first.
            if let signal = nodes.interruptedBy { Foundation.exit(128 + signal) }
            await clients.close()
            throw CLIOutput.fail(
                "step \(scenario.step) of \(DemoScenario.stepCount) failed: \(error)\n"
                    + "the nodes are stopped; their logs are in \(directory)/logs, the data in \(directory)/data"
            )
        }
        nodes.killAll()
        await clients.close()
    }

    /// The mesh directory, absolute: `dir` if it is new or empty (created), else a fresh temporary one.
    static func prepare(_ dir: String?) throws -> String {
        guard let dir else {
            var template = Array("\(NSTemporaryDirectory())/coop-demo-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else {
                throw CLIOutput.fail(
                    "cannot create a temporary directory: \(String(cString: strerror(errno)))",
                    code: CLIOutput.io
                )
            }
            return URL(fileURLWithPath: String(cString: made)).standardizedFileURL.path
        }
        let path = URL(fileURLWithPath: dir).standardizedFileURL.path
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: path), !existing.isEmpty {
            throw CLIOutput.fail(
                "--dir \(path) is not empty (\(existing.count) entries); give a new or empty directory, or no --dir "
                    + "for a fresh temporary one (a demo never reuses a mesh's keys or data)"
            )
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw CLIOutput.fail("cannot create \(path): \(error.localizedDescription)", code: CLIOutput.io)
        }
        return path
    }

    /// The running `coop`: /proc/self/exe where there is one.
    static func runningExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? Bundle.main.executablePath ?? CommandLine.arguments[0]
    }
}
