import CoopProcess
import CoopTestKit
import Foundation

/// A real `coop node run` child process: its readiness line, its logs, signals, its resident memory.
final class NodeProcess {
    let process: SpawnedProcess
    let stdoutPath: String
    let stderrPath: String
    private(set) var endpoint = ""

    /// Starts `coop node run --config config` (plus `arguments`), its output in files under `directory`.
    /// With `namespace`, the node runs in that network namespace (`ip netns exec NS coop …`, which execs coop).
    init(config: String, directory: String, name: String, arguments: [String] = [], namespace: String? = nil) throws {
        stdoutPath = "\(directory)/\(name).out"
        stderrPath = "\(directory)/\(name).err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let coop = try ChildProcess.product("coop")
        let run = ["node", "run", "--config", config] + arguments
        process = try SpawnedProcess(
            namespace == nil ? coop : "/usr/sbin/ip",
            namespace.map { ["netns", "exec", $0, coop] + run } ?? run,
            standardOutput: .file(stdoutPath),
            standardError: .file(stderrPath)
        )
    }

    // A test that ends early (a failed `#require`, a thrown error) must not leave its node running: the
    // `SpawnedProcess` kills (SIGKILL) and reaps it when it goes away with this value.

    var pid: Int32 { process.pid }
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for the readiness line; returns it (throws when the process ends first or after `timeout`).
    @discardableResult
    func ready(timeout: Duration = .seconds(120)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        func readiness() -> String? {
            guard let line = stdout.split(separator: "\n").first(where: { $0.contains(" ready: serving ") }) else {
                return nil
            }
            endpoint = String(line.split(separator: " ").first { $0.hasPrefix("tcp://") } ?? "")
                .trimmingCharacters(in: CharacterSet(charactersIn: ";,"))
            return String(line)
        }
        while ContinuousClock.now < deadline {
            if let line = readiness() { return line }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        // Once more: a test task starved of the shared pool (other tests' blocking waits on child processes) can
        // wake up past the deadline although the node was ready long before (seen in CI under load).
        if let line = readiness() { return line }
        let state = process.termination.map { "ended: \($0)" } ?? "still running"
        throw NodeProcessError(
            message:
                "the node did not become ready within \(timeout) (\(state)); stdout:\n\(stdout)\nstderr:\n\(stderr)"
        )
    }

    func signal(_ signal: Int32) { process.send(signal) }

    /// Waits for the process to end; its exit status, or `nil` after `timeout`.
    func exit(timeout: Duration = .seconds(60)) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        return process.terminationStatus
    }

    var terminatedBySignal: Bool { process.terminationSignal != nil }

    /// Resident memory in KiB (VmRSS), or `nil` once the process is gone.
    func residentKiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }

    /// User + system CPU time of the process so far, in seconds (/proc/PID/stat); 0 when it cannot be read.
    func cpuSeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

struct NodeProcessError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
