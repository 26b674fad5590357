import CoopDevTools
import CoopLedger
import CoopLog
import CoopSegments
import CoopTestKit
import CoopWire
import Foundation
import Testing

/// Someone edits a copy of a node's data directory; `Auditor.verify` and `coop audit verify` must name the
/// record they touched (issue 3 §5 "Tamper"). Each test builds a seeded 300-entry demo log, re-split into 32 KiB
/// segments so that seals are part of the picture, and tampers with copies of it through ``LogTamper`` at three
/// levels of care: bytes only, frame checksums (and seals) recomputed, and the local chain rewritten as well.
@Suite("Tamper")
struct TamperTests {
    let roster: RosterBook
    let catalog: CatalogBook

    init() throws {
        roster = try Fixtures.roster()
        catalog = try Fixtures.catalog()
    }

    // MARK: Fixture

    /// A seeded demo log of `entries` entries in `dir/original` (with catalog.json and roster.json), in segments
    /// of at most `segmentSize` bytes.
    func makeLog(
        in dir: CoopTestKit.TemporaryDirectory,
        seed: UInt64,
        entries: Int = 300,
        segmentSize: UInt64 = 32 << 10
    ) async throws -> String {
        let keys = try Fixtures.nodes.map { try NodeKeys.read(name: $0, from: Fixtures.keysPath) }
        let generated = dir.file("generated")
        try await DemoLogGenerator(catalog: catalog, roster: roster, keys: keys, seed: seed)
            .generate(into: generated, entries: entries)
        var payloads: [[UInt8]] = []
        try LogReader.open(directory: generated).forEachRecord { _, payload in payloads.append(Array(payload)) }
        let original = dir.file("original")
        try FileManager.default.createDirectory(atPath: original, withIntermediateDirectories: true)
        let log = try SegmentedLog.open(
            directory: original,
            options: SegmentedLog.Options(durability: .unsafeNoSync, segmentSize: segmentSize)
        )
        _ = try await log.append(payloads)
        try await log.close()
        for name in ["catalog.json", "roster.json"] {
            try FileManager.default.copyItem(atPath: generated + "/" + name, toPath: original + "/" + name)
        }
        return original
    }

    /// Runs `coop audit verify DIR`.
    func verifyCLI(_ directory: String) throws -> ChildProcess.Result {
        try ChildProcess.run(try ChildProcess.product("coop"), ["audit", "verify", directory])
    }

    /// Runs `coop audit diff LEFT RIGHT`.
    func diffCLI(_ left: String, _ right: String) throws -> ChildProcess.Result {
        try ChildProcess.run(try ChildProcess.product("coop"), ["audit", "diff", left, right])
    }

    /// What `coop audit verify` prints for the first bad entry: "<file> offset <o> (record #<i>)[, entry o#s]".
    static func named(file: String, offset: UInt64, index: Int? = nil, entry: String? = nil) -> String {
        var text = "first bad entry: \(file) offset \(offset)"
        if let index { text += " (record #\(index))" }
        if let entry { text += ", entry \(entry)" }
        return text
    }

