public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SpawnedProcess {
    /// What ``communicate(input:until:)`` read.
    public struct Output: Sendable {
        /// Standard output, as far as it was read.
        public var stdout: [UInt8]
        /// Standard error, as far as it was read.
        public var stderr: [UInt8]
        /// False when the deadline came before both outputs reached their end (the child may still run).
        public var complete: Bool

        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Writes `input` to the child's standard input and reads its standard output and error to their ends, all at
    /// once with `poll` on the calling thread, so that a child blocked on one full pipe never deadlocks against a
    /// parent blocked on another. Streams that are not ``Stream/pipe`` are left alone (then `input` must be empty).
    /// Returns at the end of both outputs, or at `deadline`; the pipe ends are closed by then. Does not wait for the
    /// child to exit (``waitUntilExit()`` does).
    @available(*, noasync, message: "blocks the thread until the child closes its outputs")
    public func communicate(input: [UInt8] = [], until deadline: ContinuousClock.Instant? = nil) -> Output {
        Self.communicate(
            input: input,
            to: standardInput,
            from: standardOutput,
            and: standardError,
            until: deadline
        )
    }

    /// ``communicate(input:until:)`` on any three handles (a terminal's master side may stand in for standard
    /// error: its end reads as `EIO`, which counts as the end). Each handle is closed when done with: `inputHandle`
    /// once all of `input` is written or its reader has gone, the outputs at their end; all of them at `deadline`.
    /// SIGPIPE from a write to a reader that has gone is kept from this process (blocked on this thread meanwhile).
    @available(*, noasync, message: "blocks the thread until the outputs end")
    public static func communicate(
        input: [UInt8],
        to inputHandle: FileHandle?,
        from outputHandle: FileHandle?,
        and errorHandle: FileHandle?,
        until deadline: ContinuousClock.Instant? = nil
    ) -> Output {
        precondition(input.isEmpty || inputHandle != nil, "input for a child whose standard input is not a pipe")
        var streams = Streams(handles: [inputHandle, outputHandle, errorHandle], input: input)
        let complete = withoutBrokenPipeSignal { streams.pump(until: deadline) }
        streams.closeAll()
        return Output(stdout: streams.output[1], stderr: streams.output[2], complete: complete)
    }

    /// Runs `body` with SIGPIPE blocked on this thread; a SIGPIPE that `body`'s writes raised is taken off again.
    private static func withoutBrokenPipeSignal<T>(_ body: () -> (T, brokenPipe: Bool)) -> T {
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        var saved = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &saved)
        let (result, brokenPipe) = body()
        if brokenPipe && sigismember(&saved, SIGPIPE) == 0 {
            var pending = sigset_t()
            sigpending(&pending)
            if sigismember(&pending, SIGPIPE) == 1 {
                #if canImport(Glibc)
                var now = timespec(tv_sec: 0, tv_nsec: 0)
                _ = sigtimedwait(&pipeSignal, nil, &now)
                #else
                var taken: Int32 = 0
                _ = sigwait(&pipeSignal, &taken)
                #endif
            }
        }
        pthread_sigmask(SIG_SETMASK, &saved, nil)
        return result
    }

    /// Standard input, output and error of a child as this process sees them, moved by `poll`.
    private struct Streams {
        var handles: [FileHandle?]
        /// The handles' descriptors; -1 once done with.
        var fds: [Int32]
        let input: [UInt8]
        var written = 0
        /// Indexed like `fds`; [0] stays empty.
        var output: [[UInt8]] = [[], [], []]

        init(handles: [FileHandle?], input: [UInt8]) {
            self.handles = handles
            self.input = input
            fds = handles.map { $0?.fileDescriptor ?? -1 }
            if input.isEmpty {
                shut(0)
            } else {
                _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
            }
        }

        /// Until every stream is done with; false when `deadline` came first. Also says whether a write met a
        /// reader that had gone.
        mutating func pump(until deadline: ContinuousClock.Instant?) -> (Bool, brokenPipe: Bool) {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            var brokenPipe = false
            while fds.contains(where: { $0 >= 0 }) {
                var milliseconds: Int32 = 1000
                if let deadline {
                    let left = deadline - ContinuousClock.now
                    guard left > .zero else { return (false, brokenPipe) }
                    milliseconds = Int32(min((left / .milliseconds(1)).rounded(.up), 1000))
                }
                // poll ignores entries whose descriptor is negative.
                var polled = fds.enumerated().map { index, fd in
                    pollfd(fd: fd, events: Int16(index == 0 ? POLLOUT : POLLIN), revents: 0)
                }
                let ready = poll(&polled, nfds_t(polled.count), milliseconds)
                if ready < 0 && errno != EINTR { return (false, brokenPipe) }
                if ready <= 0 { continue }
                if fds[0] >= 0 && polled[0].revents != 0 && !writeInput() { brokenPipe = true }
                for index in 1...2 where fds[index] >= 0 && polled[index].revents != 0 {
                    let count = buffer.withUnsafeMutableBytes { read(fds[index], $0.baseAddress, $0.count) }
                    if count > 0 {
                        output[index] += buffer[..<count]
                    } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                        // 0: end of file; EIO: a terminal's slave side was closed.
                        shut(index)
                    }
                }
            }
            return (true, brokenPipe)
        }

        /// Writes what the pipe takes; false when the reader has gone (EPIPE).
        private mutating func writeInput() -> Bool {
            let count = input.withUnsafeBytes { write(fds[0], $0.baseAddress! + written, $0.count - written) }
            if count > 0 {
                written += count
                if written == input.count { shut(0) }
            } else if errno != EINTR && errno != EAGAIN {
                let brokenPipe = errno == EPIPE
                shut(0)
                return !brokenPipe
            }
            return true
        }

        mutating func shut(_ index: Int) {
            if fds[index] >= 0 { try? handles[index]?.close() }
            fds[index] = -1
        }

        mutating func closeAll() {
            for index in fds.indices { shut(index) }
        }
    }
}
