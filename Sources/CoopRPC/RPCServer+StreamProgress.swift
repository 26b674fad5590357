import CoopWire
import Synchronization

extension RPCServer {
    /// One server stream's way out: the order of its initial metadata, its messages and its last message, how many
    /// of its messages the transport holds but has not yet sent (its peer's queue is full), and its batches.
    ///
    /// **Batches** (docs/PROTOCOL.md, "Batches"). A message the handler sends is handed to the transport on its own
    /// context, after what runs there now (``RPCServerTransport/later(_:)``: on ZeroMQ the reactor's next turn), and
    /// only one server message of the stream is with the transport, outcome unknown, at a time. What the handler sends
    /// meanwhile waits here and goes as the next server message, up to the request's `batch` messages and
    /// ``batchBytes`` of them in one (packed into one frame when the request asked: docs/PROTOCOL.md, "Packed
    /// batches"). So a handler that runs ahead of its connection sends many messages per ZeroMQ message, and one that
    /// sends now and then sends each at once. (The in-memory transport runs `later` at once:
    /// there, every message goes alone.) When the call ends, what still waits goes at once, then its last message:
    /// all of it is with the transport before the call counts as ended, so a draining server that closes its
    /// transport then loses none of it.
    ///
    /// **Threading.** `Sendable`: the handler's task sends; the transport's completions (on its own context) send
    /// what waited.
    final class StreamProgress: Sendable {
        /// Messages a stream may have handed over and not yet seen sent before its next `send` waits: the server's
        /// memory per stream stays bounded even for a client that grants much credit and stops reading.
        static let unsentLimit = 256
        /// Bytes of such messages before the next `send` waits (a single larger message still goes, alone).
        static let unsentBytesLimit = 256 << 10
        /// The most bytes of messages in one batch; a larger message goes alone.
        static let batchBytes = 64 << 10

        private struct State {
            var headSent = false
            var messagesSent = false
            var unsent = 0
            var unsentBytes = 0
            var waiter: CheckedContinuation<Void, any Error>?
            /// A server message of the stream is with the transport, its outcome not known yet.
            var inFlight = false
            /// Messages handed over while one was in flight, oldest first.
            var pending: [[UInt8]] = []
        }

        private let state = Mutex(State())
        private let transport: any RPCServerTransport
        private let peer: [UInt8]
        private let callID: UInt64
        /// The `ResponseHeader` of every message of the stream (the call id alone), encoded once.
        private let dataHeader: [UInt8]
        /// The most messages in one server message: the request's `batch`, at least 1 and at most ``unsentLimit``.
        private let batch: Int
        /// A batch of two or more goes packed in one frame (the request's `packed`).
        private let packed: Bool

        init(transport: any RPCServerTransport, peer: [UInt8], callID: UInt64, batch: UInt32?, packed: Bool = false) {
            self.transport = transport
            self.peer = peer
            self.callID = callID
            self.dataHeader = ResponseHeader(callId: callID).wireBytes()
            self.batch = Int(max(1, min(batch ?? 1, UInt32(Self.unsentLimit))))
            self.packed = packed
        }

        /// Whether the handler may hand over another message now (``unsentLimit``, ``unsentBytesLimit``).
        private static func hasRoom(_ s: State) -> Bool {
            s.unsent <= unsentLimit && s.unsentBytes <= unsentBytesLimit
        }

        /// Marks the head sent; `false` when it may not be sent any more.
        func takeHead() -> Bool {
            state.withLock { s in
                guard !s.headSent && !s.messagesSent else { return false }
                s.headSent = true
                return true
            }
        }

        /// Sends one message of the stream (its credit taken): on the transport's next turn, with what else the
        /// handler sent by then, or after the server message in flight.
        func send(_ body: [UInt8]) {
            let start: Bool = state.withLock { s in
                s.messagesSent = true
                s.unsent += 1
                s.unsentBytes += body.count
                s.pending.append(body)
                defer { s.inFlight = true }
                return !s.inFlight
            }
            if start { transport.later { self.transmitPending() } }
        }

