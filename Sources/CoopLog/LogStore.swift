public import CoopLedger
public import CoopSegments
public import CoopWire
import Foundation
import Synchronization

/// A node's log of signed, chained entries of every origin, with its ledger view.
///
/// **Threading.** `Sendable`: call it from any task. Decisions (sequence numbers, chains, what is a duplicate or
/// an equivocation) are taken under one short lock, in the order records go to disk; signature checks run on the
/// caller's task outside it. Local writes are signed one after another (each names the previous entry's id) by one
/// caller at a time, the one that found nobody signing, for every write waiting (``AppendQueue``); the others await
/// a continuation rather than block a thread, and the signature itself is made outside the lock. Appends and ingests
/// return only after the fsync that covers them (group commit: concurrent callers share one). Reads see durable
/// entries only, except the view, which also includes entries queued for the disk (a failed fsync stops the store,
/// see ``SegmentedLog``).
///
/// **Rules.** Local writes are signed with the node's key and checked against the ledger's rules and the
/// node's view. Remote entries must be authentic (``EntryVerifier``); per origin they are stored in sequence
/// order with a valid chain; one that arrives early waits in memory until the gap is filled. Two different
/// entries with one origin and sequence number are stored as evidence (``Equivocation``), and that origin's
/// entries from there on are set aside in the view.
public final class LogStore: Sendable {
    /// How to open a store.
    public struct Options: Sendable {
        /// Durable (fsync before returning; the default) or not (benchmarks, tests).
        public var durability: SegmentedLog.Durability = .durable
        /// Segment file size before rolling to the next.
        public var segmentSize: UInt64 = 64 << 20
        /// Physical time in milliseconds since the epoch (tests inject their own).
        public var physicalClock: @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970 * 1000) }
        /// Most early entries kept per origin while a gap is open.
        public var maxPendingPerOrigin = 10_000
        /// An entry stamped more than this many milliseconds ahead of this node's clock is held (neither stored
        /// nor applied) until the clock catches up, and the clock never adopts a remote time beyond it.
        public var maxClockSkewMs: UInt64 = 60_000
        /// Most entries held for clock skew at once; past it such entries are refused (a peer offers them again).
        public var maxHeldEntries = 10_000
        /// Told what each group commit of the segmented log did (records, bytes, fsync latency), for metrics; see
        /// ``SegmentedLog/CommitObserver`` for its threading contract.
        public var onCommit: SegmentedLog.CommitObserver?

        public init() {}

        /// The options of the segmented log under the store.
        var segmentedLogOptions: SegmentedLog.Options {
            var options = SegmentedLog.Options(durability: durability, segmentSize: segmentSize)
            options.onCommit = onCommit
            return options
        }
    }

    /// The data directory.
    public let directory: String
    /// The node's own id when it can write, else `nil` (read-only or relay use).
    public let identity: String?
    public let roster: RosterBook
    public let catalog: CatalogBook
    public let options: Options
    let log: SegmentedLog
    let verifier: EntryVerifier
    let state: Mutex<StoreState>
    /// Local appends waiting for the one that signs them (``AppendQueue``); never held with ``state``'s lock.
    let appends = Mutex(AppendQueue())
    /// ``StoreState/durableCount`` as last set under the lock, so that the many callers one group commit answers
    /// need not all take the lock to learn that their records are durable (``settle(_:)``).
    let durableRecords: Atomic<UInt64>

    /// What opening the segment files found and repaired (a torn last record cut off).
    public var recoveryReport: RecoveryReport { log.recoveryReport }
    /// What opening did: recovery, checkpoint, records replayed.
    public let openReport: OpenReport

    init(
        directory: String,
        identity: String?,
        roster: RosterBook,
        catalog: CatalogBook,
        options: Options,
        log: SegmentedLog,
        openReport: OpenReport,
        state: consuming sending StoreState
    ) {
        self.openReport = openReport
        self.directory = directory
        self.identity = identity
        self.roster = roster
        self.catalog = catalog
        self.options = options
        self.log = log
        self.verifier = EntryVerifier(roster: roster)
        self.durableRecords = Atomic(state.durableCount)
        self.state = Mutex(state)
    }

    /// Waits for every write queued before it (they complete and are durable), syncs, writes a checkpoint of
    /// exactly the durable records while the log's lock is still held (so no other process can open the log in
    /// between), then closes the files and releases the lock. Writes that start afterwards throw
    /// ``LogError/Code/closed``. After a failed write no checkpoint is written: the next open finds out from the
    /// files what reached the disk.
    public func close() async throws {
        try await log.close(beforeReleasing: { [self] in
            guard state.withLock({ $0.failure == nil }) else { return }
            try checkpoint()
        })
    }
}

