import CoopSegments
import CoopTestKit
import Dispatch
import Foundation
import Synchronization
import Testing

@Suite("Worker threads")
struct WorkerThreadsTests {
    @Test("every piece of work runs, on the pool's threads; close waits for it and joins the threads")
    func runsAndJoins() {
        let workers = WorkerThreads(count: 2, name: "tst-runs")
        #expect(ThreadNames.named("tst-runs").sorted() == ["tst-runs-0", "tst-runs-1"])
        let done = Atomic<Int>(0)
        let onCaller = Atomic<Int>(0)
        let caller = pthread_self()
        for _ in 0..<1_000 {
            workers.submit {
                if pthread_equal(pthread_self(), caller) != 0 { onCaller.add(1, ordering: .relaxed) }
                usleep(10)
                done.add(1, ordering: .relaxed)
            }
        }
        workers.close()
        #expect(done.load(ordering: .relaxed) == 1_000)
        #expect(onCaller.load(ordering: .relaxed) == 0)
        #expect(ThreadNames.gone("tst-runs"))
    }

    /// Two pieces of work that can only finish together: each waits (up to 10 s) for the other to have started.
    @Test("the threads run at once, while the submitting thread keeps a core busy")
    func parallel() {
        let workers = WorkerThreads(count: 2, name: "tst-par")
        let arrived = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let met = Atomic<Int>(0)
        workers.submit {
            arrived.0.signal()
            if arrived.1.wait(timeout: .now() + 10) == .success { met.add(1, ordering: .relaxed) }
        }
        workers.submit {
            arrived.1.signal()
            if arrived.0.wait(timeout: .now() + 10) == .success { met.add(1, ordering: .relaxed) }
        }
        let deadline = Date().addingTimeInterval(10)
        while met.load(ordering: .relaxed) < 2 && Date() < deadline {}
        workers.close()
        #expect(met.load(ordering: .relaxed) == 2)
    }

    @Test("when the system refuses every thread, work runs on the caller and close returns (no hang)")
    func noThreads() {
        let workers = WorkerThreads(count: 2, name: "tst-none", spawn: { _ in false })
        #expect(workers.count == 0)
        let caller = pthread_self()
        let onCaller = Atomic<Int>(0)
        for _ in 0..<10 {
            workers.submit { if pthread_equal(pthread_self(), caller) != 0 { onCaller.add(1, ordering: .relaxed) } }
        }
        workers.close()
        #expect(onCaller.load(ordering: .relaxed) == 10)
    }

    @Test("when the system refuses the second thread, the first does all the work")
    func fewerThreads() {
        let allowed = Atomic<Int>(1)
        let workers = WorkerThreads(count: 3, name: "tst-few") { body in
            guard allowed.subtract(1, ordering: .relaxed).newValue >= 0 else { return false }
            return WorkerThreads.spawnThread(body)
        }
        #expect(workers.count == 1)
        #expect(ThreadNames.named("tst-few") == ["tst-few-0"])
        let caller = pthread_self()
        let done = Atomic<Int>(0)
        let onCaller = Atomic<Int>(0)
        for _ in 0..<100 {
            workers.submit {
                if pthread_equal(pthread_self(), caller) != 0 { onCaller.add(1, ordering: .relaxed) }
                done.add(1, ordering: .relaxed)
            }
        }
        workers.close()
        #expect(done.load(ordering: .relaxed) == 100)
        #expect(onCaller.load(ordering: .relaxed) == 0)
        #expect(ThreadNames.gone("tst-few"))
    }
}
