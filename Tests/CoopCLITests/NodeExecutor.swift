import Dispatch
import Foundation
import Synchronization

/// The executor the test nodes' tasks run on: one thread of its own, so that a node answers its clients however busy
/// Swift Testing's shared pool is. On Linux that pool is also Dispatch's global pool, and tests that wait there for
/// child processes (``ChildProcess/run(_:_:stdin:currentDirectory:)`` blocks) can hold every thread of it for
/// seconds; a node running there would answer only after its clients' deadlines.
///
/// **Threading.** `enqueue` may be called from any thread; jobs run one at a time, in order, on the executor's thread.
/// The node's handlers never block, so one thread serves every node of the test process.
final class NodeExecutor: TaskExecutor {
    /// The executor of every test node.
    static let shared = NodeExecutor()

    private let jobs = Mutex<[UnownedJob]>([])
    private let ready = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [self] in run() }
        thread.name = "test-node"
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
        ready.signal()
    }

    private func run() {
        while true {
            ready.wait()
            guard let job = jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { continue }
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