/// Everything the store decides under its lock.
struct StoreState {
    var origins: [String: OriginIndex] = [:]
    /// The local chain after the last record queued.
    var chain: [UInt8] = RecordCodec.genesis
    /// Records queued (durable or not).
    var recordCount: UInt64 = 0
    /// Records known durable (every record below this index).
    var durableCount: UInt64 = 0
    var clock = HybridClock()
    var view: LedgerView
    /// Entries queued but not yet durable: their record index, bytes and view entry.
    var inFlight: [(record: UInt64, bytes: [UInt8], entry: ViewEntry)] = []
    /// Early entries waiting for their origin's gap to be filled.
    var pending: [String: [UInt64: VerifiedEntry]] = [:]
    /// Evidence held, by origin and sequence number.
    var evidence: [OriginSequenceKey: Equivocation] = [:]
    /// The signer of local entries; `nil` in a read-only store.
    var signer: EntrySigner?
    /// Remote clocks seen running ahead, by origin: how far (ms).
    var skews: [String: UInt64] = [:]
    /// Entries stamped too far ahead of this node's clock, held until it catches up.
    var held: [EntryID: VerifiedEntry] = [:]
    /// Evidence records queued since opening (a generation count for refolds).
    var evidenceCount = 0
    /// Entries that did not chain onto what the store holds, newest last (at most ``maxForkReports``).
    var forkReports: [ForkReport] = []
    /// The write error that stopped the store, if one did.
    var failure: LogError?
    /// Times the view was refolded from the log because evidence changed what is set aside.
    var viewRebuilds = 0

    static let maxForkReports = 100

    /// Fork reports made since opening.
    var forkCount = 0

    mutating func reportFork(_ report: ForkReport) {
        forkCount += 1
        if forkReports.count == Self.maxForkReports { forkReports.removeFirst() }
        forkReports.append(report)
    }

    /// Per origin, the first sequence number it equivocated at.
    var setAside: [String: UInt64] { RecordCodec.setAside(evidence) }
}

/// What a local write produced. Returned once the entry is durable.
public struct AppendResult: Sendable {
    public var id: EntryID
    public var signed: SignedEntry
    public var body: EntryBody
    /// The item's state after the write.
    public var state: ItemState?
}

/// What became of an ingested entry.
public enum IngestOutcome: Sendable, Hashable {
    /// Stored (durable), plus how many waiting successors it released.
    case stored(EntryID, released: Int)
    /// Already held.
    case duplicate
    /// Its origin's entries before it are missing; it waits in memory for `missingFrom` … onward.
    case pending(missingFrom: UInt64)
    /// It conflicts with the entry held at its origin and sequence number; the evidence is stored.
    case equivocation(origin: String, sequence: UInt64)
    /// Its clock runs this many milliseconds ahead of this node's, more than the allowed skew: it is held in
    /// memory (not stored, not applied) and taken when the clock catches up (``LogStore/releaseHeldEntries()``).
    case held(aheadMs: UInt64)
}

/// An authentic entry that named another predecessor than the entry this store holds before it: a sign that its
/// origin forked (or lies about its chain), for operators. Without a second entry at the same sequence number
/// it proves nothing, so no evidence is made; the entry is refused or, if it was waiting for a gap, dropped.
public struct ForkReport: Sendable, Hashable, CustomStringConvertible {
    /// What the store did with the entry.
    public enum Action: Sendable, Hashable {
        /// It arrived in order and was refused.
        case refused
        /// It was waiting for a gap; when the gap filled it did not chain on, so it was dropped.
        case droppedWhileWaiting
    }

    public var origin: String
    public var sequence: UInt64
    public var entry: EntryID
    /// The predecessor it names.
    public var claimedPrevious: EntryID?
    /// The predecessor this store holds.
    public var heldPrevious: EntryID?
    public var action: Action

    public var description: String {
        "\(origin)#\(sequence) (\(entry.short)) names \(claimedPrevious?.short ?? "-") before it, but "
            + "\(origin)#\(sequence - 1) here is \(heldPrevious?.short ?? "-"): "
            + (action == .refused ? "refused" : "dropped while it waited for a gap")
    }
}
