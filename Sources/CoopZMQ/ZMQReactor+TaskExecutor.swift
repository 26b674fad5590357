import Dispatch

/// The reactor as a Swift `TaskExecutor`: a task that prefers it (`Task(executorPreference: reactor)`,
/// `withTaskExecutorPreference(reactor)`) runs its jobs on the reactor's thread, between the reactor's polls, like
/// queued work (``ZMQReactor/execute(_:)``).
///
/// **Threading.** What such a task does runs on the thread that owns the reactor's sockets, so its sends through
/// ``ZMQReactor/executeInline(_:)`` happen at once and the answers it awaits resume it there, without a thread
/// hand-off either way (grpc-java's "direct executor"). The price: while its code runs, the reactor polls no socket.
/// Only code that never blocks and does little work between suspensions belongs there; a task that blocks the thread
/// (a semaphore, a synchronous wait for the reactor itself, long file I/O or computation) stalls every socket of the
/// reactor, and one that waits synchronously for the reactor deadlocks it.
///
/// **Shutdown.** Jobs that reach a reactor that has shut down run on the global concurrent executor instead, so a
/// task that prefers a stopped reactor still finishes (off the reactor: it must not touch the reactor's sockets,
/// which are closed anyway).
extension ZMQReactor: TaskExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let queued = execute { [self] _ in job.runSynchronously(on: self.asUnownedTaskExecutor()) }
        if !queued {
            DispatchQueue.global().async {
                job.runSynchronously(on: globalConcurrentExecutor.asUnownedTaskExecutor())
            }
        }
    }
}
