import CoopLedger
import CoopSegments
import CoopWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A snapshot of a store's state at a log position, so that opening a large log does not replay it all.
///
/// Written at `DIR/checkpoint` (atomically: temporary file, fsync, rename, directory fsync) when the store
/// closes. Trusted only after it is checked against the log: its record count is within the log, the log's
/// record there carries the same local chain value, the catalog and roster hashes are the current ones, and its
/// own CRC-32C matches. Otherwise the store replays the whole log (and says why in ``LogStore/openReport``).
struct Checkpoint {
    static let magic = Array("COOPCKP1".utf8)
    static let version: UInt32 = 1

    var recordCount: UInt64
    var chain: [UInt8]
    var catalogHash: [UInt8]
    var rosterHash: [UInt8]
    var clock: HybridTimestamp
    /// Each origin's index; its positions are into ``ids``.
    var origins: [(String, OriginIndex)]
    /// The entry ids the origins' positions refer to: when written, the store view's ``LedgerView/seenIDs``; when
    /// read, the ids in the order the file lists them (origin after origin, each in sequence order), so that a view
    /// given them in this order holds each at the position its origin's index names.
    var ids: [EntryID]
    var evidence: [Equivocation]
    var view: [UInt8]

    static func path(in directory: String) -> String { directory + "/checkpoint" }

