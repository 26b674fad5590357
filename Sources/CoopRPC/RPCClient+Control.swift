/// Credit and cancel messages. Both must reach the server: a lost credit leaves a stream waiting for its deadline (a
/// watch without one, for ever), a lost cancel leaves the server's handler running. One that a full connection refuses
/// (`ZMQ_SNDHWM` reached: ``RPCSendResult/wouldBlock``) waits here and goes when the connection is writable again.
extension RPCClient {
    /// A control message owed to the server for one call.
    enum Control: Sendable, Equatable {
        /// More stream credit; what waits for one call is added up.
        case credit(UInt64)
        /// The call ended on this side; credit still waiting for it is dropped.
        case cancel
    }

    /// Control messages a full connection refused, one per call, oldest first. Bounded by the calls of one connection:
    /// each call owes at most one (merged), and all are dropped when the connection is replaced (the server forgets
    /// that connection's calls).
    struct OwedControl {
        private(set) var byCall: [UInt64: Control] = [:]
        private(set) var order: [UInt64] = []
        /// A send was refused since the last ``RPCClientTransportEvent/writable``: trying again before it would only
        /// be refused again (and would cost a send per waiting message for every new call).
        var blocked = false

        var isEmpty: Bool { order.isEmpty }
        var count: Int { order.count }

        /// Adds `control` for `callID`, merged with what the call already owes.
        mutating func owe(_ callID: UInt64, _ control: Control) {
            switch (byCall[callID], control) {
            case (nil, _):
                byCall[callID] = control
                order.append(callID)
            case (.credit(let owed)?, .credit(let more)):
                byCall[callID] = .credit(owed + more)
            case (_, .cancel):
                byCall[callID] = .cancel
            case (.cancel?, .credit):
                break
            }
        }

        /// Everything owed, oldest first; leaves nothing.
        mutating func takeAll() -> [(UInt64, Control)] {
            defer { self = OwedControl() }
            return order.map { ($0, byCall[$0]!) }
        }
    }

    /// Sends `control` for `callID` on the current connection. Refused because the connection is full, it waits for
    /// ``RPCClientTransportEvent/writable``; behind others that wait, it waits too (a call's messages keep their order).
    func sendControl(_ callID: UInt64, _ control: Control) {
        let epoch: UInt64? = state.withLock { s in
            guard !s.closed else { return nil }
            guard s.owed.isEmpty else {
                s.owed.owe(callID, control)
                return nil
            }
            return s.epoch
        }
        guard let epoch else { return }
        send(callID, control, on: epoch)
    }

    /// Sends what waits, oldest first (from ``flush()``: on ``RPCClientTransportEvent/writable``, `writable` true,
    /// and before new requests while no send was refused since). Credit for a call no longer in flight is dropped.
    func flushControl(writable: Bool = false) {
        let (owed, epoch): ([(UInt64, Control)], UInt64) = state.withLock { s in
            if writable { s.owed.blocked = false }
            guard s.connected, !s.closed, !s.owed.isEmpty, !s.owed.blocked else { return ([], s.epoch) }
            let owed = s.owed.takeAll().filter { id, control in control == .cancel || s.calls[id] != nil }
            return (owed, s.epoch)
        }
        for (callID, control) in owed { send(callID, control, on: epoch) }
    }

    /// Control messages that wait for the connection to take them (for tests).
    package var controlWaiting: Int { state.withLock { $0.owed.count } }

    /// Requests the connection refused so far, as full or absent (for tests: a refusal shows the queue was full).
    package var requestsRefused: Int { state.withLock { $0.requestsRefused } }

    private func send(_ callID: UInt64, _ control: Control, on epoch: UInt64) {
        switch control {
        case .cancel:
            send(RPCFrames.encode(.cancel(callID: callID)), owing: (callID, control), on: epoch)
        case .credit(var amount):
            // What waited may add up past one message's 32 bits: then it goes as several.
            while amount > 0 {
                let part = UInt32(clamping: amount)
                amount -= UInt64(part)
                send(
                    RPCFrames.encode(.credit(callID: callID, credit: part)),
                    owing: (callID, .credit(UInt64(part))),
                    on: epoch
                )
            }
        }
    }

    /// Hands `frames` to the transport; if the connection `epoch` refuses them as full, `owing` waits.
    private func send(_ frames: [[UInt8]], owing: (UInt64, Control), on epoch: UInt64) {
        transport.send(frames) { [weak self] result in
            guard result == .wouldBlock, let self else { return }
            self.state.withLock { s in
                guard s.epoch == epoch, !s.closed else { return }
                s.owed.owe(owing.0, owing.1)
                s.owed.blocked = true
            }
        }
    }
}
