import Dispatch
import Foundation

/// Seed corpora come from the targets themselves: run a target with `COOP_FUZZ_WRITE_SEEDS=DIR` and its
/// `LLVMFuzzerInitialize` writes its seeds (valid inputs made from real data) into DIR and exits.
/// `scripts/fuzz.sh --make-seeds` does that for every target and minimizes the result into `Fuzz/Corpus/`.
public enum Seeds {
    /// One seed: a file name (without the `seed-` prefix) and its bytes.
    public struct Seed {
        public var name: String
        public var bytes: [UInt8]

        public init(_ name: String, _ bytes: [UInt8]) {
            self.name = name
            self.bytes = bytes
        }
    }

    /// When `COOP_FUZZ_WRITE_SEEDS` names a folder, writes the seeds `make` returns there and exits the process
    /// (status 0, or 2 on an error); when `COOP_FUZZ_WRITE_DICTIONARY` names a file and the target has a
    /// dictionary, writes it there (libFuzzer's `-dict` format) and exits; otherwise returns at once. Call it first
    /// thing in `LLVMFuzzerInitialize`.
    public static func writeIfAsked(
        target: String,
        dictionary: (() throws -> [String])? = nil,
        _ make: () throws -> [Seed]
    ) {
        if let path = ProcessInfo.processInfo.environment["COOP_FUZZ_WRITE_DICTIONARY"], !path.isEmpty {
            guard let dictionary else { finish(0) }
            do {
                let lines = try dictionary().map { entry in
                    "\""
                        + entry.utf8.map { b in
                            b == 0x22 || b == 0x5C || b < 0x20 || b > 0x7E
                                ? "\\x" + String(b, radix: 16).leftPadded(2) : String(UnicodeScalar(b))
                        }.joined() + "\""
                }
                try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
                print("\(target): wrote \(lines.count) dictionary entries to \(path)")
                finish(0)
            } catch {
                print("\(target): cannot write the dictionary \(path): \(error)")
                finish(2)
            }
        }
        guard let folder = ProcessInfo.processInfo.environment["COOP_FUZZ_WRITE_SEEDS"], !folder.isEmpty else {
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let seeds = try make()
            for seed in seeds {
                try Data(seed.bytes).write(to: URL(fileURLWithPath: folder + "/seed-" + seed.name))
            }
            print("\(target): wrote \(seeds.count) seeds to \(folder)")
            finish(0)
        } catch {
            print("\(target): cannot write seeds to \(folder): \(error)")
            finish(2)
        }
    }
}

/// Ends the process without the exit handlers: LeakSanitizer's would report what a process that stops in the
/// middle of its set-up still holds.
private func finish(_ status: Int32) -> Never {
    fflush(nil)
    _exit(status)
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}

/// Waits for async work from synchronous code (the fuzz entry points are synchronous C functions). Blocks the
/// calling thread; `body` runs on the global executor.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    Task {
        do {
            box.result = .success(try await body())
        } catch {
            box.result = .failure(error)
        }
        box.done.signal()
    }
    box.done.wait()
    return try box.result!.get()
}

/// The result of `runBlocking`'s task: written once by the task before `done.signal()`, read after `done.wait()`.
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    var result: Result<T, any Error>?
    let done = DispatchSemaphore(value: 0)
}

/// A fresh folder (mkdtemp) that is removed with everything in it when the value goes away.
public final class ScratchDirectory {
    public let path: String

    /// A new folder `coop-fuzz-XXXXXX` under `parent`.
    public init(in parent: String) throws {
        var template = Array((parent + "/coop-fuzz-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: parent])
        }
        path = String(cString: made)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Where scratch folders go: `COOP_FUZZ_TMPDIR`, else `/dev/shm` (memory: fsync costs nothing), else the
    /// system's temporary folder.
    public static let defaultParent: String = {
        if let dir = ProcessInfo.processInfo.environment["COOP_FUZZ_TMPDIR"], !dir.isEmpty { return dir }
        if access("/dev/shm", W_OK) == 0 { return "/dev/shm" }
        return NSTemporaryDirectory().hasSuffix("/")
            ? String(NSTemporaryDirectory().dropLast()) : NSTemporaryDirectory()
    }()
}
