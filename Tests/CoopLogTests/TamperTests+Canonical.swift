import CoopLedger
import CoopLog
import CoopSegments
import CoopTestKit
import CoopWire
import Testing

/// A record that decodes but is not in the one encoding a node writes (its chain field first, an unknown field, a
/// longer varint, a re-ordered `SignedEntry`) gets the same verdict from every reader of the log: the auditor
/// names it, opening the store refuses, and replay refuses (issue 6 §1 "One reader of records").
extension TamperTests {
    /// Ways to re-encode an entry record so that it still decodes as a `LogRecord` with the same content.
    enum Recoding: String, CaseIterable, Sendable {
        case chainFirst = "chain field first"
        case unknownField = "an unknown field appended"
        case longVarint = "the entry's length as a longer varint"
        case reorderedEntry = "the SignedEntry's fields in reverse order"

        func apply(to record: CoopWire.LogRecord) throws -> [UInt8] {
            guard case .entry(let entry) = record.record else { throw NotAnEntry() }
            let chainField: [UInt8] = [0x1A, 0x20] + record.chain
            switch self {
            case .chainFirst:
                return chainField + [0x0A] + Self.varint(entry.count) + entry
            case .unknownField:
                return record.wireBytes() + [0x78, 0x01]
            case .longVarint:
                var length = Self.varint(entry.count)
                length[length.count - 1] |= 0x80
                return [0x0A] + length + [0x00] + entry + chainField
            case .reorderedEntry:
                let signed = try SignedEntry(wireBytes: entry)
                let reordered =
                    [0x12] + Self.varint(signed.signature.count) + signed.signature
                    + [0x0A] + Self.varint(signed.body.count) + signed.body
                #expect(try SignedEntry(wireBytes: reordered) == signed)
                return [0x0A] + Self.varint(reordered.count) + reordered + chainField
            }
        }

        struct NotAnEntry: Error {}

        static func varint(_ value: Int) -> [UInt8] {
            var v = UInt64(value)
            var out: [UInt8] = []
            while v >= 0x80 {
                out.append(UInt8(v & 0x7F) | 0x80)
                v >>= 7
            }
            return out + [UInt8(v)]
        }
    }

    @Test(
        "a record in another encoding of the same content: the auditor, the store and replay all refuse it",
        arguments: Recoding.allCases
    )
    func nonCanonicalRecord(_ recoding: Recoding) async throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-canonical")
        let original = try await makeLog(in: dir, seed: 61, entries: 120)
        var tamper = try LogTamper(directory: original)
        let victim = tamper.records[70]
        let record = try #require(victim.logRecord)
        let recoded = try recoding.apply(to: record)
        // The re-encoding still decodes as the same record: only the canonical rule can tell.
        #expect(try CoopWire.LogRecord(wireBytes: recoded) == record || recoding == .reorderedEntry)
        try tamper.replacePayload(ofRecord: victim.index, with: recoded, repair: .framing)
        let target = dir.file("recoded")
        try tamper.write(to: target)

        try expectAuditorNames(victim.index, in: target, saying: "not a canonical log record", recoding.rawValue)

        let opened = #expect(throws: LogError.self) {
            try LogStore.open(directory: target, roster: roster, catalog: catalog)
        }
        #expect(opened?.code == .corrupt)
        #expect(opened?.message.contains("not a canonical log record") == true, "\(String(describing: opened))")

        let replayed = #expect(throws: LogError.self) {
            try LedgerReplay.view(directory: target, catalog: catalog, roster: roster)
        }
        #expect(replayed?.message.contains("not a canonical log record") == true, "\(String(describing: replayed))")
    }

    @Test("a body in a longer encoding, signed by its origin: the auditor says it is not in canonical encoding")
    func nonCanonicalSignedBody() async throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-canonical-body")
        let original = try await makeLog(in: dir, seed: 67, entries: 120)
        var tamper = try LogTamper(directory: original)
        let victim = tamper.records[70]
        let body = try #require(victim.body)
        // The body's sequence (field 2, key 0x10) as a longer varint: the same value, another encoding.
        let canonical = body.wireBytes()
        let key = try #require(canonical.firstIndex(of: 0x10))
        var end = key + 1
        while canonical[end] & 0x80 != 0 { end += 1 }
        var recoded = canonical
        recoded[end] |= 0x80
        recoded.insert(0x00, at: end + 1)
        #expect(try EntryBody(wireBytes: recoded) == body)
        let keys = try NodeKeys.read(name: body.origin, from: Fixtures.keysPath)
        let signed = SignedEntry(body: recoded, signature: keys.makeSigner().sign(recoded))
        try tamper.replaceEntry(ofRecord: victim.index, with: signed.wireBytes(), repair: .chain)
        let target = dir.file("recoded-body")
        try tamper.write(to: target)

        try expectAuditorNames(victim.index, in: target, saying: "not in canonical encoding", "a longer body")
    }

    /// The auditor's first problem in `target` is at record `index` and its reason contains `reason`.
    func expectAuditorNames(_ index: Int, in target: String, saying reason: String, _ what: String) throws {
        let report = try Auditor.verify(directory: target, roster: roster)
        let first = try #require(report.problems.first, "\(what): the auditor found nothing")
        #expect(first.position?.index == UInt64(index), "\(what): \(first)")
        #expect(first.reason.contains(reason), "\(what): \(first)")
    }
}
