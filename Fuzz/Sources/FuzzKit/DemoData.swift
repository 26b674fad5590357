import CoopDevTools
import CoopLedger
import CoopLog
import CoopSegments
import CoopWire
import Foundation

/// A small, valid data directory made the way a node makes one, for seeds: demo entries of the example nodes
/// (DemoLogGenerator), optionally one evidence record, written through SegmentedLog with a small segment size (so
/// there are sealed segments), and optionally opened and closed by LogStore (which writes the checkpoint).
public struct DemoLog: Sendable {
    /// The record payloads (encoded `coop.v1.LogRecord`s), in log order.
    public var records: [[UInt8]]
    /// The segment files, segment 1 first.
    public var segments: [[UInt8]]
    /// The `checkpoint` file, when one was written.
    public var checkpoint: [UInt8]?

    /// Makes one. `segmentSize` is SegmentedLog's option (at least 64); `evidence` appends an `Equivocation` of
    /// the last entry's origin and sequence number (a second, differently timed entry signed with its key).
    public static func make(
        entries: Int,
        seed: UInt64 = 1,
        segmentSize: UInt64 = 64 << 20,
        evidence: Bool = false,
        checkpoint: Bool = false
    ) throws -> DemoLog {
        let scratch = try ScratchDirectory(in: NSTemporaryDirectory())
        let generated = scratch.path + "/generated"
        let keys = try Repository.peerKeys()
        if entries > 0 {
            try runBlocking {
                try await DemoLogGenerator(
                    catalog: Repository.catalog,
                    roster: Repository.roster,
                    keys: keys,
                    seed: seed
                ).generate(into: generated, entries: entries)
            }
        }
        var records: [[UInt8]] = []
        if entries > 0 {
            try LogReader.open(directory: generated).forEachRecord { _, payload in records.append(Array(payload)) }
        }
        if evidence, let last = records.last {
            records.append(try equivocation(of: last, keys: keys))
        }

        let final = scratch.path + "/final"
        let log = try SegmentedLog.open(
            directory: final,
            options: SegmentedLog.Options(durability: .unsafeNoSync, segmentSize: segmentSize)
        )
        let appending = records
        try runBlocking {
            for record in appending { _ = try await log.append(record) }
            try await log.close()
        }
        if checkpoint {
            let store = try LogStore.open(directory: final, roster: Repository.roster, catalog: Repository.catalog)
            try runBlocking { try await store.close() }
        }
        let reader = try LogReader.open(directory: final)
        let segments = try (1...UInt32(reader.segmentCount)).map {
            [UInt8](try Data(contentsOf: URL(fileURLWithPath: reader.path(ofSegment: $0))))
        }
        let checkpointBytes = FileManager.default.contents(atPath: final + "/checkpoint").map { [UInt8]($0) }
        return DemoLog(records: records, segments: segments, checkpoint: checkpointBytes)
    }

    /// An evidence record after `record` (an entry record): the entry and a second one of the same origin and
    /// sequence number with its clock moved by one, signed with the origin's demo key.
    private static func equivocation(of record: [UInt8], keys: [NodeKeys]) throws -> [UInt8] {
        let decoded = try record.withUnsafeBytes { try RecordCodec.decode($0, at: "demo") }
        guard case .entry(let bytes, _) = decoded.content else { throw DemoDataError("the last record is no entry") }
        let first = try SignedEntry(wireBytes: bytes)
        var body = try EntryBody(wireBytes: first.body)
        guard let key = keys.first(where: { $0.name == body.origin }) else {
            throw DemoDataError("no demo key for \(body.origin)")
        }
        body.timestamp = HybridTimestamp(
            wallMs: (body.timestamp?.wallMs ?? 0) + 1,
            logical: body.timestamp?.logical ?? 0
        )
        let secondBody = body.wireBytes()
        let second = SignedEntry(body: secondBody, signature: key.makeSigner().sign(secondBody))
        let evidence = Equivocation(first: first, second: second)
        return RecordCodec.encode(.evidence(evidence), after: decoded.chain).bytes
    }
}

/// Making demo data failed.
public struct DemoDataError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
