import CoopSegments
import Foundation
import Testing

/// Crash-recovery tests that cut and corrupt the files of a closed log, then open it again.
@Suite("SegmentedLog: recovery")
struct RecoveryTests {
    /// A closed log with `count` records over several small segments; the last record is 100 bytes.
    struct Fixture {
        var records: [[UInt8]]
        var positions: [RecordPosition]
        var files: [String: [UInt8]]

        var newest: UInt32 { positions.last!.segment }
        var newestName: String { segmentName(newest) }
        /// Positions of records in segment `number`.
        func positions(in number: UInt32) -> [RecordPosition] { positions.filter { $0.segment == number } }
    }

    static func makeFixture(count: Int = 60, segmentSize: UInt64 = 2048, seed: UInt64 = 10) async throws -> Fixture {
        try await withTemporaryDirectory { directory in
            var random = SeededGenerator(seed: seed)
            var records = (0..<count - 1).map { _ in random.bytes(Int.random(in: 20..<200, using: &random)) }
            records.append(random.bytes(100))
            let log = try SegmentedLog.open(directory: directory.path, options: fastOptions(segmentSize: segmentSize))
            var positions: [RecordPosition] = []
            for record in records {
                positions.append(try await log.append(record))
            }
            try await log.close()
            try #require(positions.last!.segment >= 3, "the fixture needs at least three segments")
            return Fixture(records: records, positions: positions, files: try segmentFiles(directory))
        }
    }

    /// Opens a log made of `files`, in a fresh directory.
    static func open(_ files: [String: [UInt8]]) throws -> (SegmentedLog, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        do {
            try copySegments(files, to: directory)
            return (
                try SegmentedLog.open(directory: directory.path, options: fastOptions(segmentSize: 2048)), directory
            )
        } catch {
            directory.remove()
            throw error
        }
    }

