import Synchronization

/// Wakes one waiting task: ``signal()`` from anywhere, ``wait(timeout:)`` in the owner's loop. A signal that arrives
/// while nobody waits is kept, so none is lost. Spurious wake-ups are possible (the caller re-checks its state).
///
/// **Threading.** `Sendable`; one task waits at a time.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func signal() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { s in
            guard let w = s.waiter else {
                s.pending = true
                return nil
            }
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }

    /// Returns after a signal, after `timeout` (`nil`: only on a signal), or when the task is cancelled.
    func wait(timeout: Duration?) async {
        let timer = timeout.map { timeout in
            Task { [weak self] in
                // Cancelled (the wait ended by a signal): no signal. One left pending would end the next wait at
                // once, whose cancelled timer would leave another: the peer link would spin on a core for good.
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                self?.signal()
            }
        }
        defer { timer?.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now: Bool = state.withLock { s in
                    if s.pending || Task.isCancelled {
                        s.pending = false
                        return true
                    }
                    s.waiter = c
                    return false
                }
                if now { c.resume() }
            }
        } onCancel: {
            signal()
        }
    }
}
