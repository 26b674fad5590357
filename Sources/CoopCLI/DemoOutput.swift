#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The lines `coop demo` prints, written with write(2) and never failing: when the reader of standard output goes
/// away (`coop demo | head`), the demo must still stop its nodes, not die of SIGPIPE (ignored, see
/// ``NodeProcesses/stopOnSignals()``) or of a failed write. Thread-safe (one write(2) a line).
enum DemoOutput {
    /// `text` and a newline on standard output; lost if nobody reads it.
    static func out(_ text: String) { write(1, text + "\n") }

    /// `text` and a newline on standard error; lost if nobody reads it.
    static func err(_ text: String) { write(2, text + "\n") }

    private static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { buffer in
                #if canImport(Glibc)
                Glibc.write(fd, buffer.baseAddress, buffer.count)
                #else
                Darwin.write(fd, buffer.baseAddress, buffer.count)
                #endif
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
