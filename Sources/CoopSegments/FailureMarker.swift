/// The small file `log/FAILURE` that a durable log writes when a write or sync of a group commit fails: where the
/// acknowledged records end, and which call failed with which `errno`.
///
/// A plain value; thread-safe. The file is text, one `key value` line each, so an operator can read it:
///
/// ```
/// COOPLOG-FAILURE 1
/// acknowledged-records 1234
/// acknowledged-end 3 56789
/// failed-call fdatasync
/// errno 5
/// path /srv/coop/log/00000003.seg
/// message fdatasync failed on /srv/coop/log/00000003.seg: Input/output error
/// crc32c 1A2B3C4D
/// ```
///
/// `acknowledged-end` is the segment number and byte offset where the records that were acknowledged end; the last
/// line is the CRC-32C of every byte before it. It is written to `FAILURE.tmp`, synced, renamed to `FAILURE` and
/// the `log/` directory synced. On open, recovery keeps exactly the acknowledged records, cuts everything after
/// them, reports it in ``RecoveryReport/unacknowledgedTail``, and then removes the marker.
struct FailureMarker: Equatable, Sendable {
    static let fileName = "FAILURE"
    static let temporaryName = "FAILURE.tmp"
    static let magic = "COOPLOG-FAILURE 1"

    /// How many records were acknowledged (the index of the first record that was not).
    var acknowledgedRecords: UInt64
    /// The segment and byte offset where the acknowledged records end.
    var segment: UInt32
    var offset: UInt64
    /// The failed call (`fdatasync`, `pwrite`, …), its `errno`, file and message.
    var call: String
    var errno: Int32
    var path: String
    var message: String

    init(acknowledgedRecords: UInt64, segment: UInt32, offset: UInt64, failure: LogError) {
        self.acknowledgedRecords = acknowledgedRecords
        self.segment = segment
        self.offset = offset
        let system = failure.cause as? LogError.SystemError
        self.call = system?.call ?? "unknown"
        self.errno = system?.errno ?? 0
        self.path = failure.path ?? ""
        self.message = failure.message
    }

    /// The file's bytes.
    var bytes: [UInt8] {
        func line(_ text: String) -> String {
            String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 }) + "\n"
        }
        var text = Self.magic + "\n"
        text += line("acknowledged-records \(acknowledgedRecords)")
        text += line("acknowledged-end \(segment) \(offset)")
        text += line("failed-call \(call)")
        text += line("errno \(errno)")
        text += line("path \(path)")
        text += line("message \(message)")
        var bytes = Array(text.utf8)
        let crc = String(CRC32C.checksum(bytes), radix: 16, uppercase: true)
        bytes += Array(("crc32c " + String(repeating: "0", count: 8 - crc.count) + crc + "\n").utf8)
        return bytes
    }

    /// Parses the file's bytes; nil if they are not a complete marker with a matching checksum.
    init?(bytes: [UInt8]) {
        guard bytes.last == UInt8(ascii: "\n"), let crcStart = bytes.dropLast().lastIndex(of: UInt8(ascii: "\n"))
        else { return nil }
        let body = Array(bytes[...crcStart])
        let crcLine = String(decoding: bytes[(crcStart + 1)...].dropLast(), as: UTF8.self)
        guard crcLine.hasPrefix("crc32c "), let crc = UInt32(crcLine.dropFirst(7), radix: 16),
            crc == CRC32C.checksum(body)
        else { return nil }
        var fields: [String: String] = [:]
        let lines = String(decoding: body, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first.map(String.init) == Self.magic else { return nil }
        for line in lines.dropFirst() where !line.isEmpty {
            guard let space = line.firstIndex(of: " ") else { return nil }
            fields[String(line[..<space])] = String(line[line.index(after: space)...])
        }
        let end = fields["acknowledged-end"]?.split(separator: " ") ?? []
        guard let count = fields["acknowledged-records"].flatMap({ UInt64($0) }), end.count == 2,
            let segment = UInt32(end[0]), let offset = UInt64(end[1]),
            let errno = fields["errno"].flatMap({ Int32($0) })
        else { return nil }
        self.acknowledgedRecords = count
        self.segment = segment
        self.offset = offset
        self.call = fields["failed-call"] ?? "unknown"
        self.errno = errno
        self.path = fields["path"] ?? ""
        self.message = fields["message"] ?? ""
    }

    /// Writes the marker durably in `logDirectory`: temporary file, sync, rename, directory sync.
    func write(in logDirectory: String, fileSystem: any SegmentFileSystem) throws(LogError) {
        let temporary = logDirectory + "/" + Self.temporaryName
        let fd = try fileSystem.openFile(temporary, .createOrTruncate)
        do {
            try bytes.withBytes { (bytes) throws(LogError) in
                try fileSystem.pwriteAll(fd, bytes, at: 0, path: temporary)
            }
            try fileSystem.fullSync(fd, path: temporary)
        } catch {
            fileSystem.closeFile(fd)
            throw error
        }
        fileSystem.closeFile(fd)
        try fileSystem.rename(temporary, to: logDirectory + "/" + Self.fileName)
        try fileSystem.syncDirectory(logDirectory)
    }

    /// Reads the marker of `logDirectory`, given the names in it: `FAILURE`, or else a complete `FAILURE.tmp` (a
    /// crash between its sync and the rename). A `FAILURE` that cannot be parsed is damage.
    static func read(
        in logDirectory: String,
        names: [String],
        fileSystem: any SegmentFileSystem
    ) throws(LogError) -> FailureMarker? {
        for name in [fileName, temporaryName] where names.contains(name) {
            let path = logDirectory + "/" + name
            let bytes = try readSmallFile(path, fileSystem: fileSystem)
            if let marker = FailureMarker(bytes: bytes) { return marker }
            if name == fileName {
                throw LogError.corrupt(
                    "the failure marker is damaged (it is written atomically, so this is not a crash); it said "
                        + "where the acknowledged records end after a failed write or sync",
                    path: path,
                    offset: nil
                )
            }
        }
        return nil
    }

    private static func readSmallFile(_ path: String, fileSystem: any SegmentFileSystem) throws(LogError) -> [UInt8] {
        let fd = try fileSystem.openFile(path, .read)
        defer { fileSystem.closeFile(fd) }
        let size = Int(min(try fileSystem.fileSize(fd, path: path), 1 << 16))
        var bytes = [UInt8](repeating: 0, count: size)
        let read = try bytes.withMutableBytes { (buffer) throws(LogError) in
            try fileSystem.preadFully(fd, into: buffer, at: 0, path: path)
        }
        return Array(bytes[..<read])
    }
}
