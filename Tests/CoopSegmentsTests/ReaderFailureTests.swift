import CoopTestKit
import Foundation
import Testing

@testable import CoopSegments

#if canImport(Glibc)
import Glibc
#endif

/// Readers whose files shrink under them: a clear error naming the file and offset, never a signal.
@Suite("SegmentedLog: readers and files that shrink")
struct ReaderFailureTests {
    /// Cuts `path` to `length` bytes on another thread when `cut()` is called, and waits until it is done.
    final class Truncator: Sendable {
        let path: String
        let length: Int64
        private let start = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)

        init(path: String, length: Int64) {
            self.path = path
            self.length = length
            Thread.detachNewThread { [self] in
                start.wait()
                let fd = open(path, O_WRONLY)
                precondition(fd >= 0, "cannot open \(path)")
                precondition(ftruncate(fd, off_t(length)) == 0, "cannot truncate \(path)")
                close(fd)
                done.signal()
            }
        }

        func cut() {
            start.signal()
            done.wait()
        }
    }

    @Test(
        "a segment truncated while a reader reads it ends the read with an error naming the file, no crash",
        arguments: ["SegmentedLog.forEachRecord", "LogReader.forEachRecord"],
        [1 << 20, (1 << 20) + 100, 200_000]
    )
    func truncatedUnderReader(reader: String, cutTo: Int64) async throws {
        try await withTemporaryDirectory { directory in
            let log = try SegmentedLog.open(directory: directory.path, options: fastOptions())
            let record = [UInt8](repeating: 0x5A, count: 1000)
            for _ in 0..<20 {
                _ = try await log.append([[UInt8]](repeating: record, count: 1000))
            }
            let path = directory.segmentPath(1)
            let truncator = Truncator(path: path, length: cutTo)
            var seen = 0
            let body: (RecordPosition, UnsafeRawBufferPointer) throws -> Void = { _, payload in
                #expect(payload.count == 1000 && payload.allSatisfy { $0 == 0x5A })
                seen += 1
                if seen == 100 { truncator.cut() }
            }
            let error = #expect(throws: LogError.self) {
                if reader == "LogReader.forEachRecord" {
                    try LogReader.open(directory: directory.path).forEachRecord(body)
                } else {
                    try log.forEachRecord(body)
                }
            }
            #expect(error?.code == .corrupt || error?.code == .io, "\(String(describing: error))")
            #expect(error?.path == path)
            #expect(error?.message.contains(path) == true)
            #expect(error?.offset != nil)
            // The error says where the file ends now, also when it was cut below what the reader had buffered.
            if error?.code == .corrupt {
                #expect(error?.offset == UInt64(cutTo), "\(String(describing: error))")
                #expect(
                    error?.message.contains("ends at byte offset \(cutTo),") == true,
                    "\(String(describing: error))"
                )
            }
            #expect(seen < 20_000)
            print("reader on a truncated file: \(seen) records, then \(String(describing: error))")
            try await log.close()
        }
    }
}
