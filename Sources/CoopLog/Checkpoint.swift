import CoopLedger
import CoopSegments
import CoopWire
import Foundation

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
    var origins: [(String, OriginIndex)]
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
            for id in index.ids { w.id(id) }
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
        var r = ByteReader(bytes)
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
            for _ in 0..<(try r.u32()) {
                let origin = try r.string()
                let n = Int(try r.u64())
                var index = OriginIndex()
                index.ids.reserveCapacity(n)
                index.records.reserveCapacity(n)
                for _ in 0..<n { index.ids.append(try r.id()) }
                for _ in 0..<n { index.records.append(try r.u64()) }
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
                evidence: evidence,
                view: view
            )
        } catch is ByteReader.Truncated {
            throw CheckpointProblem("it is truncated")
        }
    }

    /// Writes atomically; a crash leaves the old checkpoint or the new one, never a mix.
    func write(to directory: String) throws {
        let path = Self.path(in: directory)
        let temporary = path + ".tmp"
        let bytes = encode()
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw LogError(code: .io, message: "\(temporary): cannot create: \(errnoText())") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                close(fd)
                throw LogError(code: .io, message: "\(temporary): cannot write: \(errnoText())")
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            close(fd)
            throw LogError(code: .io, message: "\(temporary): fsync failed: \(errnoText())")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            throw LogError(code: .io, message: "\(path): cannot rename into place: \(errnoText())")
        }
        let dir = open(directory, O_RDONLY)
        if dir >= 0 {
            _ = fsync(dir)
            close(dir)
        }
    }

    static func read(from directory: String) -> Result<Checkpoint, CheckpointProblem>? {
        guard let bytes = readWhole(path(in: directory)) else { return nil }
        do {
            return .success(try decode(bytes))
        } catch let problem as CheckpointProblem {
            return .failure(problem)
        } catch {
            return .failure(CheckpointProblem("\(error)"))
        }
    }

    private func errnoText() -> String { String(cString: strerror(errno)) }

    /// The file's bytes in one buffer (no intermediate copy: a checkpoint of a large log is tens of megabytes).
    private static func readWhole(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        let size = Int(info.st_size)
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var done = 0
            while done < size {
                let n = Foundation.read(fd, buffer.baseAddress! + done, size - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                done += n
            }
            failed = done != size
            count = done
        }
        return failed ? nil : bytes
    }
}

/// Why a checkpoint was not used.
struct CheckpointProblem: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