    /// Opening `files` fails with `.corrupt` naming `file` (and `offset`, if given).
    static func expectCorrupt(
        _ files: [String: [UInt8]],
        file: String,
        offset: UInt64?,
        _ comment: Comment? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try copySegments(files, to: directory)
        let before = try segmentFiles(directory)
        let error = #expect(throws: LogError.self, comment, sourceLocation: sourceLocation) {
            try SegmentedLog.open(directory: directory.path)
        }
        guard let error else { return }
        #expect(error.code == .corrupt, comment, sourceLocation: sourceLocation)
        #expect(error.path == directory.logPath + "/" + file, comment, sourceLocation: sourceLocation)
        #expect(error.message.contains(file), comment, sourceLocation: sourceLocation)
        if let offset {
            #expect(error.offset == offset, comment, sourceLocation: sourceLocation)
            #expect(error.message.contains("byte offset \(offset)"), comment, sourceLocation: sourceLocation)
        }
        #expect(
            try segmentFiles(directory) == before,
            "a refused open changed the files",
            sourceLocation: sourceLocation
        )
    }

    @Test("a torn last record, cut at every byte position, is cut off and reported; the rest survives")
    func tornTailEveryCut() async throws {
        let fixture = try await Self.makeFixture()
        let last = fixture.positions.last!
        let file = fixture.files[fixture.newestName]!
        #expect(file.count == Int(last.offset) + 8 + 100)
        for cut in Int(last.offset)..<file.count {
            var files = fixture.files
            files[fixture.newestName] = Array(file[..<cut])
            let (log, directory) = try Self.open(files)
            defer { directory.remove() }
            #expect(log.count == UInt64(fixture.records.count - 1), "cut at \(cut)")
            #expect(try allPayloads(log) == Array(fixture.records.dropLast()), "cut at \(cut)")
            let report = log.recoveryReport
            if cut == Int(last.offset) {
                #expect(report.isClean, "cut at \(cut)")
            } else {
                let torn = try #require(report.tornTail, "cut at \(cut)")
                #expect(torn.path == directory.segmentPath(fixture.newest))
                #expect(torn.offset == last.offset)
                #expect(torn.bytesDropped == UInt64(cut) - last.offset)
                #expect(torn.reason == (cut - Int(last.offset) < 8 ? .shortHeader : .shortPayload), "cut at \(cut)")
            }
            // The file was cut back to the last whole record, and appending goes on from there.
            let position = try await log.append([9, 9, 9])
            #expect(position == RecordPosition(segment: last.segment, offset: last.offset, index: last.index))
            try await log.close()
            let reopened = try SegmentedLog.open(directory: directory.path)
            #expect(reopened.recoveryReport.isClean)
            #expect(try allPayloads(reopened) == Array(fixture.records.dropLast()) + [[9, 9, 9]])
            try await reopened.close()
        }
    }

    @Test("a damaged byte anywhere in the last record is a torn tail (nothing valid follows it)")
    func damagedLastRecord() async throws {
        let fixture = try await Self.makeFixture()
        let last = fixture.positions.last!
        let file = fixture.files[fixture.newestName]!
        for at in Int(last.offset)..<file.count {
            var files = fixture.files
            files[fixture.newestName]![at] ^= 0x01
            let (log, directory) = try Self.open(files)
            defer { directory.remove() }
            let torn = try #require(log.recoveryReport.tornTail, "byte \(at)")
            #expect(torn.offset == last.offset, "byte \(at)")
            #expect(torn.bytesDropped == UInt64(file.count) - last.offset, "byte \(at)")
            #expect(try allPayloads(log) == Array(fixture.records.dropLast()))
            try await log.close()
        }
    }

    @Test(
        "a long tail of zeros or of random bytes after the last record is a torn tail",
        arguments: ["zeros", "random"]
    )
    func garbageTail(kind: String) async throws {
        let fixture = try await Self.makeFixture()
        var random = SeededGenerator(seed: 11)
        let tail = kind == "zeros" ? [UInt8](repeating: 0, count: 64 << 10) : random.bytes(1 << 20)
        var files = fixture.files
        let end = UInt64(files[fixture.newestName]!.count)
        files[fixture.newestName]! += tail
        let clock = ContinuousClock()
        let start = clock.now
        let (log, directory) = try Self.open(files)
        defer { directory.remove() }
        // Recovery is linear in the tail's length (FrameScanner.firstValidFrame); the time is printed, not asserted.
        print("recovery of a \(tail.count)-byte \(kind) tail took \(clock.now - start)")
        let torn = try #require(log.recoveryReport.tornTail)
        #expect(torn.offset == end)
        #expect(torn.bytesDropped == UInt64(tail.count))
        if kind == "zeros" {
            // An all-zero frame is not a valid empty record: the checksum covers the length.
            #expect(torn.reason == .checksumMismatch)
        }
        #expect(try allPayloads(log) == fixture.records)
        try await log.close()
    }

    @Test("a damaged byte in a middle record of the newest segment refuses to open, naming file and offset")
    func damagedMiddleRecordNewestSegment() async throws {
        let fixture = try await Self.makeFixture()
        let inNewest = fixture.positions(in: fixture.newest)
        try #require(inNewest.count >= 3)
        let victim = inNewest[inNewest.count - 2]
        let size = 8 + fixture.records[Int(victim.index)].count
        for at in Int(victim.offset)..<Int(victim.offset) + size {
            var files = fixture.files
            files[fixture.newestName]![at] ^= 0x01
            try Self.expectCorrupt(files, file: fixture.newestName, offset: victim.offset, "byte \(at)")
        }
    }

    @Test("a damaged byte in an older segment refuses to open, naming file and offset")
    func damagedOlderSegment() async throws {
        let fixture = try await Self.makeFixture()
        let name = segmentName(1)
        let inFirst = fixture.positions(in: 1)
        for victim in [inFirst.first!, inFirst[inFirst.count / 2], inFirst.last!] {
            for at in [Int(victim.offset), Int(victim.offset) + 5, Int(victim.offset) + 8] {
                var files = fixture.files
                files[name]![at] ^= 0x40
                try Self.expectCorrupt(files, file: name, offset: victim.offset, "byte \(at)")
            }
        }
        // The seal at the end of segment 1.
        var files = fixture.files
        let seal = fixture.files[name]!.count - 24
        files[name]![seal + 10] ^= 0x01
        try Self.expectCorrupt(files, file: name, offset: UInt64(seal), "seal")
    }

    @Test("a cut-short older segment refuses to open, at every kind of cut")
    func truncatedOlderSegment() async throws {
        let fixture = try await Self.makeFixture()
        let name = segmentName(2)
        let file = fixture.files[name]!
        let second = fixture.positions(in: 2)[1].offset
        let last = fixture.positions(in: 2).last!.offset
        let seal = UInt64(file.count - 24)
        // (cut the file to this many bytes, the offset the error must name)
        let cuts: [(UInt64, UInt64)] = [
            (0, 0), (8, 8), (16, 16),  // shorter than the header; header only
            (second, second), (second + 3, second), (second + 20, second),  // at and inside a record
            (last, last), (seal, seal),  // at record boundaries: only the missing seal gives it away
            (seal + 10, seal), (UInt64(file.count - 1), seal),  // inside the seal
        ]
        for (cut, offset) in cuts {
            var files = fixture.files
            files[name] = Array(file[..<Int(cut)])
            try Self.expectCorrupt(files, file: name, offset: offset, "cut at \(cut)")
        }
    }

    @Test("a missing segment refuses to open, naming it")
    func missingSegment() async throws {
        let fixture = try await Self.makeFixture()
        try #require(fixture.newest >= 3)
        var files = fixture.files
        files[segmentName(2)] = nil
        try Self.expectCorrupt(files, file: segmentName(2), offset: nil)
        files = fixture.files
        files[segmentName(1)] = nil
        try Self.expectCorrupt(files, file: segmentName(1), offset: nil)
    }

    @Test("bad segment headers refuse to open: magic, version, segment number")
    func badHeaders() async throws {
        let fixture = try await Self.makeFixture()
        let cases: [(segment: UInt32, byte: Int, offset: UInt64)] = [
            (1, 0, 0), (2, 7, 0), (2, 8, 8), (fixture.newest, 12, 12), (fixture.newest, 3, 0),
        ]
        for (segment, byte, offset) in cases {
            var files = fixture.files
            files[segmentName(segment)]![byte] ^= 0x02
            try Self.expectCorrupt(files, file: segmentName(segment), offset: offset, "segment \(segment) byte \(byte)")
        }
    }

    @Test("bytes after a seal, and a badly named segment file, refuse to open")
    func strayBytes() async throws {
        let fixture = try await Self.makeFixture()
        var files = fixture.files
        let sealEnd = UInt64(files[segmentName(1)]!.count)
        files[segmentName(1)]! += [0, 0, 0, 0]
        try Self.expectCorrupt(files, file: segmentName(1), offset: sealEnd)
        files = fixture.files
        files["0000001.seg"] = files[segmentName(1)]
        try Self.expectCorrupt(files, file: "0000001.seg", offset: nil)
    }

    /// The fixture's files after one more append that did not fit: the fixture's newest segment is sealed and the
    /// one after it holds the new 1900-byte record.
    static func sealedFixture() async throws -> (Fixture, [String: [UInt8]]) {
        let fixture = try await makeFixture()
        return try await withTemporaryDirectory { directory in
            try copySegments(fixture.files, to: directory)
            let log = try SegmentedLog.open(directory: directory.path, options: fastOptions(segmentSize: 2048))
            let position = try await log.append([UInt8](repeating: 1, count: 1900))
            #expect(position.segment == fixture.newest + 1)
            try await log.close()
            return (fixture, try segmentFiles(directory))
        }
    }

    @Test("an empty or header-only newest segment is fine; a partial header is rewritten and reported")
    func shortNewestSegment() async throws {
        let (fixture, files) = try await Self.sealedFixture()
        let number = fixture.newest + 1
        let next = segmentName(number)
        let header = Array("COOPLOG1".utf8) + [1, 0, 0, 0] + withUnsafeBytes(of: number.littleEndian) { Array($0) }
        #expect(Array(files[next]!.prefix(16)) == header)
        for length in [0, 5, 16] {
            var variant = files
            variant[next] = Array(header[..<length])
            let (log, directory) = try Self.open(variant)
            defer { directory.remove() }
            #expect(log.count == UInt64(fixture.records.count))
            if length == 5 {
                #expect(log.recoveryReport.tornTail?.reason == .partialSegmentHeader)
                #expect(log.recoveryReport.tornTail?.bytesDropped == 5)
            } else {
                #expect(log.recoveryReport.isClean)
            }
            let position = try await log.append([5])
            #expect(position == RecordPosition(segment: number, offset: 16, index: UInt64(fixture.records.count)))
            try await log.close()
            #expect(try readFile(directory.segmentPath(number)) == header + [1, 0, 0, 0] + frameCRC([5]) + [5])
        }
        var wrong = files
        wrong[next] = Array("COP".utf8)
        try Self.expectCorrupt(wrong, file: next, offset: 0)
    }

    @Test("a sealed newest segment (a crash before the next one was created) gets its successor on open")
    func sealedNewestSegment() async throws {
        let (fixture, files) = try await Self.sealedFixture()
        var variant = files
        variant[segmentName(fixture.newest + 1)] = nil
        let (log, directory) = try Self.open(variant)
        defer { directory.remove() }
        #expect(log.recoveryReport.createdSegments == [segmentName(fixture.newest + 1)])
        #expect(log.recoveryReport.isClean)
        #expect(try allPayloads(log) == fixture.records)
        let position = try await log.append([2])
        #expect(position.segment == fixture.newest + 1)
        try await log.close()
    }
}

/// The length and checksum bytes of a frame for `payload`.
func frameCRC(_ payload: [UInt8]) -> [UInt8] {
    let length = withUnsafeBytes(of: UInt32(payload.count).littleEndian) { Array($0) }
    return withUnsafeBytes(of: CRC32C.checksum(length + payload).littleEndian) { Array($0) }
}
