import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Threads of its own that run submitted work in submission order, for CPU-bound work that must keep every core
/// busy: decoding and verifying log records while one thread folds the results.
///
/// Threading: ``submit(_:)`` and ``close()`` may be called from any thread but the pool's own (``close()`` from a
/// piece of its work would wait for itself); the work runs on the pool's threads, several pieces at once. The pool
/// must be closed (its threads hold its queue): ``close()`` waits for the work submitted before it, and for every
/// thread to leave its loop.
///
/// When the system refuses to start a thread (`pthread_create` fails: the process or user is out of threads), the
/// pool runs with the threads it got; with none, ``submit(_:)`` runs each piece of work on the caller. Slower, never
/// a hang.
///
/// Why not Dispatch's shared pool: measured on this machine (2 cores), `DispatchQueue.concurrentPerform` started from
/// a `DispatchQueue.global()` block kept 1.41–1.64 of 2 cores busy in replay and `coop audit verify`. The shared
/// pool counts the folding thread (a pool thread too, when called from Swift concurrency) against its width, so one
/// decoding thread waited while the folder ran. These threads are not counted by anyone; the kernel shares the cores
/// between them and the folder.
package final class WorkerThreads: Sendable {
    /// Starts a detached thread running `body`; whether it started. (A parameter of ``init(count:name:spawn:)`` so
    /// that tests can refuse threads.)
    package typealias Spawn = (@escaping @Sendable () -> Void) -> Bool

    /// The number of threads running (fewer than asked when the system refused some; 0: work runs on the caller).
    package let count: Int
    private let shared = Shared()

    /// Starts `count` threads (at least one is asked for) named `name-0`, `name-1`, …, and returns once they run.
    package init(
        count: Int = ProcessInfo.processInfo.activeProcessorCount,
        name: String = "coop-work",
        spawn: Spawn = WorkerThreads.spawnThread
    ) {
        let started = DispatchSemaphore(value: 0)
        var running = 0
        for i in 0..<max(1, count) {
            let threadName = "\(name)-\(i)"
            let ok = spawn { [shared] in
                Self.nameCurrentThread(threadName)
                started.signal()
                shared.run()
            }
            guard ok else { break }
            running += 1
        }
        for _ in 0..<running { started.wait() }
        self.count = running
    }

    /// Runs `work` on one of the threads, after the work submitted before it has started (on the caller, at once,
    /// when no thread started). Must not be called after ``close()``.
    package func submit(_ work: @escaping @Sendable () -> Void) {
        guard count > 0 else {
            precondition(!shared.queue.withLock { $0.closed }, "work submitted to closed WorkerThreads")
            work()
            return
        }
        shared.queue.withLock {
            precondition(!$0.closed, "work submitted to closed WorkerThreads")
            $0.items.append(work)
        }
        shared.ready.signal()
    }

    /// Waits for every piece of work submitted so far to finish, then for every thread to leave its loop (each exits
    /// right after). Call once, and not from the pool's work.
    package func close() {
        shared.queue.withLock {
            precondition(!$0.closed, "WorkerThreads closed twice")
            $0.closed = true
        }
        for _ in 0..<count { shared.ready.signal() }
        for _ in 0..<count { shared.exited.wait() }
    }

    /// Starts a detached POSIX thread running `body`; false when `pthread_create` refuses. (Foundation's `Thread`
    /// gives no sign when the thread cannot be created, and a pool waiting for it to start would hang.)
    package static func spawnThread(_ body: @escaping @Sendable () -> Void) -> Bool {
        let start = Unmanaged.passRetained(ThreadStart(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let result = pthread_create(
            &thread,
            &attributes,
            { raw in
                guard let raw else { return nil }
                Unmanaged<ThreadStart>.fromOpaque(raw).takeRetainedValue().body()
                return nil
            },
            start
        )
        guard result == 0 else {
            Unmanaged<ThreadStart>.fromOpaque(start).release()
            return false
        }
        return true
    }

    /// Names the calling thread as `top -H` and /proc show it (Linux keeps 15 bytes). `pthread_setname_np` is not
    /// visible to Swift without `_GNU_SOURCE`; a thread may rename itself through /proc. Best effort: a failure
    /// leaves the name as it was.
    private static func nameCurrentThread(_ name: String) {
        guard let fd = try? Syscall.openFile("/proc/thread-self/comm", O_WRONLY) else { return }
        defer { Syscall.closeFile(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}

/// What a new thread runs, handed to `pthread_create` as one retained reference.
private final class ThreadStart {
    let body: @Sendable () -> Void

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
    }
}

/// The queue and signals the pool's threads share (they hold this, not the pool).
private final class Shared: Sendable {
    /// Work waiting for a thread, oldest first.
    struct Queue {
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

    let queue = Mutex(Queue())
    /// One signal per submitted piece of work, and one per thread at close.
    let ready = DispatchSemaphore(value: 0)
    let exited = DispatchSemaphore(value: 0)

    /// A thread's loop: each signal is either a piece of work or, once the queue is empty and closed, the end.
    func run() {
        while true {
            ready.wait()
            guard let work = queue.withLock({ $0.pop() }) else { break }
            work()
        }
        exited.signal()
    }
}
