import Foundation
import FuzzKit

// fuzz-frames: the frame scanner (FrameScanner), the search for the next valid frame that recovery uses to tell a
// torn tail from damage, and the CRC-32C arithmetic behind it, on arbitrary segment bytes.
//
// Input: a mode byte, then
// - mode even: the bytes of a segment file (header included), scanned as recovery does;
// - mode odd: records `[u16 LE length][bytes]…` that are framed with RecordFrame.append (plus a seal when bit 1 of
//   the mode is set), scanned, and then cut at a position the first two input bytes after the mode choose.
// Properties: the scanner moves forward frame by frame and stays inside the bytes; every record it returns has a
// matching CRC-32C (by an independent implementation) and, for framed input, is the payload that was framed;
// skipping records without checksums lands on the same offsets; `firstValidFrame(after:)` finds exactly the first
// offset a brute-force search finds; CRC32C.update, combine and SubrangeChecksums agree with the reference CRC.
// Nothing may trap.
@testable import CoopLog
@testable import CoopSegments

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    Seeds.writeIfAsked(target: "fuzz-frames") { try seeds() }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var cursor = InputCursor(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    let mode = cursor.u8()
    if mode & 1 == 0 {
        let segment = Array(cursor.rest())
        segment.withUnsafeBytes { scan($0, framed: nil) }
        checkChecksumArithmetic(segment, choice: mode)
    } else {
        let cut = Int(cursor.u16())
        var payloads: [[UInt8]] = []
        while !cursor.isAtEnd { payloads.append(Array(cursor.take(Int(cursor.u16())))) }
        var segment = SegmentHeader(segment: 1).bytes
        for payload in payloads { RecordFrame.append(payload, to: &segment) }
        let sealed = mode & 2 != 0
        if sealed {
            RecordFrame.appendSeal(recordCount: UInt64(payloads.count), nextIndex: UInt64(payloads.count), to: &segment)
        }
        segment.withUnsafeBytes { scan($0, framed: (payloads, sealed)) }
        // Cut short somewhere: the scanner must stop at damage or the end, never read past the cut.
        let truncated = Array(segment.prefix(cut % (segment.count + 1)))
        truncated.withUnsafeBytes { scan($0, framed: nil) }
        checkChecksumArithmetic(segment, choice: mode)
    }
    return 0
}

/// The largest input the brute-force search for a valid frame runs on.
private let bruteForceLimit = 4096

/// Scans like recovery: frames from the header on, until the end or damage; `framed` is what was framed.
private func scan(_ bytes: UnsafeRawBufferPointer, framed: (payloads: [[UInt8]], sealed: Bool)?) {
    _ = try? SegmentHeader.validate(bytes, expected: 1, path: "fuzz")
    let start = min(SegmentHeader.size, bytes.count)
    var scanner = FrameScanner(bytes: bytes, offset: start)
    var skipper = FrameScanner(bytes: bytes, offset: start)
    var records: [[UInt8]] = []
    var seals = 0
    var previous = start
    scanning: while true {
        let before = scanner.offset
        Property.require(before == previous, "the scanner's offset \(before) is not where the last frame ended")
        switch scanner.next(verify: true) {
        case .record(let offset, let payload):
            Property.require(offset == before, "a record is reported at \(offset), the scanner was at \(before)")
            let end = offset + RecordFrame.headerSize + payload.count
            Property.require(end <= bytes.count, "a record runs past the end of the bytes")
            Property.require(
                payload.baseAddress == bytes.baseAddress.map { $0 + offset + RecordFrame.headerSize },
                "a record's payload is not where its frame says"
            )
            let length = bytes.loadLittleEndianUInt32(at: offset)
            Property.require(Int(length) == payload.count, "a record's payload is not as long as its length field")
            Property.require(
                ReferenceCRC32C.frameChecksum(length: length, body: payload)
                    == bytes.loadLittleEndianUInt32(at: offset + 4),
                "the scanner returned a record at \(offset) whose CRC-32C does not match"
            )
            if seals == 0 {
                Property.require(skipper.skipRecord(), "skipRecord stops at \(skipper.offset), a valid record")
                Property.require(skipper.offset == end, "skipRecord and next disagree on where record \(offset) ends")
            }
            records.append(Array(payload))
            previous = end
        case .seal(let offset, _, _):
            Property.require(offset == before, "a seal is reported at \(offset), the scanner was at \(before)")
            if seals == 0 {
                Property.require(!skipper.skipRecord(), "skipRecord skipped a seal at \(offset)")
            }
            seals += 1
            previous = offset + RecordFrame.sealSize
            Property.require(previous <= bytes.count, "a seal runs past the end of the bytes")
        case .end(let offset):
            Property.require(offset == bytes.count, "end reported at \(offset) of \(bytes.count) bytes")
            break scanning
        case .damaged(let offset, let damage):
            Property.require(offset == before && scanner.offset == before, "damage moved the scanner")
            checkDamage(bytes, at: offset, damage)
            let found = FrameScanner.firstValidFrame(in: bytes, after: offset)
            // The brute-force search is quadratic: only on inputs small enough for it.
            guard bytes.count <= bruteForceLimit else { break scanning }
            let expected = bruteForceFirstValidFrame(bytes, after: offset)
            Property.require(
                found == expected,
                "firstValidFrame(after: \(offset)) = \(String(describing: found)), a brute-force search finds "
                    + "\(String(describing: expected)) (\(bytes.count) bytes)"
            )
            break scanning
        }
    }
    if let framed {
        Property.require(records == framed.payloads, "scanning framed records does not give them back")
        Property.require(seals == (framed.sealed ? 1 : 0), "scanning framed records finds \(seals) seals")
    }
}

