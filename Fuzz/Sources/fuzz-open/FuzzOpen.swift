// fuzz-open: opening a mutated data directory with every reader: LogReader.open and forEachRecord,
// LogReader.scanAll, LedgerReplay.view, Auditor.verify (when the input's flag bit 2 asks for it: its signature
// checks are slow), and LogStore.open (which repairs a torn tail and uses the checkpoint), then closing the store
// and opening it again.
//
// Input: a DataDirImage (FuzzKit/DataDirImage.swift): a flags byte (repair frame checksums, repair the
// checkpoint's checksum) and files. Each run writes the files into a fresh folder (mkdtemp under /dev/shm or
// COOP_FUZZ_TMPDIR) and removes it afterwards. Properties: every reader throws or succeeds, never traps or
// hangs; they agree (what LogReader.open counts, forEachRecord delivers and scanAll delivers before damage;
// when the store opens, the reader did not find damage and the store holds as many records); a store that
// opened and closed cleanly opens again from its checkpoint with the same records, chain and view.
import CoopLedger
import CoopLog
import CoopSegments
import CoopWire
import Foundation
import FuzzKit

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    Seeds.writeIfAsked(target: "fuzz-open") { try seeds() }
    // Load the reference data before the first run, so its time is not charged to an input.
    _ = Repository.catalog
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOpen(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let image = DataDirImage(decoding: UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    if let checkpoint = image.checkpoint,
        KnownBugs.skip("checkpoint-origin-count", KnownBugs.checkpointOriginCountReached(checkpoint))
    {
        return -1
    }
    let scratch: ScratchDirectory
    do {
        scratch = try ScratchDirectory(in: ScratchDirectory.defaultParent)
        try image.write(to: scratch.path)
    } catch {
        Property.fail("set-up: cannot write the data directory: \(error)")
    }
    check(scratch.path, audit: image.flags & DataDirImage.runAuditor != 0)
    return 0
}

private func check(_ directory: String, audit: Bool) {
    let roster = Repository.roster
    let catalog = Repository.catalog

    // The offline readers first: they change no file.
    var readerDamage = false
    var readerCount: UInt64?
    do {
        let reader = try LogReader.open(directory: directory)
        readerCount = reader.recordCount
        var delivered: UInt64 = 0
        do {
            try reader.forEachRecord { position, payload in
                Property.require(
                    position.index == delivered,
                    "forEachRecord delivers record \(position.index) "
                        + "after \(delivered) records"
                )
                delivered += 1
                _ = try? RecordCodec.decode(payload, at: "fuzz")
            }
            Property.require(
                delivered == reader.recordCount,
                "LogReader.open counts \(reader.recordCount) records, forEachRecord delivers \(delivered)"
            )
        } catch {
            Property.fail("forEachRecord fails on a log LogReader.open accepted: \(error)")
        }
    } catch let error as LogError {
        readerDamage = error.code == .corrupt
    } catch {
        Property.fail("LogReader.open threw something other than LogError: \(error)")
    }

    var scanned: UInt64 = 0
    do {
        let scan = try LogReader.scanAll(directory: directory) { _, _ in scanned += 1 }
        Property.require(scan.records == scanned, "scanAll says \(scan.records) records, delivered \(scanned)")
        if let readerCount {
            Property.require(
                scan.damage == nil && scan.records == readerCount,
                "LogReader.open found \(readerCount) records and no damage; scanAll found \(scan.records) and "
                    + "\(scan.damage.map { "\($0)" } ?? "no damage")"
            )
        }
    } catch {
        Property.require(readerCount == nil, "scanAll throws on a log LogReader.open accepted: \(error)")
    }

    _ = try? LedgerReplay.view(directory: directory, catalog: catalog, roster: roster)
    if audit { _ = try? Auditor.verify(directory: directory, roster: roster) }

    // The store: repairs a torn tail, restores the checkpoint or replays.
    let store: LogStore
    do {
        store = try LogStore.open(directory: directory, roster: roster, catalog: catalog)
    } catch {
        Property.require(error is LogError, "LogStore.open threw something other than LogError: \(error)")
        return
    }
    Property.require(!readerDamage, "LogStore.open accepted a log in which LogReader.open found damage")
    if let readerCount {
        Property.require(
            store.recordCount == readerCount,
            "LogStore.open holds \(store.recordCount) records, LogReader.open counted \(readerCount)"
        )
    }
    let before = Snapshot(store)
    for origin in roster.peers.map(\.id) {
        _ = try? store.entries(of: origin, after: 0)
    }
    do {
        try runBlocking { try await store.close() }
    } catch {
        Property.fail("closing a store that opened fails: \(error)")
    }
    do {
        let reopened = try LogStore.open(directory: directory, roster: roster, catalog: catalog)
        let after = Snapshot(reopened)
        try runBlocking { try await reopened.close() }
        Property.require(
            after == before,
            "a store reopened after a clean close differs (checkpoint used: \(reopened.openReport.checkpointUsed)"
                + "): \(before.difference(to: after))"
        )
    } catch {
        Property.fail("a store that opened and closed cleanly does not open again: \(error)")
    }
}

/// What a store shows; equal before a clean close and after reopening.
private struct Snapshot: Equatable {
    var records: UInt64
    var chain: [UInt8]
    var versions: VersionVector
    var digests: [OriginDigest]
    var states: [ItemState]
    var evidence: [Equivocation]

    init(_ store: LogStore) {
        records = store.recordCount
        chain = store.chainHead
        versions = store.versionVector
        digests = store.digests
        states = store.states
        evidence = store.evidence
    }

    func difference(to other: Snapshot) -> String {
        var out: [String] = []
        if records != other.records { out.append("records \(records) → \(other.records)") }
        if chain != other.chain { out.append("chain head changed") }
        if versions != other.versions { out.append("version vector \(versions) → \(other.versions)") }
        if digests != other.digests { out.append("digests \(digests) → \(other.digests)") }
        if states != other.states { out.append("item states changed") }
        if evidence != other.evidence { out.append("evidence changed") }
        return out.joined(separator: "; ")
    }
}

/// Demo data directories: one segment or several sealed ones, with and without checkpoint and evidence, an empty
/// log, and a torn last record; each also with the checksum-repair flags set, and with the auditor.
private func seeds() throws -> [Seeds.Seed] {
    var out: [Seeds.Seed] = []
    let variants: [(String, Int, UInt64, Bool, Bool)] = [
        ("empty", 0, 64 << 20, false, true),
        ("one", 1, 64 << 20, false, false),
        ("small", 6, 64 << 20, false, true),
        ("segments", 10, 1500, true, true),
        ("segments-nockp", 10, 1500, true, false),
    ]
    for (label, entries, segmentSize, evidence, checkpoint) in variants {
        let demo = try DemoLog.make(
            entries: entries,
            seed: 13,
            segmentSize: segmentSize,
            evidence: evidence,
            checkpoint: checkpoint
        )
        out.append(Seeds.Seed(label, DataDirImage.encode(segments: demo.segments, checkpoint: demo.checkpoint)))
        out.append(
            Seeds.Seed(
                label + "-repair",
                DataDirImage.encode(flags: 3, segments: demo.segments, checkpoint: demo.checkpoint)
            )
        )
        out.append(
            Seeds.Seed(
                label + "-audit",
                DataDirImage.encode(flags: 7, segments: demo.segments, checkpoint: demo.checkpoint)
            )
        )
        if var last = demo.segments.last, last.count > 20 {
            last.removeLast(3)
            let torn = Array(demo.segments.dropLast()) + [last]
            out.append(Seeds.Seed(label + "-torn", DataDirImage.encode(segments: torn, checkpoint: demo.checkpoint)))
        }
    }
    return out
}
