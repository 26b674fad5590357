public import CoopLedger
import CoopSegments
public import CoopWire
import Foundation

/// Someone with write access to a copy of a node's data directory: reads its segment files (docs/LOG-FORMAT.md),
/// lists the records with their offsets, and rewrites them — flip a byte, delete, swap or replace a record — at
/// three levels of care (``Repair``). For tamper tests of the auditor.
///
/// The model is the files' bytes as they were: every frame keeps its stored length and checksum and every seal
/// its stored counts unless a repair recomputes them, so `write` reproduces the files byte for byte when nothing
/// was changed. Loading needs well-formed framing (run it on an untampered log); checksums are not checked. A
/// value; not thread-safe.
public struct LogTamper: Sendable {
    /// How much a tamperer fixes up after changing something.
    public enum Repair: Int, Comparable, Sendable {
        /// Bytes only: lengths, checksums and seals stay as stored (a naive tamperer).
        case none
        /// The frame checksum of every record touched, and every seal's counts (a "smart" tamperer).
        case framing
        /// Also the local chain: the `LogRecord.chain` of the first record touched and of every record after it
        /// (a smarter tamperer). Per-origin chains and signatures are out of reach without the nodes' keys.
        case chain

        public static func < (lhs: Repair, rhs: Repair) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// One frame as stored: `[u32 length][u32 checksum][payload]`.
    public struct Frame: Sendable, Hashable {
        public var length: UInt32
        public var checksum: UInt32
        public var payload: [UInt8]

        /// A well-formed frame for `payload`.
        public init(payload: [UInt8]) {
            self.length = UInt32(payload.count)
            self.checksum = LogTamper.checksum(length: length, payload: payload)
            self.payload = payload
        }

        init(length: UInt32, checksum: UInt32, payload: [UInt8]) {
            self.length = length
            self.checksum = checksum
            self.payload = payload
        }

        /// The frame's bytes.
        public var bytes: [UInt8] { LogTamper.littleEndian(length) + LogTamper.littleEndian(checksum) + payload }

        /// Whether the stored checksum matches.
        public var isValid: Bool {
            length == UInt32(payload.count) && checksum == LogTamper.checksum(length: length, payload: payload)
        }
    }

    /// A record of the current model, where `write` puts it.
    public struct Record: Sendable {
        /// 0-based number in the whole log.
        public var index: Int
        public var segment: UInt32
        /// The segment file's path (in the directory the model was read from).
        public var file: String
        /// Byte offset of the frame header in the file.
        public var offset: UInt64
        public var frame: Frame
        /// The decoded payload, when it is a `coop.v1.LogRecord`.
        public var logRecord: CoopWire.LogRecord?

        /// Header plus payload.
        public var frameSize: Int { 8 + frame.payload.count }

        /// The `SignedEntry` bytes, when the record holds an entry.
        public var entryBytes: [UInt8]? {
            if case .entry(let bytes)? = logRecord?.record { return bytes }
            return nil
        }

        public var entry: SignedEntry? { entryBytes.flatMap { try? SignedEntry(wireBytes: $0) } }
        public var body: EntryBody? { entry.flatMap { try? EntryBody(wireBytes: $0.body) } }
        /// The entry's id (SHA-256 of its bytes).
        public var entryID: EntryID? { entryBytes.map { EntryID(digestOf: $0) } }
        public var origin: String? { body?.origin }
        public var sequence: UInt64? { body?.sequence }
        /// `origin#sequence`, as the auditor names entries.
        public var name: String? { body.map { "\($0.origin)#\($0.sequence)" } }
        public var isEvidence: Bool {
            if case .evidence? = logRecord?.record { return true }
            return false
        }
    }

    struct Segment: Sendable {
        var number: UInt32
        var header: [UInt8]
        var frames: [Frame]
        /// The seal frame's checksum and body, as stored; nil for an unsealed segment.
        var seal: (checksum: UInt32, body: [UInt8])?
    }

    /// The data directory the model was read from.
    public let directory: String
    var segments: [Segment]
    /// Whether `write` recomputes the seals (set by any change made with a repair).
    var resealing = false

