import Foundation
import Testing

@testable import CoopSegments

/// The log's `LOCK`: a lock held only by a transient copy of the descriptor (what a child process being spawned
/// holds until its `exec`) does not refuse an open; a lock really held does, after a short wait.
@Suite("SegmentedLog: the lock file")
struct LockFileTests {
    @Test("a lock still held by a copy of a closed log's descriptor for a moment: the next open waits for it")
    func transientCopy() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.path + "/LOCK"
            let first = try Syscall.lockFile(path, logDirectory: directory.path)
            // A child being spawned holds a copy like this one until it execs.
            let copy = dup(first)
            #expect(copy >= 0)
            close(first)
            // Closed by a thread of its own (not a task: the open below blocks its thread while it waits).
            Thread.detachNewThread {
                usleep(40_000)
                close(copy)
            }
            // Refused at once without patience: the lock is held.
            let error = #expect(throws: LogError.self) {
                try Syscall.lockFile(path, logDirectory: directory.path, patience: .zero)
            }
            #expect(error?.code == .locked)
            // With it, the open succeeds once the copy is gone.
            let second = try Syscall.lockFile(path, logDirectory: directory.path)
            close(second)
        }
    }

    @Test("a lock really held is refused, naming the directory, after the short wait")
    func reallyHeld() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.path + "/LOCK"
            let held = try Syscall.lockFile(path, logDirectory: directory.path)
            defer { close(held) }
            let start = ContinuousClock.now
            let error = #expect(throws: LogError.self) { try Syscall.lockFile(path, logDirectory: directory.path) }
            #expect(error?.code == .locked)
            #expect(error?.message.contains(directory.path) == true)
            #expect(ContinuousClock.now - start >= Syscall.lockPatience)
        }
    }
}
