extension SegmentedLog {
    /// Opens the log in `directory` (its segment files are in `directory/log/`), recovering it first.
    ///
    /// **Threading.** Blocks on file I/O; call it from a context where that is fine (it reads and checks every
    /// record). Safe to call from any thread. Creates the directories and the first segment if the log is new (and
    /// `options.createIfMissing`). Recovery cuts off a torn tail at the end of the newest segment, and after a
    /// failed write or sync (a failure marker in `log/`) the records that were never acknowledged, and says so in
    /// ``recoveryReport``; any other damage throws ``LogError/Code/corrupt`` naming the file and byte offset, and
    /// changes nothing. Throws ``LogError/Code/locked`` if the log is already open, in this process or another.
    public static func open(directory: String, options: Options = Options()) throws -> SegmentedLog {
        guard options.segmentSize >= 64 else {
            throw LogError(
                code: .invalidArgument,
                message: "segmentSize is \(options.segmentSize) bytes; it must be at least 64"
            )
        }
        var directory = directory
        while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
        let logDirectory = (directory == "/" ? "" : directory) + "/log"
        let fileSystem = options.fileSystem
        try prepareDirectory(directory, create: options.createIfMissing, fileSystem: fileSystem)
        try prepareDirectory(logDirectory, create: options.createIfMissing, fileSystem: fileSystem)
        let lockFD = try fileSystem.lockFile(logDirectory + "/LOCK", logDirectory: logDirectory)
        let recovered: Recovery.Result
        do {
            recovered = try Recovery.run(logDirectory: logDirectory, fileSystem: fileSystem)
        } catch {
            fileSystem.closeFile(lockFD)
            throw error
        }
        let last = recovered.segments[recovered.segments.count - 1]
        let writer = SegmentWriter(
            logDirectory: logDirectory,
            lockFD: lockFD,
            fd: recovered.fd,
            segment: last.number,
            size: recovered.size,
            firstIndex: last.firstIndex,
            recordsInSegment: last.recordCount,
            options: options
        )
        return SegmentedLog(
            directory: directory,
            logDirectory: logDirectory,
            options: options,
            report: recovered.report,
            segments: recovered.segments,
            writer: writer
        )
    }

    private static func prepareDirectory(
        _ path: String,
        create: Bool,
        fileSystem: any SegmentFileSystem
    ) throws(LogError) {
        if try fileSystem.isDirectory(path) { return }
        guard create else {
            throw LogError(
                code: .invalidArgument,
                message: "\(path) does not exist (and createIfMissing is off)",
                path: path
            )
        }
        try fileSystem.makeDirectory(path)
    }
}
