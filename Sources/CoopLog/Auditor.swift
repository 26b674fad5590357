public import CoopLedger
import CoopWire
import Dispatch
import Foundation
import Synchronization

/// Offline verification of a node's log, independent of the daemon: framing and CRCs, the local chain, each
/// entry's encoding, origin, sequence number, per-origin chain and Ed25519 signature, and equivocation evidence.
///
/// Reads a copy of a data directory through ``LogReader`` (no lock, no repair). Signatures are checked in
/// batches on all cores. Thread-safe: a pure function of the files and the roster.
public enum Auditor {
    /// Sizes of the segment files by number, for progress in bytes.
    private static func segmentSizes(_ logDirectory: String) -> [UInt32: UInt64] {
        var sizes: [UInt32: UInt64] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: logDirectory)) ?? [] {
            guard let number = SegmentHeader.segmentNumber(fileName: name),
                let size = try? FileManager.default.attributesOfItem(atPath: logDirectory + "/" + name)[.size] as? Int
            else { continue }
            sizes[number] = UInt64(size)
        }
        return sizes
    }

    /// Entries whose signatures are checked together.
    static let batchSize = 8192
    /// Problems reported at most (the first is always the first bad entry).
    public static let maxProblems = 50

    /// Verifies the log in `directory` against `roster`. `progress` is called now and then with the bytes read
    /// and the total. Throws only when the directory cannot be read at all (no log folder).
    public static func verify(
        directory: String,
        roster: RosterBook,
        progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> AuditReport {
        var report = AuditReport()
        var scan = Scan(roster: roster, logDirectory: directory + "/log")
        let sizes = segmentSizes(scan.logDirectory)
        let totalBytes = sizes.values.reduce(0, +)
        let files = try LogReader.scanAll(directory: directory) { position, payload in
            scan.record(position, payload)
            if position.index % 4096 == 0 {
                let before = sizes.filter { $0.key < position.segment }.values.reduce(0, +)
                progress?(before + position.offset, totalBytes)
            }
            if scan.batch.count >= batchSize { scan.flushSignatures() }
        }
        report.tornTail = files.tornTail
        if let damage = files.damage {
            scan.problems.append(
                AuditProblem(
                    position: files.damageSegment.map {
                        RecordPosition(segment: $0, offset: damage.offset ?? 0, index: files.damageIndex ?? 0)
                    },
                    file: damage.path ?? scan.logDirectory,
                    offset: damage.offset,
                    reason: (damage.detail ?? damage.message)
                        + "; the records after it cannot be read (the framing is lost)"
                )
            )
        }
        scan.finishSignatures()
        progress?(totalBytes, totalBytes)
        report.records = scan.records
        report.entries = scan.entries
        report.chainHead = scan.chain
        report.equivocations = scan.equivocations
        report.origins = scan.held.keys.sorted().map {
            OriginDigest(origin: $0, sequence: UInt64(scan.held[$0]!.count), head: scan.held[$0]!.last?.bytes ?? [])
        }
        report.problems = Array(
            scan.problems.sorted { ($0.position?.index ?? .max) < ($1.position?.index ?? .max) }.prefix(maxProblems)
        )
        return report
    }

    /// The sequential part of a verification: everything but the signatures, which go to `batch`.
    private struct Scan {
        let roster: RosterBook
        let logDirectory: String
        var records: UInt64 = 0
        var entries: UInt64 = 0
        var chain = RecordCodec.genesis
        var held: [String: [EntryID]] = [:]
        /// Origins whose chain already broke: their later entries are not checked for order again.
        var broken: Set<String> = []
        var equivocations: [AuditedEquivocation] = []
        var problems: [AuditProblem] = []
        var batch: [SignatureJob] = []
        let pipeline = SignaturePipeline()

        init(roster: RosterBook, logDirectory: String) {
            self.roster = roster
            self.logDirectory = logDirectory
        }

        mutating func problem(
            _ position: RecordPosition,
            _ reason: String,
            origin: String? = nil,
            sequence: UInt64? = nil
        ) {
            problems.append(
                AuditProblem(
                    position: position,
                    file: logDirectory + "/" + SegmentHeader.fileName(segment: position.segment),
                    offset: position.offset,
                    origin: origin,
                    sequence: sequence,
                    reason: reason
                )
            )
        }

        mutating func record(_ position: RecordPosition, _ payload: UnsafeRawBufferPointer) {
            records += 1
            let decoded: DecodedRecord
            do {
                decoded = try RecordCodec.decode(payload, at: "record #\(position.index)")
            } catch {
                problem(position, "\(error)")
                return
            }
            let expected = RecordCodec.chain(after: chain, decoded.content)
            if expected != decoded.chain {
                problem(
                    position,
                    "the local chain breaks here: a record before this one was removed, inserted or reordered "
                        + "(or this record was altered)"
                )
            }
            chain = decoded.chain
            switch decoded.content {
            case .entry(let bytes, let id):
                entries += 1
                entry(position, bytes: bytes, id: id)
            case .evidence(let evidence):
                self.evidence(position, evidence)
            }
        }

        private mutating func entry(_ position: RecordPosition, bytes: [UInt8], id: EntryID) {
            let signed: SignedEntry
            let body: EntryBody
            do {
                signed = try SignedEntry(wireBytes: bytes)
                body = try EntryBody(wireBytes: signed.body)
            } catch {
                problem(position, "the entry does not decode: \(error)")
                return
            }
            let (origin, sequence) = (body.origin, body.sequence)
            guard signed.wireBytes() == bytes, body.wireBytes() == signed.body else {
                problem(position, "the entry is not in canonical encoding", origin: origin, sequence: sequence)
                return
            }
            guard let member = roster.member(origin), member.role == .peer else {
                problem(
                    position,
                    "origin \"\(origin)\" is not a peer in the roster",
                    origin: origin,
                    sequence: sequence
                )
                return
            }
            // Read in place: copying the origin's id array for every entry made audits quadratic.
            let expectedSequence = UInt64((held[origin]?.count ?? 0) + 1)
            if broken.contains(origin) {
                // Reported once at the break; signatures are still checked below.
            } else if sequence != expectedSequence {
                broken.insert(origin)
                problem(
                    position,
                    "sequence number \(sequence) where \(expectedSequence) was expected (an entry of \(origin) is "
                        + (sequence > expectedSequence ? "missing before it)" : "repeated or out of order)")
                        + "; later entries of \(origin) are not checked for order",
                    origin: origin,
                    sequence: sequence
                )
            } else if sequence > 1 && body.previous != held[origin]?.last?.bytes {
                broken.insert(origin)
                problem(
                    position,
                    "its previous hash is not the id of \(origin)#\(sequence - 1): the origin's chain breaks "
                        + "(later entries of \(origin) are not checked for order)",
                    origin: origin,
                    sequence: sequence
                )
            } else if sequence == 1 && !body.previous.isEmpty {
                problem(position, "a first entry with a previous hash", origin: origin, sequence: sequence)
            }
            if sequence == expectedSequence {
                held[origin, default: []].append(id)
            }
            batch.append(
                SignatureJob(
                    position: position,
                    origin: origin,
                    sequence: sequence,
                    body: signed.body,
                    signature: signed.signature,
                    key: member.signingPublicKey
                )
            )
        }

        private mutating func evidence(_ position: RecordPosition, _ evidence: Equivocation) {
            do {
                let key = try EntryVerifier(roster: roster).verify(evidence)
                equivocations.append(
                    AuditedEquivocation(
                        origin: key.origin,
                        sequence: key.sequence,
                        first: EntryID(of: evidence.first!),
                        second: EntryID(of: evidence.second!),
                        position: position
                    )
                )
            } catch {
                problem(position, "evidence that proves nothing: \(error.reason)")
            }
        }

        /// Hands the batched signatures to the pipeline, which checks them on every core while the scan goes on.
        mutating func flushSignatures() {
            guard !batch.isEmpty else { return }
            pipeline.submit(batch)
            batch.removeAll(keepingCapacity: true)
        }

        /// Waits for the last batch and records every signature that failed.
        mutating func finishSignatures() {
            flushSignatures()
            for job in pipeline.finish() {
                problem(
                    job.position,
                    "the signature does not verify with \(job.origin)'s roster key",
                    origin: job.origin,
                    sequence: job.sequence
                )
            }
        }
    }

    /// Checks batches of signatures in the background, one batch at a time, each on all cores, so decoding the
    /// next batch overlaps with checking this one.
    final class SignaturePipeline: Sendable {
        private let group = DispatchGroup()
        private let failed = Mutex<[SignatureJob]>([])

        func submit(_ jobs: [SignatureJob]) {
            group.wait()  // at most one batch in flight
            DispatchQueue.global().async(group: group) { [self] in
                let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
                let chunk = (jobs.count + workers - 1) / workers
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    var bad: [SignatureJob] = []
                    for job in jobs[min(jobs.count, w * chunk)..<min(jobs.count, (w + 1) * chunk)] {
                        if job.signature.count != 64
                            || !SignatureCheck.isValid(signature: job.signature, of: job.body, publicKey: job.key)
                        {
                            bad.append(job)
                        }
                    }
                    if !bad.isEmpty { failed.withLock { $0 += bad } }
                }
            }
        }

        func finish() -> [SignatureJob] {
            group.wait()
            return failed.withLock { $0 }
        }
    }

    struct SignatureJob: Sendable {
        var position: RecordPosition
        var origin: String
        var sequence: UInt64
        var body: [UInt8]
        var signature: [UInt8]
        var key: [UInt8]
    }
}
