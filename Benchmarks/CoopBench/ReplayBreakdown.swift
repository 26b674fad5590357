import CoopLedger
import CoopLog
import CoopSegments
import CoopWire

/// Where replay time goes: the same records read again and again, each pass doing one more step of what
/// ``LedgerReplay/view(directory:catalog:roster:limit:)`` and `LogStore.open` do per record. Cumulative. Each pass
/// is timed in this thread's CPU time (so time lost to other processes does not count) and the best of `repeats`
/// is kept.
enum ReplayBreakdown {
    struct Stage {
        var name: String
        var seconds: Double
        var records: Int
        var microsPerRecord: Double { seconds * 1e6 / Double(max(1, records)) }
    }

    private struct Done: Error {}

    static func run(_ data: ReferenceData, directory: String, records limit: Int, repeats: Int) throws -> [Stage] {
        let reader = try LogReader.open(directory: directory)
        let end = UInt64(min(limit, Int(reader.recordCount)))
        var stages: [Stage] = []

        /// Times one pass over the first `end` records with `step` applied to each.
        func pass(
            _ name: String,
            verify: Bool = false,
            _ step: (RecordPosition, UnsafeRawBufferPointer) throws -> Void
        ) throws {
            var best = Double.infinity
            var count = 0
            for _ in 0..<repeats {
                count = 0
                let start = threadCPUTime()
                do {
                    try reader.forEachRecord(verifyingChecksums: verify) { position, payload in
                        if position.index >= end { throw Done() }
                        try step(position, payload)
                        count += 1
                    }
                } catch is Done {}
                best = min(best, threadCPUTime() - start)
            }
            stages.append(Stage(name: name, seconds: best, records: count))
        }

        var sink = 0
        try pass("framing: LogReader.forEachRecord, no CRC") { _, payload in sink &+= payload.count }
        try pass("framing + CRC-32C check (as audit verify reads)", verify: true) { _, payload in
            sink &+= payload.count
        }
        try pass("+ LogRecord decode + entry id SHA-256 (RecordCodec.decode)") { _, payload in
            let decoded = try RecordCodec.decode(payload, at: "record")
            sink &+= decoded.chain.count
        }
        try pass("+ a location string per record, as replay builds it") { position, payload in
            let decoded = try RecordCodec.decode(payload, at: "\(reader.logDirectory) record \(position)")
            sink &+= decoded.chain.count
        }
        try pass("+ SignedEntry and EntryBody decode") { position, payload in
            let decoded = try RecordCodec.decode(payload, at: "\(reader.logDirectory) record \(position)")
            if case .entry(let bytes, _) = decoded.content {
                let body = try EntryBody(wireBytes: try SignedEntry(wireBytes: bytes).body)
                sink &+= Int(body.sequence)
            }
        }
        var view = LedgerView(catalog: data.catalog, roster: data.roster)
        try pass("+ LedgerView.apply (= LedgerReplay.view per record)") { position, payload in
            if position.index == 0 { view = LedgerView(catalog: data.catalog, roster: data.roster) }
            let decoded = try RecordCodec.decode(payload, at: "\(reader.logDirectory) record \(position)")
            if case .entry(let bytes, let id) = decoded.content {
                let body = try EntryBody(wireBytes: try SignedEntry(wireBytes: bytes).body)
                _ = view.apply(ViewEntry(id: id, body: body))
            }
        }
        var chain = RecordCodec.genesis
        try pass("+ local chain SHA-256 (RecordCodec.chain; LogStore.open adds it)") { position, payload in
            if position.index == 0 {
                chain = RecordCodec.genesis
                view = LedgerView(catalog: data.catalog, roster: data.roster)
            }
            let decoded = try RecordCodec.decode(payload, at: "\(reader.logDirectory) record \(position)")
            chain = RecordCodec.chain(after: chain, decoded.content)
            if case .entry(let bytes, let id) = decoded.content {
                let body = try EntryBody(wireBytes: try SignedEntry(wireBytes: bytes).body)
                _ = view.apply(ViewEntry(id: id, body: body))
            }
        }
        precondition(sink != 42, "keeps the work")
        return stages
    }
}
