import Dispatch
import Foundation
import Synchronization

/// Threads of its own that run submitted work in submission order, for CPU-bound work that must keep every core
/// busy: decoding and verifying log records while one thread folds the results.
///
/// Threading: ``submit(_:)`` and ``close()`` may be called from any thread but the pool's own (``close()`` from a
/// piece of its work would wait for itself); the work runs on the pool's threads, several pieces at once. The pool
/// must be closed (its threads hold it): ``close()`` waits for the work submitted before it, and for every thread to
/// leave its loop.
///
/// Why not Dispatch's shared pool: measured on this machine (2 cores), `DispatchQueue.concurrentPerform` started from
/// a `DispatchQueue.global()` block kept 1.41–1.64 of 2 cores busy in replay and `coop audit verify`. The shared
/// pool counts the folding thread (a pool thread too, when called from Swift concurrency) against its width, so one
/// decoding thread waited while the folder ran. These threads are not counted by anyone; the kernel shares the cores
/// between them and the folder.
package final class WorkerThreads: Sendable {
    /// Work waiting for a thread, oldest first.
    private struct Queue {
        var items: [@Sendable () -> Void] = []
        var head = 0
        var closed = false

        mutating func pop() -> (@Sendable () -> Void)? {
            guard head < items.count else { return nil }
            let item = items[head]
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            }
            return item
        }
    }

    /// The number of threads.
    package let count: Int
    private let queue = Mutex(Queue())
    /// One signal per submitted piece of work, and one per thread at close.
    private let ready = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)

    /// Starts `count` threads (at least one) named `name-0`, `name-1`, …, and returns once they run.
    package init(count: Int = ProcessInfo.processInfo.activeProcessorCount, name: String = "coop-work") {
        self.count = max(1, count)
        let started = DispatchSemaphore(value: 0)
        for i in 0..<self.count {
            let threadName = "\(name)-\(i)"
            let thread = Thread { [self] in
                Self.nameCurrentThread(threadName)
                started.signal()
                run()
            }
            thread.start()
        }
        for _ in 0..<self.count { started.wait() }
    }

    /// Runs `work` on one of the threads, after the work submitted before it has started. Must not be called after
    /// ``close()``.
    package func submit(_ work: @escaping @Sendable () -> Void) {
        queue.withLock {
            precondition(!$0.closed, "work submitted to closed WorkerThreads")
            $0.items.append(work)
        }
        ready.signal()
    }

    /// Waits for every piece of work submitted so far to finish, then for every thread to leave its loop (each exits
    /// right after). Call once, and not from the pool's work.
    package func close() {
        queue.withLock {
            precondition(!$0.closed, "WorkerThreads closed twice")
            $0.closed = true
        }
        for _ in 0..<count { ready.signal() }
        for _ in 0..<count { exited.wait() }
    }

    /// Names the calling thread as `top -H` and /proc show it (Linux keeps 15 bytes). Foundation's `Thread.name`
    /// does not reliably reach the kernel on Linux, and `pthread_setname_np` is not visible to Swift without
    /// `_GNU_SOURCE`; a thread may rename itself through /proc. Best effort: a failure leaves the name as it was.
    private static func nameCurrentThread(_ name: String) {
        guard let fd = try? Syscall.openFile("/proc/thread-self/comm", O_WRONLY) else { return }
        defer { Syscall.closeFile(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// A thread's loop: each signal is either a piece of work or, once the queue is empty and closed, the end.
    private func run() {
        while true {
            ready.wait()
            guard let work = queue.withLock({ $0.pop() }) else { break }
            work()
        }
        exited.signal()
    }
}
