public import CoopLedger
import CoopLog
import CoopSegments
import CoopWire
import Foundation

/// Writes a valid data directory with a made-up but realistic history: the example nodes update the items
/// they take part in through the life cycle, see each other's entries with delays (so concurrent updates and
/// conflicts occur), comment, and sign off joint completions. For benchmarks, docs and auditor training.
///
/// Deterministic for a seed. Signs on the caller's task; one fsync per 4096 entries.
public struct DemoLogGenerator {
    public var catalog: CatalogBook
    public var roster: RosterBook
    public var keys: [NodeKeys]
    public var seed: UInt64 = 1

    public init(catalog: CatalogBook, roster: RosterBook, keys: [NodeKeys], seed: UInt64 = 1) {
        self.catalog = catalog
        self.roster = roster
        self.keys = keys
        self.seed = seed
    }

    /// Writes `entries` entries into `directory/log` (which must not exist yet), plus copies of the catalog and
    /// roster (`catalog.json`, `roster.json`). `progress` gets the entries written so far.
    public func generate(
        into directory: String,
        entries: Int,
        progress: ((Int) -> Void)? = nil
    ) async throws {
        guard !FileManager.default.fileExists(atPath: directory + "/log") else {
            throw LogError(code: .invalidArgument, message: "\(directory)/log exists; choose an empty directory")
        }
        let catalogJSON = JSONWriter.write(try ProtoJSON.json(catalog.catalog))
        let rosterJSON = JSONWriter.write(try ProtoJSON.json(roster.roster))
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try catalogJSON.write(toFile: directory + "/catalog.json", atomically: true, encoding: .utf8)
            try rosterJSON.write(toFile: directory + "/roster.json", atomically: true, encoding: .utf8)
        } catch {
            throw LogError(
                code: .io,
                message:
                    "\(directory): cannot create it with catalog.json and roster.json: \(error.localizedDescription)",
                path: directory,
                cause: error
            )
        }
        let log = try SegmentedLog.open(directory: directory)
        var world = World(generator: self)
        var chain = RecordCodec.genesis
        var batch: [[UInt8]] = []
        for n in 0..<entries {
            let (bytes, id) = try world.next()
            let record = RecordCodec.encode(.entry(bytes: bytes, id: id), after: chain)
            chain = record.chain
            batch.append(record.bytes)
            if batch.count == 4096 || n == entries - 1 {
                _ = try await log.append(batch)
                batch.removeAll(keepingCapacity: true)
                progress?(n + 1)
            }
        }
        try await log.close()
    }

    /// The simulated nodes.
    private struct World {
        struct Writer {
            var keys: NodeKeys
            var signer: EntrySigner
            var sequence: UInt64 = 0
            var previous: EntryID?
            var clock = HybridClock()
            /// What this node believes each item's heads and status are.
            var heads: [String: Set<EntryID>] = [:]
            var status: [String: ItemStatus] = [:]
            var progress: [String: UInt32] = [:]
            var items: [String]
        }

        struct Delivery {
            var due: Int
            var to: Int
            var item: String
            var id: EntryID
            var parents: [EntryID]
            var status: ItemStatus
            var progress: UInt32
            var completedBy: String?
        }

        var rng: SplitMix64
        var writers: [Writer]
        var deliveries: [Delivery] = []
        var step = 0
        var wallMs: UInt64 = 1_685_577_600_000  // 2023-06-01
        /// Completions of joint items awaiting the other side's sign-off: (item, entry id, completing node).
        var completions: [(String, EntryID, String)] = []
        let generator: DemoLogGenerator

        init(generator: DemoLogGenerator) {
            self.generator = generator
            rng = SplitMix64(seed: generator.seed)
            writers = generator.keys.map { keys in
                Writer(
                    keys: keys,
                    signer: keys.makeSigner(),
                    items: generator.catalog.items.filter { $0.participants.contains(keys.name) }.map(\.id)
                )
            }
        }

        static let notes = [
            "已召开联席会议，明确责任分工", "完成现场调研", "项目已进入实施阶段", "等待成都方反馈", "资金已落实",
            "受审批进度影响，进度滞后", "开展专题督导", "阶段性成果已上报", "完成年度目标", "双方确认验收材料",
        ]

        mutating func next() throws -> ([UInt8], EntryID) {
            step += 1
            wallMs += UInt64(rng.next() % 600_000)
            deliver()
            let w = Int(rng.next() % UInt64(writers.count))
            let roll = rng.next() % 100
            let payload: EntryBody.Payload
            var parents: [EntryID] = []
            let me = writers[w].keys.name
            if roll < 3, let i = completions.firstIndex(where: { $0.2 != me && writers[w].items.contains($0.0) }) {
                let (item, id, _) = completions.remove(at: i)
                payload = .signOff(SignOff(itemId: item, entryId: id.bytes, signer: "\(me) 联络员", note: "同意验收"))
            } else if roll < 12 {
                let item = writers[w].items[Int(rng.next() % UInt64(writers[w].items.count))]
                payload = .comment(Comment(itemId: item, text: Self.notes[Int(rng.next() % 10)], author: "\(me) 联络员"))
            } else {
                let item = writers[w].items[Int(rng.next() % UInt64(writers[w].items.count))]
                let current = writers[w].status[item] ?? .planned
                var options = Lifecycle.allowed[current, default: []].filter {
                    $0 != .cancelled && $0 != .suspended && $0 != .planned
                }
                if rng.next() % 50 != 0 { options.remove(.completed) }
                let status =
                    options.isEmpty
                    ? nil : options.sorted { $0.rawValue < $1.rawValue }[Int(rng.next() % UInt64(options.count))]
                if let status {
                    let before = writers[w].progress[item] ?? 0
                    let progress: UInt32 = status == .completed ? 100 : min(99, before + UInt32(rng.next() % 4))
                    parents = (writers[w].heads[item] ?? []).sorted()
                    payload = .statusUpdate(
                        StatusUpdate(
                            itemId: item,
                            status: status,
                            progress: progress,
                            note: Self.notes[Int(rng.next() % 10)],
                            reporter: "\(me) 台账员",
                            assignee: generator.catalog.item(item)?.cqLeadDepartments.first ?? ""
                        )
                    )
                } else {
                    payload = .comment(Comment(itemId: item, text: "事项已办结，持续跟踪", author: "\(me) 联络员"))
                }
            }
            var writer = writers[w]
            writer.sequence += 1
            let body = EntryBody(
                origin: me,
                sequence: writer.sequence,
                previous: writer.previous?.bytes ?? [],
                timestamp: try writer.clock.tick(physicalMs: wallMs),
                parents: parents.map(\.bytes),
                payload: payload
            )
            let bodyBytes = body.wireBytes()
            let bytes = SignedEntry(body: bodyBytes, signature: writer.signer.sign(bodyBytes)).wireBytes()
            let id = EntryID(digestOf: bytes)
            writer.previous = id
            writers[w] = writer
            if case .statusUpdate(let u) = payload {
                let delivery = Delivery(
                    due: step,
                    to: w,
                    item: u.itemId,
                    id: id,
                    parents: parents,
                    status: u.status,
                    progress: u.progress,
                    completedBy: u.status == .completed ? me : nil
                )
                apply(delivery)
                for other in writers.indices where other != w && writers[other].items.contains(u.itemId) {
                    var d = delivery
                    d.to = other
                    d.due = step + Int(rng.next() % 120)
                    deliveries.append(d)
                }
                if u.status == .completed, generator.catalog.item(u.itemId)?.requiresSignOff == true {
                    completions.append((u.itemId, id, me))
                }
            }
            return (bytes, id)
        }

        private mutating func deliver() {
            let due = deliveries.filter { $0.due <= step }
            deliveries.removeAll { $0.due <= step }
            for d in due { apply(d) }
        }

        private mutating func apply(_ d: Delivery) {
            var heads = writers[d.to].heads[d.item] ?? []
            heads.subtract(d.parents)
            heads.insert(d.id)
            writers[d.to].heads[d.item] = heads
            writers[d.to].status[d.item] = d.status
            writers[d.to].progress[d.item] = d.progress
        }
    }
}
