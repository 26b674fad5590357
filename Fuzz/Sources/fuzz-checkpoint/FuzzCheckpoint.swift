// fuzz-checkpoint: reading a checkpoint file (Checkpoint.decode) and the ledger view snapshot inside it.
//
// Input: a flags byte, then the file. Flag bit 0 replaces the last four bytes with the CRC-32C of the rest, so
// that mutations reach the parser behind the checksum. Properties: decoding throws, never traps; a checkpoint
// that decodes encodes to bytes that decode again and re-encode identically; its view snapshot restores
// (LedgerView(snapshot:)) or throws, and a restored view snapshots to bytes that restore to the same snapshot.
import CoopLedger
import CoopWire
import Foundation
import FuzzKit

@testable import CoopLog

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    Seeds.writeIfAsked(target: "fuzz-checkpoint") { try seeds() }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var cursor = InputCursor(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    let flags = cursor.u8()
    var bytes = Array(cursor.rest())
    if flags & 1 != 0, bytes.count >= 4 {
        bytes.storeLE(ReferenceCRC32C.checksum(bytes[..<(bytes.count - 4)]), at: bytes.count - 4)
    }
    if KnownBugs.skip("checkpoint-origin-count", KnownBugs.checkpointOriginCountReached(bytes)) { return -1 }
    check(bytes)
    return 0
}

private func check(_ bytes: [UInt8]) {
    let checkpoint: Checkpoint
    do {
        checkpoint = try Checkpoint.decode(bytes)
    } catch {
        // CheckpointProblem, or the WireError of an evidence blob: Checkpoint.read reports either as a reason
        // not to use the checkpoint.
        return
    }
    let encoded = checkpoint.encode()
    do {
        let again = try Checkpoint.decode(encoded)
        Property.require(again.encode() == encoded, "a checkpoint's encoding is not stable")
    } catch {
        Property.fail("a decoded checkpoint re-encodes to bytes that do not decode: \(error)")
    }
    let roster = Repository.roster
    let catalog = Repository.catalog
    guard
        let view = try? LedgerView(
            snapshot: checkpoint.view,
            catalog: catalog,
            roster: roster,
            setAside: [:],
            seen: []
        )
    else { return }
    let snapshot = view.snapshot()
    do {
        let again = try LedgerView(snapshot: snapshot, catalog: catalog, roster: roster, setAside: [:], seen: [])
        Property.require(again.snapshot() == snapshot, "a view's snapshot does not restore to the same snapshot")
    } catch {
        Property.fail("a restored view's own snapshot does not restore: \(error)")
    }
}

/// Checkpoints of demo logs (with and without evidence), with and without the repair flag.
private func seeds() throws -> [Seeds.Seed] {
    var out: [Seeds.Seed] = []
    for (entries, evidence) in [(0, false), (3, false), (20, true), (60, true)] {
        let demo = try DemoLog.make(entries: entries, seed: 11, evidence: evidence, checkpoint: true)
        guard let checkpoint = demo.checkpoint else { throw DemoDataError("no checkpoint written") }
        out.append(Seeds.Seed("demo\(entries)", [0] + checkpoint))
        out.append(Seeds.Seed("demo\(entries)-repair", [1] + checkpoint))
    }
    return out
}