    /// Checks that the first problem is at record `record` of `tamper`'s model written to `directory`, and that
    /// `coop audit verify` exits 1 naming it.
    func expectFirstProblem(
        _ report: AuditReport,
        at record: LogTamper.Record,
        in directory: String,
        tamper: LogTamper,
        entry: String? = nil,
        reason: String? = nil,
        cli: Bool = true,
        _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let file = tamper.path(ofSegment: record.segment, in: directory)
        let first = try #require(report.problems.first, "\(what): no problem reported", sourceLocation: sourceLocation)
        #expect(first.position?.index == UInt64(record.index), "\(what): \(first)", sourceLocation: sourceLocation)
        #expect(first.position?.segment == record.segment, "\(what): \(first)", sourceLocation: sourceLocation)
        #expect(
            first.file == file && first.offset == record.offset,
            "\(what): \(first)",
            sourceLocation: sourceLocation
        )
        if let entry {
            #expect(
                first.origin.map { "\($0)#\(first.sequence ?? 0)" } == entry,
                "\(what): \(first)",
                sourceLocation: sourceLocation
            )
        }
        if let reason {
            #expect(first.reason.contains(reason), "\(what): \(first)", sourceLocation: sourceLocation)
        }
        guard cli else { return }
        let result = try verifyCLI(directory)
        #expect(
            result.status == 1,
            "\(what): coop audit verify exited \(result.status)",
            sourceLocation: sourceLocation
        )
        let line = Self.named(file: file, offset: record.offset, index: record.index, entry: entry)
        #expect(
            result.stderr.contains(line),
            "\(what): expected \(line) in\n\(result.stderr)",
            sourceLocation: sourceLocation
        )
    }

    // MARK: Flipped bytes

    @Test("a byte flipped anywhere in a record is named at that record, whatever the tamperer fixes up")
    func flippedBytes() async throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-tamper")
        // 60 entries keep the 60 full verifications quick; 6 KiB segments still give several sealed ones.
        let original = try await makeLog(in: dir, seed: 31, entries: 60, segmentSize: 6 << 10)
        let base = try LogTamper(directory: original)
        let records = base.records
        let newest = try #require(base.segmentNumbers.last)
        #expect(base.segmentNumbers.count >= 3 && records.count == 60)
        // The model writes the files back byte for byte, and recomputing every chain value and seal changes
        // nothing in an untampered log (so LogTamper chains exactly like RecordCodec).
        var rechained = base
        try rechained.rechain(from: 0)
        for (number, bytes) in rechained.files {
            let stored = [UInt8](try Data(contentsOf: URL(fileURLWithPath: base.path(ofSegment: number))))
            #expect(bytes == stored, "segment \(number)")
            #expect(base.files.first { $0.segment == number }?.bytes == stored, "segment \(number)")
        }
        var rng = SeededRandom(seed: 0xF11B)
        var unnamed: [String] = []
        // The last record is always among them (a flip there looks like a torn write).
        let picks = [records.count - 1] + (1..<30).map { _ in Int.random(in: 0..<records.count, using: &rng) }
        for (trial, pick) in picks.enumerated() {
            let r = records[pick]
            let mask = UInt8.random(in: 1...255, using: &rng)
            let cli = trial % 10 == 0

            // Bytes only, anywhere in the frame (length, checksum or payload): the frame no longer checks out.
            let byte = Int.random(in: 0..<r.frameSize, using: &rng)
            let what = "trial \(trial): record #\(r.index) byte \(byte) ^ 0x\(String(mask, radix: 16))"
            var naive = base
            try naive.flipByte(ofRecord: r.index, at: byte, mask: mask, repair: .none)
            let naiveDir = dir.file("naive-\(trial)")
            try naive.write(to: naiveDir)
            let file = naive.path(ofSegment: r.segment, in: naiveDir)
            let report = try Auditor.verify(directory: naiveDir, roster: roster)
            #expect(!report.isIntact, "\(what)")
            if r.segment == newest && r.index == records.count - 1 {
                // The last record of the newest segment: indistinguishable from a torn write.
                #expect(report.tornTail?.path == file && report.tornTail?.offset == r.offset, "\(what)")
                #expect(report.problems.isEmpty, "\(what)")
                if cli {
                    let result = try verifyCLI(naiveDir)
                    #expect(result.status == 1, "\(what)")
                    #expect(result.stderr.contains("error: \(file) offset \(r.offset): a torn last record"), "\(what)")
                }
            } else {
                let first = try #require(report.problems.first, "\(what)")
                #expect(first.file == file && first.offset == r.offset, "\(what): \(first)")
                if first.position?.index != UInt64(r.index) {
                    unnamed.append("\(what): \(first.position.map(\.description) ?? "no position")")
                }
                if cli {
                    let result = try verifyCLI(naiveDir)
                    #expect(result.status == 1, "\(what)")
                    #expect(result.stderr.contains(Self.named(file: file, offset: r.offset)), "\(what)")
                }
            }

            // Checksum recomputed after flipping a payload byte: decoding, the local chain, the entry's
            // encoding or its signature catches it, at that record.
            let payloadByte = 8 + Int.random(in: 0..<r.frame.payload.count, using: &rng)
            var smart = base
            try smart.flipByte(ofRecord: r.index, at: payloadByte, mask: mask, repair: .framing)
            let smartDir = dir.file("smart-\(trial)")
            try smart.write(to: smartDir)
            let smartReport = try Auditor.verify(directory: smartDir, roster: roster)
            try expectFirstProblem(
                smartReport,
                at: r,
                in: smartDir,
                tamper: smart,
                cli: cli,
                "trial \(trial): record #\(r.index) payload byte \(payloadByte - 8) with the CRC recomputed"
            )
            let tampered = smart.records[r.index]
            for p in smartReport.problems where p.position?.index == UInt64(r.index) && p.origin != nil {
                #expect(p.origin == tampered.origin && p.sequence == tampered.sequence, "trial \(trial): \(p)")
            }

            // Checksum and every later chain value recomputed after flipping a byte of the entry: the entry's own
            // checks catch it (decoding, canonical encoding, roster, sequence, previous hash, signature).
            let entryBytes = try #require(r.entryBytes)
            let entryByte = Int.random(in: 0..<entryBytes.count, using: &rng)
            var smarter = base
            try smarter.flipEntryByte(ofRecord: r.index, at: entryByte, mask: mask, repair: .chain)
            let smarterDir = dir.file("smarter-\(trial)")
            try smarter.write(to: smarterDir)
            let smarterReport = try Auditor.verify(directory: smarterDir, roster: roster)
            let flipped = smarter.records[r.index]
            try expectFirstProblem(
                smarterReport,
                at: r,
                in: smarterDir,
                tamper: smarter,
                entry: smarterReport.problems.first?.origin == nil ? nil : flipped.name,
                cli: cli,
                "trial \(trial): record #\(r.index) entry byte \(entryByte) with CRC and chain recomputed"
            )
            #expect(
                !smarterReport.problems.contains { $0.reason.contains("local chain") },
                "trial \(trial): the rewritten local chain should hold"
            )
            if let body = flipped.body, roster.member(body.origin)?.role == .peer {
                #expect(
                    smarterReport.problems.first?.origin == body.origin,
                    "trial \(trial): an entry that decodes is named by origin#sequence"
                )
            }
        }
        // Every problem names its record, also for damaged framing (the complete records before it).
        #expect(unnamed.isEmpty, "\(unnamed.count) of \(picks.count) flips:\n\(unnamed.joined(separator: "\n"))")
    }

    @Test("a damaged frame in the middle does not hide problems in the records before it")
    func damageHidesEarlierProblems() async throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-tamper")
        let original = try await makeLog(in: dir, seed: 37)
        var tamper = try LogTamper(directory: original)
        let records = tamper.records
        // Record #20 gets another entry's signature (checksum and chain rewritten); a record far later, in an
        // older segment than the newest, gets one byte flipped without any repair.
        let forged = records[20]
        let donor = try #require(records.first { $0.origin == forged.origin && $0.index != forged.index })
        let body = try #require(forged.entry?.body)
        let signature = try #require(donor.entry?.signature)
        try tamper.replaceEntry(
            ofRecord: forged.index,
            with: SignedEntry(body: body, signature: signature).wireBytes(),
            repair: .chain
        )
        let damaged = try #require(
            records.last { $0.segment == tamper.segmentNumbers[tamper.segmentNumbers.count - 2] }
        )
        try tamper.flipByte(ofRecord: damaged.index, at: 20, mask: 0x40, repair: .none)
        let target = dir.file("both")
        try tamper.write(to: target)
        let report = try Auditor.verify(directory: target, roster: roster)
        #expect(!report.isIntact)
        #expect(
            report.problems.contains {
                $0.file == tamper.path(ofSegment: damaged.segment, in: target) && $0.offset == damaged.offset
            }
        )
        // Damaged framing further on does not stop the records before it from being checked.
        #expect(report.problems.first?.position?.index == UInt64(forged.index), "\(report.problems)")
        #expect(report.records >= UInt64(forged.index + 1))
    }

    // MARK: Replaced signature

    @Test("another entry's valid signature on an entry fails exactly there, even with CRC and chain rewritten")
    func replacedSignature() async throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-tamper")
        let original = try await makeLog(in: dir, seed: 53)
        var tamper = try LogTamper(directory: original)
        let records = tamper.records
        let victim = records[150]
        let origin = try #require(victim.origin)
        let next = try #require(records[(victim.index + 1)...].first { $0.origin == origin })
        for donor in [records.first { $0.origin == origin }, records.first { $0.origin != origin }] {
            let donorSignature = try #require(donor?.entry?.signature)
            let body = try #require(victim.entry?.body)
            try tamper.replaceEntry(
                ofRecord: victim.index,
                with: SignedEntry(body: body, signature: donorSignature).wireBytes(),
                repair: .chain
            )
            let target = dir.file("forged-\(donor!.index)")
            try tamper.write(to: target)
            let report = try Auditor.verify(directory: target, roster: roster)
            try expectFirstProblem(
                report,
                at: tamper.records[victim.index],
                in: target,
                tamper: tamper,
                entry: victim.name,
                reason: "the signature does not verify with \(origin)'s roster key",
                "the signature of \(donor!.name!) on \(victim.name!)"
            )
            let bad = report.problems.filter { $0.reason.contains("signature") }
            #expect(bad.map(\.position?.index) == [UInt64(victim.index)], "\(bad)")
            #expect(!report.problems.contains { $0.reason.contains("local chain") })
            // The forged entry has another id, so the origin's next entry no longer chains onto it.
            #expect(
                report.problems.contains {
                    $0.position?.index == UInt64(next.index) && $0.reason.contains("previous hash is not the id of")
                }
            )
        }
    }
}