    func encode() -> [UInt8] {
        var w = ByteWriter()
        w.raw(Self.magic)
        w.u32(Self.version)
        w.u64(recordCount)
        w.raw(chain)
        w.raw(catalogHash)
        w.raw(rosterHash)
        w.u64(clock.wallMs)
        w.u32(clock.logical)
        w.u32(UInt32(origins.count))
        for (origin, index) in origins {
            w.string(origin)
            w.u64(index.count)
            for position in index.positions { w.id(ids[Int(position)]) }
            for record in index.records { w.u64(record) }
        }
        w.u32(UInt32(evidence.count))
        for e in evidence { w.blob(e.wireBytes()) }
        w.blob(view)
        var bytes = w.bytes
        withUnsafeBytes(of: CRC32C.checksum(bytes).littleEndian) { bytes += $0 }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> Checkpoint {
        guard bytes.count > 12 else { throw CheckpointProblem("it is too short") }
        let end = bytes.count - 4
        let stored = bytes[end...].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let computed = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<end])) }
        guard computed == stored else { throw CheckpointProblem("its checksum does not match") }
        // The reader stops before the checksum: no field may run into it.
        var r = ByteReader(bytes, end: end)
        do {
            guard Array(try r.raw(8)) == magic, try r.u32() == version else {
                throw CheckpointProblem("it is not a version \(version) checkpoint")
            }
            let recordCount = try r.u64()
            let chain = Array(try r.raw(32))
            let catalogHash = Array(try r.raw(32))
            let rosterHash = Array(try r.raw(32))
            let clock = HybridTimestamp(wallMs: try r.u64(), logical: try r.u32())
            var origins: [(String, OriginIndex)] = []
            var ids: [EntryID] = []
            // At most this many entries fit in the rest of the file (40 bytes each): room for all ids at once.
            ids.reserveCapacity(r.remaining / 40)
            for _ in 0..<(try r.u32()) {
                let origin = try r.string()
                // Each id takes 32 bytes and each record number 8: a count the rest cannot hold is damage, and
                // must not reach `Int(_:)` or `reserveCapacity`.
                let declared = try r.u64()
                guard declared <= UInt64(r.remaining / 40) else {
                    throw CheckpointProblem("origin \(origin) claims \(declared) entries, more than the file holds")
                }
                let n = Int(declared)
                // A file of at most `maxSize` bytes holds far fewer ids than positions can count (2³²).
                let first = UInt32(ids.count)
                var index = OriginIndex()
                index.reserveCapacity(n)
                for _ in 0..<n { ids.append(try r.id()) }
                for k in 0..<n { index.append(position: first + UInt32(k), record: try r.u64()) }
                origins.append((origin, index))
            }
            var evidence: [Equivocation] = []
            for _ in 0..<(try r.u32()) { evidence.append(try Equivocation(wireBytes: try r.blob())) }
            let view = try r.blob()
            guard r.offset == end else { throw CheckpointProblem("it has bytes after its view") }
            return Checkpoint(
                recordCount: recordCount,
                chain: chain,
                catalogHash: catalogHash,
                rosterHash: rosterHash,
                clock: clock,
                origins: origins,
                ids: ids,
                evidence: evidence,
                view: view
            )
        } catch is ByteReader.Truncated {
            throw CheckpointProblem("it is truncated")
        }
    }

    /// Writes atomically through the checked syscall layer: a temporary file, fsync, rename into place, fsync of
    /// the directory. A crash leaves the old checkpoint or the new one, never a mix. Throws ``LogError`` (`.io`)
    /// naming the call and file; the temporary file is removed on failure.
    func write(to directory: String) throws(LogError) {
        let path = Self.path(in: directory)
        let temporary = path + ".tmp"
        let bytes = encode()
        let fd = try Syscall.openFile(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        var failure: LogError?
        bytes.withUnsafeBytes { raw in
            do throws(LogError) {
                try Syscall.pwriteAll(fd, raw, at: 0, path: temporary)
                try Syscall.fullSync(fd, path: temporary)
            } catch {
                failure = error
            }
        }
        if let failure {
            Syscall.closeFile(fd)
            try? Syscall.unlink(temporary)
            throw failure
        }
        Syscall.closeFile(fd)
        try Syscall.rename(temporary, to: path)
        try Syscall.syncDirectory(directory)
    }

    /// What reading the checkpoint file found.
    enum ReadOutcome {
        /// There is no checkpoint file.
        case missing
        case found(Checkpoint)
        /// There is one, but it cannot be read or does not decode; the message says which and why.
        case unusable(CheckpointProblem)
    }

    /// Reads and decodes `DIR/checkpoint`. Never traps on a damaged or crafted file; a file that exists but
    /// cannot be read is `.unusable` (reported, never taken for "no checkpoint").
    static func read(from directory: String) -> ReadOutcome {
        let path = path(in: directory)
        let bytes: [UInt8]
        do {
            bytes = try readWhole(path)
        } catch {
            if (error.cause as? LogError.SystemError)?.errno == ENOENT { return .missing }
            return .unusable(CheckpointProblem("\(path) cannot be read: \(error.message)"))
        }
        do {
            return .found(try decode(bytes))
        } catch let problem as CheckpointProblem {
            return .unusable(problem)
        } catch {
            return .unusable(CheckpointProblem("\(error)"))
        }
    }

    /// The file's bytes in one buffer (no intermediate copy: a checkpoint of a large log is tens of megabytes).
    private static func readWhole(_ path: String) throws(LogError) -> [UInt8] {
        let fd = try Syscall.openFile(path, O_RDONLY)
        defer { Syscall.closeFile(fd) }
        let size = try Syscall.fileSize(fd, path: path)
        guard size <= maxSize else {
            throw LogError(code: .tooLarge, message: "\(path) is \(size) bytes, more than a checkpoint can be")
        }
        var failure: LogError?
        let bytes = [UInt8](unsafeUninitializedCapacity: Int(size)) { buffer, count in
            do throws(LogError) {
                count = try Syscall.preadFully(fd, into: UnsafeMutableRawBufferPointer(buffer), at: 0, path: path)
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        guard bytes.count == Int(size) else {
            throw LogError(code: .io, message: "\(path) shrank while it was read (\(bytes.count) of \(size) bytes)")
        }
        return bytes
    }

    /// The largest checkpoint file read (4 GiB): far above a real one, so that a crafted size cannot exhaust memory.
    static let maxSize: UInt64 = 4 << 30
}

/// Why a checkpoint was not used.
struct CheckpointProblem: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