/// The damage reported at `offset` is the one the bytes show.
private func checkDamage(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ damage: FrameDamage) {
    let available = bytes.count - offset
    switch damage {
    case .shortHeader(let n):
        Property.require(n == available && n < RecordFrame.headerSize, "shortHeader(\(n)) with \(available) bytes")
    case .badLength(let length):
        Property.require(
            length > SegmentedLog.maxRecordSize && length != RecordFrame.sealMarker,
            "badLength(\(length)) for an acceptable length"
        )
    case .shortPayload(let length, let left):
        Property.require(left == available - RecordFrame.headerSize && left < length, "shortPayload is not short")
    case .checksumMismatch(let stored, let computed):
        let length = bytes.loadLittleEndianUInt32(at: offset)
        let bodyCount = length == RecordFrame.sealMarker ? RecordFrame.sealBodySize : Int(length)
        let start = offset + RecordFrame.headerSize
        let reference = ReferenceCRC32C.frameChecksum(length: length, body: bytes[start..<start + bodyCount])
        Property.require(computed == reference, "checksumMismatch computed 0x\(computed), the reference 0x\(reference)")
        Property.require(stored != reference, "checksumMismatch reported for a matching checksum")
    }
}

/// Every offset after `offset`, in order: the first where a complete frame with a matching checksum starts. Uses
/// CRC32C.update, which `checkChecksumArithmetic` checks against the reference, and none of the subrange
/// arithmetic that `firstValidFrame` relies on.
private func bruteForceFirstValidFrame(_ bytes: UnsafeRawBufferPointer, after offset: Int) -> Int? {
    var candidate = offset + 1
    while candidate + RecordFrame.headerSize <= bytes.count {
        let length = bytes.loadLittleEndianUInt32(at: candidate)
        let bodyCount = length == RecordFrame.sealMarker ? RecordFrame.sealBodySize : Int(length)
        let start = candidate + RecordFrame.headerSize
        if length == RecordFrame.sealMarker || length <= SegmentedLog.maxRecordSize, bodyCount <= bytes.count - start {
            let crc = CRC32C.update(
                CRC32C.update(0, UnsafeRawBufferPointer(rebasing: bytes[candidate..<candidate + 4])),
                UnsafeRawBufferPointer(rebasing: bytes[start..<start + bodyCount])
            )
            if crc == bytes.loadLittleEndianUInt32(at: candidate + 4) { return candidate }
        }
        candidate += 1
    }
    return nil
}

/// CRC32C's incremental, combining and subrange forms agree with the reference on a range the input chooses.
private func checkChecksumArithmetic(_ bytes: [UInt8], choice: UInt8) {
    guard !bytes.isEmpty else { return }
    let a = bytes.count > 4 ? Int(bytes.loadLE(at: 0)) % bytes.count : 0
    let b = bytes.count > 8 ? Int(bytes.loadLE(at: 4)) % bytes.count : bytes.count
    let range = min(a, b)..<max(a, b)
    let split = range.lowerBound + (range.isEmpty ? 0 : Int(choice) % range.count)
    let reference = ReferenceCRC32C.checksum(bytes[range])
    bytes.withUnsafeBytes { all in
        let whole = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[range]))
        Property.require(whole == reference, "CRC32C.checksum of \(range.count) bytes differs from the reference")
        let left = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[range.lowerBound..<split]))
        let right = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[split..<range.upperBound]))
        Property.require(
            CRC32C.combine(left, right, countB: range.upperBound - split) == reference,
            "CRC32C.combine of \(split - range.lowerBound) + \(range.upperBound - split) bytes is wrong"
        )
        let incremental = CRC32C.update(
            CRC32C.update(0, UnsafeRawBufferPointer(rebasing: all[range.lowerBound..<split])),
            UnsafeRawBufferPointer(rebasing: all[split..<range.upperBound])
        )
        Property.require(incremental == reference, "CRC32C.update in two steps differs from the reference")
        let origin = Int(choice) % (range.lowerBound + 1)
        let subranges = SubrangeChecksums(bytes: all, from: origin)
        Property.require(
            subranges.checksum(of: range) == reference,
            "SubrangeChecksums(from: \(origin)).checksum(of: \(range)) differs from the reference"
        )
    }
}

/// Segment files of demo logs (sealed and unsealed, with evidence), framed records and a few damaged tails.
private func seeds() throws -> [Seeds.Seed] {
    var out: [Seeds.Seed] = []
    let demo = try DemoLog.make(entries: 12, seed: 5, segmentSize: 2048, evidence: true)
    for (i, segment) in demo.segments.enumerated() {
        out.append(Seeds.Seed("segment\(i + 1)", [0] + segment))
        out.append(Seeds.Seed("segment\(i + 1)-torn", [0] + segment.dropLast(5)))
    }
    var framed: [UInt8] = [3, 0xFF, 0x7F]
    for record in demo.records.prefix(4) {
        framed += [UInt8(record.count & 0xFF), UInt8(record.count >> 8)] + record
    }
    out.append(Seeds.Seed("framed", framed))
    out.append(Seeds.Seed("framed-empty", [1, 0x10, 0, 0, 0, 3, 0, 1, 2, 3]))
    let big = [UInt8](repeating: 0x5A, count: 3000)
    out.append(Seeds.Seed("framed-large", [1, 0x00, 0x10, 0xB8, 0x0B] + big))
    return out
}
