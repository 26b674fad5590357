import CoopSegments
import Foundation
import Testing

@Suite("SegmentedLog: appending, reading, segments")
struct SegmentedLogTests {
    @Test("a new log is empty and has one header-only segment")
    func newLog() async throws {
        try await withTemporaryDirectory { directory in
            let log = try SegmentedLog.open(directory: directory.path)
            #expect(log.count == 0)
            #expect(log.recoveryReport.isClean)
            #expect(log.recoveryReport.createdSegments == ["00000001.seg"])
            #expect(try allPayloads(log).isEmpty)
            try await log.close()
            let header = try readFile(directory.segmentPath(1))
            #expect(header == Array("COOPLOG1".utf8) + [1, 0, 0, 0, 1, 0, 0, 0])
        }
    }

    @Test("records round-trip, including empty and 1 MiB records; frames are [length][CRC-32C][payload]")
    func roundTrip() async throws {
        try await withTemporaryDirectory { directory in
            var random = SeededGenerator(seed: 1)
            let records: [[UInt8]] = [[], [42], random.bytes(260), random.bytes(1 << 20), [], random.bytes(4097)]
            let log = try SegmentedLog.open(directory: directory.path)
            var positions: [RecordPosition] = []
            for record in records {
                positions.append(try await log.append(record))
            }
            #expect(positions.map(\.index) == Array(0..<UInt64(records.count)))
            #expect(positions.allSatisfy { $0.segment == 1 })
            #expect(positions[0].offset == 16)
            for i in 1..<positions.count {
                #expect(positions[i].offset == positions[i - 1].offset + 8 + UInt64(records[i - 1].count))
            }
            #expect(log.count == UInt64(records.count))
            var seen: [StoredRecord] = []
            try log.forEachRecord { position, payload in
                seen.append(StoredRecord(position: position, payload: Array(payload)))
            }
            #expect(seen.map(\.payload) == records)
            #expect(seen.map(\.position) == positions)
            try await log.close()

            // The frame of record 2 on disk.
            let file = try readFile(directory.segmentPath(1))
            let at = Int(positions[2].offset)
            let length = UInt32(260)
            #expect(Array(file[at..<at + 4]) == withUnsafeBytes(of: length.littleEndian) { Array($0) })
            let crc = CRC32C.checksum(withUnsafeBytes(of: length.littleEndian) { Array($0) } + records[2])
            #expect(Array(file[at + 4..<at + 8]) == withUnsafeBytes(of: crc.littleEndian) { Array($0) })
            #expect(Array(file[at + 8..<at + 8 + 260]) == records[2])
        }
    }

    @Test("a batch append keeps its records together and in order")
    func batchAppend() async throws {
        try await withTemporaryDirectory { directory in
            let log = try SegmentedLog.open(directory: directory.path, options: fastOptions())
            let first = try await log.append([[1], [2, 2], [3, 3, 3]])
            #expect(first.map(\.index) == [0, 1, 2])
            #expect(try await log.append([]).isEmpty)
            let second = try await log.append([[4]])
            #expect(second.map(\.index) == [3])
            #expect(try allPayloads(log) == [[1], [2, 2], [3, 3, 3], [4]])
            try await log.close()
        }
    }

    @Test("segments roll over at the configured size, are sealed, and reading crosses them")
    func rollover() async throws {
        try await withTemporaryDirectory { directory in
            var random = SeededGenerator(seed: 2)
            let records = (0..<200).map { _ in random.bytes(Int.random(in: 0..<300, using: &random)) }
            let log = try SegmentedLog.open(directory: directory.path, options: fastOptions(segmentSize: 4096))
            var positions: [RecordPosition] = []
            for chunk in stride(from: 0, to: records.count, by: 7) {
                positions += try await log.append(Array(records[chunk..<min(chunk + 7, records.count)]))
            }
            let segments = Set(positions.map(\.segment))
            #expect(segments.count > 5)
            #expect(segments == Set(1...UInt32(segments.count)))
            #expect(log.statistics.segmentsCreated == UInt64(segments.count - 1))
            #expect(try allPayloads(log) == records)
            for from in [0, 1, 57, 58, 150, 199, 200, 500] {
                let tail = try log.records(from: UInt64(from))
                #expect(tail.map(\.payload) == Array(records[min(from, records.count)...]))
                #expect(tail.map(\.position) == Array(positions[min(from, records.count)...]))
            }
            #expect(try log.records(from: 10, limit: 3).map(\.position.index) == [10, 11, 12])
            try await log.close()
            for number in segments {
                let size = try readFile(directory.segmentPath(number)).count
                #expect(size <= 4096, "segment \(number) is \(size) bytes")
            }
        }
    }

    @Test("a record larger than the segment size gets a segment of its own")
    func oversizedRecord() async throws {
        try await withTemporaryDirectory { directory in
            let log = try SegmentedLog.open(directory: directory.path, options: fastOptions(segmentSize: 1024))
            let positions = try await log.append([[1], [UInt8](repeating: 2, count: 5000), [3]])
            #expect(positions.map(\.segment) == [1, 2, 3])
            #expect(try allPayloads(log).map(\.count) == [1, 5000, 1])
            try await log.close()
        }
    }

