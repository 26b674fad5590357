import CoopLedger
import CoopLog
import CoopTestKit
import CoopWire
import Foundation
import Testing

/// Tampering with the structure of the log: deleted, swapped and truncated records.
extension TamperTests {
    // MARK: Deleted records

    @Test("a deleted record: the local chain breaks at the next record, or its origin's sequence if rewritten")
    func deletedRecord() async throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-tamper")
        let original = try await makeLog(in: dir, seed: 41)
        let base = try LogTamper(directory: original)
        let records = base.records
        let newest = try #require(base.segmentNumbers.last)
        // A record in a sealed segment, whose origin writes again later.
        let victim = try #require(
            records.first { r in
                r.segment == base.segmentNumbers[1] && r.index > 110
                    && records[(r.index + 2)...].contains { $0.origin == r.origin }
            }
        )
        let origin = try #require(victim.origin)
        let sequence = try #require(victim.sequence)
        let nextOfOrigin = try #require(records[(victim.index + 1)...].first { $0.origin == origin })

        // Checksums and seals fine, chain not rewritten: the record after the gap breaks the local chain; the
        // origin's next entry also shows the gap.
        var cut = base
        try cut.delete(record: victim.index, repair: .framing)
        let cutDir = dir.file("cut")
        try cut.write(to: cutDir)
        let report = try Auditor.verify(directory: cutDir, roster: roster)
        try expectFirstProblem(
            report,
            at: cut.records[victim.index],
            in: cutDir,
            tamper: cut,
            reason: "the local chain breaks here",
            "deleted record #\(victim.index)"
        )
        #expect(
            report.problems.contains {
                $0.position?.index == UInt64(nextOfOrigin.index - 1) && $0.origin == origin
                    && $0.sequence == sequence + 1 && $0.reason.contains("missing before it")
            }
        )

        // Bytes only: the seal of the sealed segment no longer counts its records.
        var plain = base
        try plain.delete(record: victim.index, repair: .none)
        let plainDir = dir.file("plain")
        try plain.write(to: plainDir)
        let plainReport = try Auditor.verify(directory: plainDir, roster: roster)
        let segmentFile = plain.path(ofSegment: victim.segment, in: plainDir)
        let sealOffset = try #require(plain.files.first { $0.segment == victim.segment }).bytes.count - 24
        // The records before the seal are still checked: the first bad entry is the local chain break at the
        // record after the deleted one; the seal's miscount is reported too, at the seal's offset.
        let first = try #require(plainReport.problems.first)
        #expect(first.position?.index == UInt64(victim.index), "\(first)")
        #expect(first.reason.contains("the local chain breaks here"), "\(first)")
        let sealProblem = try #require(
            plainReport.problems.first { $0.reason.contains("end-of-segment marker") },
            "\(plainReport.problems)"
        )
        #expect(sealProblem.file == segmentFile && sealProblem.offset == UInt64(sealOffset), "\(sealProblem)")
        let plainCLI = try verifyCLI(plainDir)
        #expect(
            plainCLI.status == 1 && plainCLI.stderr.contains("then: \(segmentFile) offset \(sealOffset)"),
            "\(plainCLI.stderr)"
        )

        // Local chain rewritten: per-origin sequence numbers give it away at the origin's next entry.
        var rewritten = base
        try rewritten.delete(record: victim.index, repair: .chain)
        let rewrittenDir = dir.file("rewritten")
        try rewritten.write(to: rewrittenDir)
        let rewrittenReport = try Auditor.verify(directory: rewrittenDir, roster: roster)
        try expectFirstProblem(
            rewrittenReport,
            at: rewritten.records[nextOfOrigin.index - 1],
            in: rewrittenDir,
            tamper: rewritten,
            entry: "\(origin)#\(sequence + 1)",
            reason: "sequence number \(sequence + 1) where \(sequence) was expected",
            "deleted \(origin)#\(sequence) with the chain rewritten"
        )
        #expect(!rewrittenReport.problems.contains { $0.reason.contains("local chain") })

        // Local chain rewritten and the deleted entry was its origin's last: nothing in this log says so. Only
        // another copy (or a published chain head) shows it.
        let last = try #require(records.last { $0.origin == origin && $0.segment == newest })
        let lastSequence = try #require(last.sequence)
        #expect(records[(last.index + 1)...].allSatisfy { $0.origin != origin })
        var dropped = base
        try dropped.delete(record: last.index, repair: .chain)
        let droppedDir = dir.file("dropped")
        try dropped.write(to: droppedDir)
        let droppedReport = try Auditor.verify(directory: droppedDir, roster: roster)
        #expect(droppedReport.isIntact, "\(droppedReport.problems)")
        let originalReport = try Auditor.verify(directory: original, roster: roster)
        #expect(originalReport.isIntact)
        #expect(droppedReport.chainHead != originalReport.chainHead)
        #expect(try verifyCLI(droppedDir).status == 0)
        let diff = try diffCLI(droppedDir, original)
        #expect(diff.status == 1)
        #expect(diff.stdoutText.contains("left lacks #\(lastSequence)…#\(lastSequence)"), "\(diff.stdoutText)")
        let comparison = try #require(
            try LedgerReplay.diff(left: droppedDir, right: original).first { $0.origin == origin }
        )
        #expect(comparison.left == lastSequence - 1 && comparison.right == lastSequence && comparison.forkAt == nil)
    }

    // MARK: Swapped records

    @Test("swapped records: same origin breaks its sequence order; different origins are detectable only by order")
    func swappedRecords() async throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-tamper")
        let original = try await makeLog(in: dir, seed: 43)
        let base = try LogTamper(directory: original)
        let records = base.records

        // Same origin, two entries apart.
        let a = records[100]
        let b = try #require(records[102...].first { $0.origin == a.origin })
        let origin = try #require(a.origin)

        // Frames moved whole (their checksums still hold): the local chain breaks at the first of them.
        var moved = base
        try moved.swap(a.index, b.index, repair: .framing)
        let movedDir = dir.file("moved")
        try moved.write(to: movedDir)
        try expectFirstProblem(
            try Auditor.verify(directory: movedDir, roster: roster),
            at: moved.records[a.index],
            in: movedDir,
            tamper: moved,
            reason: "the local chain breaks here",
            "swapped #\(a.index) and #\(b.index)"
        )

        // Chain rewritten: the origin's sequence numbers are out of order at the first of them.
        var reordered = base
        try reordered.swap(a.index, b.index, repair: .chain)
        let reorderedDir = dir.file("reordered")
        try reordered.write(to: reorderedDir)
        let reorderedReport = try Auditor.verify(directory: reorderedDir, roster: roster)
        try expectFirstProblem(
            reorderedReport,
            at: reordered.records[a.index],
            in: reorderedDir,
            tamper: reordered,
            entry: b.name,
            reason: "sequence number \(b.sequence!) where \(a.sequence!) was expected",
            "swapped \(a.name!) and \(b.name!) with the chain rewritten"
        )
        // Only that origin's entries are out of order; everything else (signatures, other origins) holds.
        #expect(reorderedReport.problems.allSatisfy { $0.origin == origin }, "\(reorderedReport.problems)")

        // Different origins, adjacent, chain rewritten. Each origin's entries keep their order, each entry its
        // signature and per-origin chain, and the local chain was rewritten: the log alone cannot tell. What
        // changed is the arrival order, so (1) the chain head differs from the one the node reported or another
        // copy holds, and (2) replaying "the ledger at log position i+1" shows a state the node never had. `audit
        // diff` compares per-origin chains only, so it finds both copies the same.
        let i = try #require(
            records.indices.dropFirst(50).first { i in
                guard i + 1 < records.count, records[i].origin != records[i + 1].origin,
                    case .statusUpdate(let u)? = records[i].body?.payload,
                    case .statusUpdate(let v)? = records[i + 1].body?.payload
                else { return false }
                return u.itemId != v.itemId
            }
        )
        var crossed = base
        try crossed.swap(i, i + 1, repair: .chain)
        let crossedDir = dir.file("crossed")
        try crossed.write(to: crossedDir)
        let crossedReport = try Auditor.verify(directory: crossedDir, roster: roster)
        let originalReport = try Auditor.verify(directory: original, roster: roster)
        #expect(crossedReport.isIntact, "\(crossedReport.problems)")
        #expect(crossedReport.chainHead != originalReport.chainHead)
        #expect(crossedReport.origins.map(\.head) == originalReport.origins.map(\.head))
        #expect(try verifyCLI(crossedDir).status == 0)
        #expect(try diffCLI(crossedDir, original).status == 0)
        let atCrossed = try LedgerReplay.view(
            directory: crossedDir,
            catalog: catalog,
            roster: roster,
            limit: .position(UInt64(i + 1))
        )
        let atOriginal = try LedgerReplay.view(
            directory: original,
            catalog: catalog,
            roster: roster,
            limit: .position(UInt64(i + 1))
        )
        #expect(atCrossed.view.states != atOriginal.view.states)

        // Different origins with an entry of the later one in between, chain rewritten: that origin's entry now
        // comes before its predecessor, so its sequence number gives it away at the first swapped position.
        let (x, y) = try #require(
            records.indices.dropFirst(150).lazy.compactMap { x -> (Int, Int)? in
                let later = records[(x + 1)...]
                guard let between = later.first(where: { $0.origin != records[x].origin }),
                    let y = later.first(where: { $0.index > between.index && $0.origin == between.origin })
                else { return nil }
                return (x, y.index)
            }.first
        )
        var jumped = base
        try jumped.swap(x, y, repair: .chain)
        let jumpedDir = dir.file("jumped")
        try jumped.write(to: jumpedDir)
        try expectFirstProblem(
            try Auditor.verify(directory: jumpedDir, roster: roster),
            at: jumped.records[x],
            in: jumpedDir,
            tamper: jumped,
            entry: records[y].name,
            reason: "missing before it",
            "swapped \(records[x].name!) and \(records[y].name!) with the chain rewritten"
        )
    }

    // MARK: Truncation

    @Test("truncation: mid-record is a torn tail; at a record boundary only another copy shows what is missing")
    func truncated() async throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-tamper")
        let original = try await makeLog(in: dir, seed: 47)
        let base = try LogTamper(directory: original)
        let records = base.records
        let newest = try #require(base.segmentNumbers.last)
        let inNewest = records.filter { $0.segment == newest }
        let k = inNewest[inNewest.count / 2]

        // Mid-record in the newest segment.
        let tornDir = dir.file("torn")
        try base.write(to: tornDir)
        let tornFile = base.path(ofSegment: newest, in: tornDir)
        try LogTamper.truncate(tornFile, to: k.offset + UInt64(k.frameSize / 2))
        let torn = try Auditor.verify(directory: tornDir, roster: roster)
        #expect(!torn.isIntact)
        #expect(torn.problems.isEmpty, "\(torn.problems)")
        #expect(torn.tornTail?.path == tornFile && torn.tornTail?.offset == k.offset)
        #expect(torn.records == UInt64(k.index))
        let tornCLI = try verifyCLI(tornDir)
        #expect(tornCLI.status == 1)
        #expect(
            tornCLI.stderr.contains("error: \(tornFile) offset \(k.offset): a torn last record"),
            "\(tornCLI.stderr)"
        )

        // At a record boundary in the newest segment: the framing is intact; the diff against the original names
        // what each origin lost.
        let cutDir = dir.file("cut")
        try base.write(to: cutDir)
        try LogTamper.truncate(base.path(ofSegment: newest, in: cutDir), to: k.offset)
        let cut = try Auditor.verify(directory: cutDir, roster: roster)
        #expect(cut.isIntact, "\(cut.problems)")
        #expect(cut.records == UInt64(k.index))
        #expect(try verifyCLI(cutDir).status == 0)
        let diff = try diffCLI(cutDir, original)
        #expect(diff.status == 1)
        for origin in Set(records[k.index...].compactMap(\.origin)) {
            let lost = records[k.index...].filter { $0.origin == origin }.compactMap(\.sequence)
            #expect(
                diff.stdoutText.contains("left lacks #\(lost.min()!)…#\(lost.max()!)"),
                "\(origin): \(diff.stdoutText)"
            )
        }

        // At a record boundary in an older segment: it no longer ends with its seal.
        let olderDir = dir.file("older")
        try base.write(to: olderDir)
        let first = try #require(base.segmentNumbers.first)
        let olderFile = base.path(ofSegment: first, in: olderDir)
        let boundary = records[records.filter { $0.segment == first }.count / 2].offset
        try LogTamper.truncate(olderFile, to: boundary)
        let older = try Auditor.verify(directory: olderDir, roster: roster)
        let problem = try #require(older.problems.first)
        #expect(problem.file == olderFile && problem.offset == boundary, "\(problem)")
        #expect(problem.reason.contains("without its end-of-segment marker"), "\(problem)")
        let olderCLI = try verifyCLI(olderDir)
        #expect(olderCLI.status == 1 && olderCLI.stderr.contains(Self.named(file: olderFile, offset: boundary)))
    }
}
