import CoopProcess
import Foundation

/// Runs programs as real child processes and collects their output.
public enum ChildProcess {
    /// What a finished process left.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: String
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// As ``run(_:_:stdin:currentDirectory:)``, but waits on a thread of its own rather than blocking a thread of
    /// the shared concurrency pool (which has one thread per core: two blocked waits would stall every other test).
    public static func runOffPool(
        _ executable: String,
        _ arguments: [String],
        stdin: [UInt8] = [],
        currentDirectory: String? = nil
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Swift.Result {
                        try run(executable, arguments, stdin: stdin, currentDirectory: currentDirectory)
                    }
                )
            }
        }
    }

    /// Runs `executable` with `arguments`, feeding `stdin`, and waits for it. Both outputs are read at once (no
    /// deadlock on a full pipe). Blocks the calling thread.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        stdin: [UInt8] = [],
        currentDirectory: String? = nil
    ) throws -> Result {
        let process = try SpawnedProcess(
            executable,
            arguments,
            currentDirectory: currentDirectory,
            standardInput: .pipe,
            standardOutput: .pipe,
            standardError: .pipe
        )
        let output = process.communicate(input: stdin)
        return Result(
            status: process.waitUntilExit().status,
            stdout: output.stdout,
            stderr: output.stderrText
        )
    }

    /// The directory holding the built products (`coop`, test bundles): next to the running test binary.
    public static var productsDirectory: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    }

    /// Path of a built executable of this package, e.g. `coop`.
    public static func product(_ name: String) throws -> String {
        let candidates = [
            "\(productsDirectory)/\(name)",
            URL(fileURLWithPath: productsDirectory).deletingLastPathComponent().path + "/\(name)",
        ]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw POSIXError(
                .ENOENT,
                userInfo: [NSLocalizedDescriptionKey: "\(name) not built; looked in \(candidates)"]
            )
        }
        return found
    }

    /// The repository root (for `deploy/`, `proto/` and scripts).
    public static func repositoryRoot(file: String = #filePath) -> String {
        var url = URL(fileURLWithPath: file)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url.path
            }
        }
        return FileManager.default.currentDirectoryPath
    }
}