    @Test("reopening reads back everything, and appends continue the numbering")
    func reopen() async throws {
        try await withTemporaryDirectory { directory in
            var random = SeededGenerator(seed: 3)
            var records: [[UInt8]] = []
            for round in 0..<3 {
                let log = try SegmentedLog.open(directory: directory.path, options: fastOptions(segmentSize: 2048))
                #expect(log.count == UInt64(records.count))
                #expect(log.recoveryReport.isClean)
                #expect(try allPayloads(log) == records)
                let more = (0..<40).map { _ in random.bytes(Int.random(in: 1..<200, using: &random)) }
                let positions = try await log.append(more)
                #expect(positions.first?.index == UInt64(records.count), "round \(round)")
                records += more
                try await log.close()
            }
            let log = try SegmentedLog.open(directory: directory.path)
            #expect(try allPayloads(log) == records)
            #expect(log.recoveryReport.recordCount == UInt64(records.count))
            try await log.close()
        }
    }

    @Test("oversized records are refused with tooLarge and nothing is written")
    func tooLarge() async throws {
        try await withTemporaryDirectory { directory in
            let log = try SegmentedLog.open(directory: directory.path, options: fastOptions())
            let big = [UInt8](repeating: 0, count: Int(SegmentedLog.maxRecordSize) + 1)
            let error = await #expect(throws: LogError.self) { try await log.append([[1], big]) }
            #expect(error?.code == .tooLarge)
            #expect(log.count == 0)
            let limit = [UInt8](repeating: 7, count: Int(SegmentedLog.maxRecordSize))
            _ = try await log.append(limit)
            #expect(try log.records(from: 0).first?.payload.count == limit.count)
            try await log.close()
        }
    }

    @Test("after close, appends and reads throw closed; closing twice is fine")
    func closed() async throws {
        try await withTemporaryDirectory { directory in
            let log = try SegmentedLog.open(directory: directory.path)
            _ = try await log.append([1, 2, 3])
            try await log.close()
            try await log.close()
            let appendError = await #expect(throws: LogError.self) { try await log.append([4]) }
            #expect(appendError?.code == .closed)
            let readError = #expect(throws: LogError.self) { try log.forEachRecord { _, _ in } }
            #expect(readError?.code == .closed)
        }
    }

    @Test("a second open of the same directory is refused while the first is open")
    func locked() async throws {
        try await withTemporaryDirectory { directory in
            let log = try SegmentedLog.open(directory: directory.path)
            let error = #expect(throws: LogError.self) { try SegmentedLog.open(directory: directory.path) }
            #expect(error?.code == .locked)
            try await log.close()
            let again = try SegmentedLog.open(directory: directory.path)
            try await again.close()
        }
    }

    @Test("bad arguments: tiny segment size, a file where the directory should be, a missing directory")
    func badArguments() async throws {
        try await withTemporaryDirectory { directory in
            let tiny = #expect(throws: LogError.self) {
                try SegmentedLog.open(directory: directory.path, options: .init(segmentSize: 10))
            }
            #expect(tiny?.code == .invalidArgument)
            try writeFile(directory.path + "/file", [1])
            let notDirectory = #expect(throws: LogError.self) {
                try SegmentedLog.open(directory: directory.path + "/file")
            }
            #expect(notDirectory?.code == .invalidArgument)
            let missing = #expect(throws: LogError.self) {
                try SegmentedLog.open(directory: directory.path + "/nope", options: .init(createIfMissing: false))
            }
            #expect(missing?.code == .invalidArgument)
            #expect(missing?.message.contains("/nope") == true)
        }
    }

    /// Reads 200,000 records of 260 bytes (52 MB) and checks every CRC. Set COOP_LOG_READ_RECORDS to read more
    /// (1000000 for the 1M-record figure). It prints the reading rate; speed is measured by the benchmarks
    /// (Benchmarks/CoopBench), never asserted here, where a slow or loaded machine would make it fail.
    @Test("reading 200,000 records checks every CRC (prints the rate)")
    func readSpeed() async throws {
        let count = Int(ProcessInfo.processInfo.environment["COOP_LOG_READ_RECORDS"] ?? "") ?? 200_000
        try await withTemporaryDirectory { directory in
            let log = try SegmentedLog.open(directory: directory.path, options: fastOptions())
            var random = SeededGenerator(seed: 4)
            let record = random.bytes(260)
            for _ in 0..<(count / 1000) {
                _ = try await log.append([[UInt8]](repeating: record, count: 1000))
            }
            let clock = ContinuousClock()
            var total = 0
            var records = 0
            let elapsed = try clock.measure {
                try log.forEachRecord { _, payload in
                    total &+= payload.count
                    records += 1
                }
            }
            #expect(records == count / 1000 * 1000)
            #expect(total == records * 260)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("read \(records) records of 260 bytes in \(elapsed) (\(Int(Double(records) / seconds)) records/s)")
            try await log.close()
        }
    }
}