    /// The chain value before the first record.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// Reads `directory/log/*.seg`.
    public init(directory: String) throws {
        self.directory = directory
        let logDirectory = directory + "/log"
        let names = try FileManager.default.contentsOfDirectory(atPath: logDirectory)
            .filter { $0.hasSuffix(".seg") }.sorted()
        segments = []
        for name in names {
            guard let number = UInt32(name.dropLast(4)) else { throw Self.error("\(name): not a segment name") }
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: logDirectory + "/" + name)))
            guard bytes.count >= 16 else { throw Self.error("\(name): shorter than a segment header") }
            var segment = Segment(number: number, header: Array(bytes[0..<16]), frames: [], seal: nil)
            var at = 16
            while at < bytes.count {
                guard bytes.count - at >= 8 else { throw Self.error("\(name) offset \(at): a cut frame header") }
                let length = Self.loadUInt32(bytes, at)
                let checksum = Self.loadUInt32(bytes, at + 4)
                let bodyCount = length == 0xFFFF_FFFF ? 16 : Int(length)
                guard bytes.count - at - 8 >= bodyCount else { throw Self.error("\(name) offset \(at): a cut frame") }
                let body = Array(bytes[(at + 8)..<(at + 8 + bodyCount)])
                at += 8 + bodyCount
                if length == 0xFFFF_FFFF {
                    guard at == bytes.count else { throw Self.error("\(name): bytes after the seal") }
                    segment.seal = (checksum, body)
                } else {
                    segment.frames.append(Frame(length: length, checksum: checksum, payload: body))
                }
            }
            segments.append(segment)
        }
    }

    // MARK: Reading

    /// The path of segment `number`'s file in `directory`.
    public func path(ofSegment number: UInt32, in directory: String? = nil) -> String {
        let digits = String(number)
        return (directory ?? self.directory) + "/log/" + String(repeating: "0", count: max(0, 8 - digits.count))
            + digits + ".seg"
    }

    /// Every record, in log order, with the offsets `write` gives it.
    public var records: [Record] {
        var out: [Record] = []
        for segment in segments {
            var offset: UInt64 = 16
            for frame in segment.frames {
                out.append(
                    Record(
                        index: out.count,
                        segment: segment.number,
                        file: path(ofSegment: segment.number),
                        offset: offset,
                        frame: frame,
                        logRecord: try? CoopWire.LogRecord(wireBytes: frame.payload)
                    )
                )
                offset += UInt64(8 + frame.payload.count)
            }
        }
        return out
    }

    /// Number of records.
    public var count: Int { segments.reduce(0) { $0 + $1.frames.count } }

    /// Segment numbers, oldest first.
    public var segmentNumbers: [UInt32] { segments.map(\.number) }

    /// Number of records in each segment, oldest first.
    public var recordsPerSegment: [Int] { segments.map(\.frames.count) }

    // MARK: Changing

    /// Flips the bits of `mask` in byte `byte` of record `index`'s frame (0–3: length, 4–7: checksum, then the
    /// payload). With `.framing` the checksum is recomputed afterwards (so a flip in the length or checksum field
    /// is only meaningful with `.none`); with `.chain` the local chain is rewritten from this record on, which
    /// needs the flipped payload to still decode as a `LogRecord`.
    public mutating func flipByte(ofRecord index: Int, at byte: Int, mask: UInt8 = 0x01, repair: Repair) throws {
        var frame = self[index]
        precondition(byte >= 0 && byte < 8 + frame.payload.count && mask != 0)
        switch byte {
        case 0..<4: frame.length ^= UInt32(mask) << (8 * UInt32(byte))
        case 4..<8: frame.checksum ^= UInt32(mask) << (8 * UInt32(byte - 4))
        default: frame.payload[byte - 8] ^= mask
        }
        try set(index, frame, repair: repair)
    }

    /// Replaces record `index`'s payload by `payload`; the stored length follows unless `repair` is `.none`.
    public mutating func replacePayload(ofRecord index: Int, with payload: [UInt8], repair: Repair) throws {
        var frame = self[index]
        frame.payload = payload
        if repair > .none { frame.length = UInt32(payload.count) }
        try set(index, frame, repair: repair)
    }

    /// Replaces the `SignedEntry` bytes of entry record `index` (the record keeps its stored chain value unless
    /// `repair` is `.chain`).
    public mutating func replaceEntry(ofRecord index: Int, with entryBytes: [UInt8], repair: Repair) throws {
        guard var record = records[index].logRecord, case .entry = record.record else {
            throw Self.error("record #\(index) does not hold an entry")
        }
        record.record = .entry(entryBytes)
        try replacePayload(ofRecord: index, with: record.wireBytes(), repair: repair)
    }

    /// Flips the bits of `mask` in byte `byte` of the `SignedEntry` bytes of entry record `index`.
    public mutating func flipEntryByte(ofRecord index: Int, at byte: Int, mask: UInt8 = 0x01, repair: Repair) throws {
        guard var bytes = records[index].entryBytes else { throw Self.error("record #\(index) does not hold an entry") }
        bytes[byte] ^= mask
        try replaceEntry(ofRecord: index, with: bytes, repair: repair)
    }

    /// Removes record `index`. Offsets of the records after it in its segment move back.
    public mutating func delete(record index: Int, repair: Repair) throws {
        let (s, f) = location(of: index)
        segments[s].frames.remove(at: f)
        if repair > .none { resealing = true }
        if repair == .chain && index < count { try rechain(from: index) }
    }

    /// Exchanges records `a` and `b` (their frames as stored).
    public mutating func swap(_ a: Int, _ b: Int, repair: Repair) throws {
        let frameA = self[a]
        let frameB = self[b]
        self[a] = frameB
        self[b] = frameA
        if repair > .none { resealing = true }
        if repair == .chain { try rechain(from: min(a, b)) }
    }

    /// Rewrites the local chain values of record `index` and every record after it, each from the stored chain
    /// value of the record before (genesis for record 0), and fixes their frames.
    public mutating func rechain(from index: Int) throws {
        let all = records
        var chain = index == 0 ? Self.genesis : (all[index - 1].logRecord?.chain ?? [])
        guard chain.count == 32 else { throw Self.error("record #\(index - 1) has no chain value") }
        for r in all[index...] {
            guard var record = r.logRecord else { throw Self.error("record #\(r.index) does not decode") }
            chain = try Self.chain(after: chain, record)
            record.chain = chain
            self[r.index] = Frame(payload: record.wireBytes())
        }
        resealing = true
    }

    /// The local chain value after `record`, following `previous`: SHA-256(previous ‖ tag ‖ id).
    public static func chain(after previous: [UInt8], _ record: CoopWire.LogRecord) throws -> [UInt8] {
        switch record.record {
        case .entry(let bytes):
            return EntryID(digestOf: previous + [0x01] + EntryID(digestOf: bytes).bytes).bytes
        case .evidence(let evidence):
            return EntryID(digestOf: previous + [0x02] + EntryID(digestOf: evidence.wireBytes()).bytes).bytes
        case nil:
            throw error("a record with neither an entry nor evidence")
        }
    }

    private mutating func set(_ index: Int, _ frame: Frame, repair: Repair) throws {
        var frame = frame
        if repair > .none {
            frame.checksum = Self.checksum(length: frame.length, payload: frame.payload)
            resealing = true
        }
        self[index] = frame
        if repair == .chain { try rechain(from: index) }
    }

    private subscript(index: Int) -> Frame {
        get {
            let (s, f) = location(of: index)
            return segments[s].frames[f]
        }
        set {
            let (s, f) = location(of: index)
            segments[s].frames[f] = newValue
        }
    }

    private func location(of index: Int) -> (segment: Int, frame: Int) {
        var rest = index
        for (s, segment) in segments.enumerated() {
            if rest < segment.frames.count { return (s, rest) }
            rest -= segment.frames.count
        }
        preconditionFailure("record #\(index) is past the end (\(count) records)")
    }

    // MARK: Writing

    /// The bytes of every segment file, by segment number.
    public var files: [(segment: UInt32, bytes: [UInt8])] {
        var next: UInt64 = 0
        return segments.map { segment in
            var bytes = segment.header
            for frame in segment.frames { bytes += frame.bytes }
            next += UInt64(segment.frames.count)
            if let seal = segment.seal {
                if resealing {
                    let body = Self.littleEndian(UInt64(segment.frames.count)) + Self.littleEndian(next)
                    bytes +=
                        Frame(
                            length: 0xFFFF_FFFF,
                            checksum: Self.checksum(length: 0xFFFF_FFFF, payload: body),
                            payload: body
                        )
                        .bytes
                } else {
                    bytes += Frame(length: 0xFFFF_FFFF, checksum: seal.checksum, payload: seal.body).bytes
                }
            }
            return (segment.number, bytes)
        }
    }

    /// Writes the segment files. With `target`, into `target/log/` (created; it must not hold segments) and the
    /// other plain files of the source directory (catalog.json, roster.json) are copied next to it; without,
    /// over the files the model was read from.
    public func write(to target: String? = nil) throws {
        let fm = FileManager.default
        if let target {
            try fm.createDirectory(atPath: target + "/log", withIntermediateDirectories: true)
            for name in try fm.contentsOfDirectory(atPath: directory) where name != "log" {
                var isDirectory: ObjCBool = false
                if fm.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue {
                    try? fm.removeItem(atPath: target + "/" + name)
                    try fm.copyItem(atPath: directory + "/" + name, toPath: target + "/" + name)
                }
            }
        }
        for (number, bytes) in files {
            try Data(bytes).write(to: URL(fileURLWithPath: path(ofSegment: number, in: target)))
        }
    }

    /// Cuts the file at `path` to `size` bytes.
    public static func truncate(_ path: String, to size: UInt64) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.truncate(atOffset: size)
    }

    /// Copies a data directory (segments and reference files).
    public static func copyDirectory(_ source: String, to target: String) throws {
        try FileManager.default.copyItem(atPath: source, toPath: target)
    }

    // MARK: Bytes

    /// CRC-32C of the little-endian `length` followed by `payload`, as frames store it.
    public static func checksum(length: UInt32, payload: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in littleEndian(length) + payload {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    static func littleEndian(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
    static func littleEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    static func loadUInt32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) }
    }

    static func error(_ message: String) -> any Error {
        POSIXError(.EINVAL, userInfo: [NSLocalizedDescriptionKey: "LogTamper: " + message])
    }
}