        /// Hands the oldest waiting messages to the transport, as one server message (none when ``finish(_:then:)``
        /// took them first).
        private func transmitPending() {
            let bodies = state.withLock { Self.takeBatch(&$0.pending, most: batch) }
            if !bodies.isEmpty { transmit(bodies) }
        }

        /// A header-only message that tells whether the client is still there, while the stream waits for credit.
        /// Not sent while a message is in flight: that one tells it, and a probe must not overtake it.
        func probe() {
            guard !state.withLock({ $0.inFlight }) else { return }
            transport.send(RPCFrames.encode(RPCServerMessage(callID: callID)), to: peer, then: nil)
        }

        /// Hands the call's last message to the transport, after the stream's messages still waiting (at once, in
        /// batches, without waiting for the server message in flight: the transport keeps one peer's messages in
        /// order). A turn of ``RPCServerTransport/later(_:)`` still to come then finds nothing to send.
        func finish(_ frames: [[UInt8]], then completion: @escaping @Sendable (RPCSendResult) -> Void) {
            let batches: [[[UInt8]]] = state.withLock { s in
                var batches: [[[UInt8]]] = []
                while !s.pending.isEmpty { batches.append(Self.takeBatch(&s.pending, most: batch)) }
                s.inFlight = true
                return batches
            }
            for bodies in batches { transmit(bodies) }
            transport.send(frames, to: peer, then: completion)
        }

        /// Hands `bodies` (one server message, not empty) to the transport.
        private func transmit(_ bodies: [[UInt8]]) {
            let count = bodies.count
            let bytes = bodies.reduce(0) { $0 + $1.count }
            let frames = RPCFrames.encodeBatch(callID: callID, dataHeader: dataHeader, bodies, packed: packed)
            transport.send(frames, to: peer) { _ in
                self.left(count, bytes: bytes)
            }
        }

        /// The transport is done with a server message of `count` stream messages (sent, or its peer is gone):
        /// a waiting handler may go on, and what waited goes next.
        private func left(_ count: Int, bytes: Int) {
            let (waiter, next): (CheckedContinuation<Void, any Error>?, [[UInt8]]) = state.withLock { s in
                s.unsent -= count
                s.unsentBytes -= bytes
                var waiter: CheckedContinuation<Void, any Error>?
                if Self.hasRoom(s) {
                    waiter = s.waiter
                    s.waiter = nil
                }
                let next = Self.takeBatch(&s.pending, most: batch)
                // Nothing waited: the next message starts a turn. (After `finish` nothing comes.)
                if next.isEmpty { s.inFlight = false }
                return (waiter, next)
            }
            waiter?.resume()
            if !next.isEmpty { transmit(next) }
        }

        /// The oldest waiting messages, as many as one server message takes: at most `most`, and at most
        /// ``batchBytes`` unless the first alone is larger.
        static func takeBatch(_ pending: inout [[UInt8]], most: Int) -> [[UInt8]] {
            var count = 0
            var bytes = 0
            for body in pending.prefix(most) {
                if count > 0 && bytes + body.count > batchBytes { break }
                count += 1
                bytes += body.count
            }
            defer { pending.removeFirst(count) }
            return Array(pending.prefix(count))
        }

        /// Returns once at most ``unsentLimit`` messages and ``unsentBytesLimit`` bytes are unsent; throws when the
        /// task is cancelled.
        nonisolated(nonsending) func waitForRoom() async throws {
            // The common case, without a continuation: there is room.
            if state.withLock({ Self.hasRoom($0) }) { return }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let ready: Result<Void, any Error>? = state.withLock { s in
                        if Self.hasRoom(s) { return .success(()) }
                        if Task.isCancelled { return .failure(CancellationError()) }
                        s.waiter = continuation
                        return nil
                    }
                    if let ready { continuation.resume(with: ready) }
                }
            } onCancel: {
                let waiter = state.withLock { s in
                    defer { s.waiter = nil }
                    return s.waiter
                }
                waiter?.resume(throwing: CancellationError())
            }
        }
    }
}
