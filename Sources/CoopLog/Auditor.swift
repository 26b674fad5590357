public import CoopLedger
import CoopSegments
import CoopWire
import Foundation

/// Offline verification of a node's log, independent of the daemon: framing and CRCs, the local chain, each
/// entry's encoding, origin, sequence number, per-origin chain and Ed25519 signature, and equivocation evidence.
///
/// Reads a copy of a data directory through ``LogReader`` (no lock, no repair). Each record's own checks
/// (decoding, canonical encoding, roster, signature) run on every core, a chunk of records at a time, while the
/// checks that need the log's order (the local chain, sequence numbers, per-origin chains) run on the calling
/// thread. Thread-safe: a pure function of the files and the roster.
public enum Auditor {
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
        var scan = Scan(logDirectory: directory + "/log")
        let sizes = segmentSizes(scan.logDirectory)
        let totalBytes = sizes.values.reduce(0, +)
        var files = LogReader.ScanOutcome()
        var read: UInt64 = 0
        try ChunkedDecode.forEach(
            read: { deliver in
                var failure: (any Error)?
                files = try LogReader.scanAll(directory: directory) { position, payload in
                    guard failure == nil else { return }
                    do { try deliver(position, payload) } catch { failure = error }
                    read += 1
                    if read % UInt64(ParallelDecode.chunkSize) == 0 {
                        let before = sizes.filter { $0.key < position.segment }.values.reduce(0, +)
                        progress?(before + position.offset, totalBytes)
                    }
                }
                if let failure { throw failure }
            },
            decode: { position, payload, _ in Checked(position: position, payload: payload, roster: roster) },
            apply: { position, checked in scan.absorb(position, checked) }
        )
        report.tornTail = files.tornTail
        report.unacknowledgedTail = files.unacknowledgedTail
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
        progress?(totalBytes, totalBytes)
        report.records = scan.records
        report.entries = scan.entries
        report.chainHead = scan.chain
        report.equivocations = scan.equivocations
        report.origins = scan.held.keys.sorted().map {
            OriginDigest(origin: $0, sequence: UInt64(scan.held[$0]!.count), head: scan.held[$0]!.last?.bytes ?? [])
        }
        report.problems = Array(
            scan.problems.enumerated()
                .sorted {
                    ($0.element.position?.index ?? .max, $0.offset) < ($1.element.position?.index ?? .max, $1.offset)
                }
                .map(\.element)
                .prefix(maxProblems)
        )
        return report
    }

    /// Sizes of the segment files by number, for progress in bytes (of the files read: through symbolic links).
    private static func segmentSizes(_ logDirectory: String) -> [UInt32: UInt64] {
        var sizes: [UInt32: UInt64] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: logDirectory)) ?? [] {
            let path = URL(fileURLWithPath: logDirectory + "/" + name).resolvingSymlinksInPath().path
            guard let number = SegmentHeader.segmentNumber(fileName: name),
                let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
            else { continue }
            sizes[number] = UInt64(size)
        }
        return sizes
    }

    /// The checks of one record that do not depend on the others. Runs on any thread.
    struct Checked: Sendable {
        var content: RecordContent?
        var claimedChain: [UInt8] = []
        /// Problems found in the record itself, before order is considered.
        var problems: [String] = []
        /// For an authentic-looking entry (decoded, canonical, from a roster peer): what order checks need.
        var origin: String?
        var sequence: UInt64?
        var previous: [UInt8] = []
        var orderable = false
        /// Set when the signature does not verify.
        var badSignature = false
        var equivocation: AuditedEquivocation?

        init(position: RecordPosition, payload: UnsafeRawBufferPointer, roster: RosterBook) {
            let decoded: DecodedRecord
            let entry: (body: ArraySlice<UInt8>, signature: ArraySlice<UInt8>)?
            do {
                (decoded, entry) = try RecordCodec.decodeRecord(payload, at: "record #\(position.index)")
            } catch {
                problems = ["\(error)"]
                return
            }
            content = decoded.content
            claimedChain = decoded.chain
            switch decoded.content {
            case .entry:
                // `RecordCodec.decodeRecord` has already refused a `SignedEntry` that is not canonical (by its layout,
                // or by re-encoding it when the layout is not protobuf-c's) and found its two fields.
                guard let entry else { return }
                let body: EntryBody
                do {
                    body = try EntryBody(wireBytes: entry.body)
                } catch {
                    problems = ["the entry does not decode: \(error)"]
                    return
                }
                origin = body.origin
                sequence = body.sequence
                previous = body.previous
                // The body is checked here, by re-encoding.
                guard body.wireBytes()[...] == entry.body else {
                    problems = ["the entry is not in canonical encoding"]
                    return
                }
                guard let member = roster.member(body.origin), member.role == .peer else {
                    problems = ["origin \"\(body.origin)\" is not a peer in the roster"]
                    return
                }
                orderable = true
                badSignature = entry.signature.withUnsafeBytes { signature in
                    entry.body.withUnsafeBytes { body in
                        !SignatureCheck.isValid(signature: signature, of: body, publicKey: member.signingPublicKey)
                    }
                }
            case .evidence(let evidence):
                do {
                    let key = try EntryVerifier(roster: roster).verify(evidence)
                    equivocation = AuditedEquivocation(
                        origin: key.origin,
                        sequence: key.sequence,
                        first: EntryID(of: evidence.first!),
                        second: EntryID(of: evidence.second!),
                        position: position
                    )
                } catch {
                    problems = ["evidence that proves nothing: \(error.reason)"]
                }
            }
        }
    }

    /// The checks that need the log's order, on the calling thread.
    private struct Scan {
        let logDirectory: String
        var records: UInt64 = 0
        var entries: UInt64 = 0
        var chain = RecordCodec.genesis
        var held: [String: [EntryID]] = [:]
        /// Origins whose chain already broke: their later entries are not checked for order again.
        var broken: Set<String> = []
        var equivocations: [AuditedEquivocation] = []
        var problems: [AuditProblem] = []

        init(logDirectory: String) {
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

        mutating func absorb(_ position: RecordPosition, _ checked: Checked) {
            records += 1
            guard let content = checked.content else {
                for p in checked.problems { problem(position, p) }
                return
            }
            let expected = RecordCodec.chain(after: chain, content)
            if expected != checked.claimedChain {
                problem(
                    position,
                    "the local chain breaks here: a record before this one was removed, inserted or reordered "
                        + "(or this record was altered)"
                )
            }
            chain = checked.claimedChain
            if case .entry(_, let id) = content {
                entries += 1
                for p in checked.problems { problem(position, p, origin: checked.origin, sequence: checked.sequence) }
                if checked.orderable, let origin = checked.origin, let sequence = checked.sequence {
                    order(position, origin: origin, sequence: sequence, previous: checked.previous, id: id)
                    if checked.badSignature {
                        problem(
                            position,
                            "the signature does not verify with \(origin)'s roster key",
                            origin: origin,
                            sequence: sequence
                        )
                    }
                }
            } else {
                for p in checked.problems { problem(position, p) }
                if let e = checked.equivocation { equivocations.append(e) }
            }
        }

        private mutating func order(
            _ position: RecordPosition,
            origin: String,
            sequence: UInt64,
            previous: [UInt8],
            id: EntryID
        ) {
            // Read in place: copying the origin's id array for every entry made audits quadratic.
            let expectedSequence = UInt64((held[origin]?.count ?? 0) + 1)
            if broken.contains(origin) {
                // Reported once at the break; signatures are still checked.
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
            } else if sequence > 1 && previous != held[origin]?.last?.bytes {
                broken.insert(origin)
                problem(
                    position,
                    "its previous hash is not the id of \(origin)#\(sequence - 1): the origin's chain breaks "
                        + "(later entries of \(origin) are not checked for order)",
                    origin: origin,
                    sequence: sequence
                )
            } else if sequence == 1 && !previous.isEmpty {
                problem(position, "a first entry with a previous hash", origin: origin, sequence: sequence)
            }
            if sequence == expectedSequence {
                held[origin, default: []].append(id)
            }
        }
    }
}
