extension SegmentedLog {
    /// Calls `body` with each record from index `from` on, in order, with the record's bytes.
    ///
    /// **Threading.** Runs on the caller's thread and blocks on file I/O (each segment is read with `pread` a chunk
    /// at a time into a buffer the call reuses); safe to call while other tasks append. Sees the records that were
    /// in the log when the call started. `payload` is valid only during the call to `body`; copy it to keep it.
    /// Stops at the first error `body` throws and rethrows it. With `verifyingChecksums` (the default) each record's
    /// CRC-32C is checked again, and damage that appeared since the log was opened throws ``LogError/Code/corrupt``
    /// naming the file and offset. A segment file that is cut short or fails while it is read (another process
    /// truncating it, a disk error) ends the call with ``LogError/Code/corrupt`` or ``LogError/Code/io`` naming the
    /// file and offset, never with a signal.
    public func forEachRecord(
        from index: UInt64 = 0,
        verifyingChecksums verify: Bool = true,
        _ body: (RecordPosition, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let segments = try readableSegments()
        // The first segment that holds a record at or after `index`.
        var low = 0
        var high = segments.count
        while low < high {
            let middle = (low + high) / 2
            if segments[middle].firstIndex + segments[middle].recordCount <= index {
                low = middle + 1
            } else {
                high = middle
            }
        }
        for info in segments[low...] where info.recordCount > 0 {
            try read(info, from: max(index, info.firstIndex), verify: verify, body)
        }
    }

    /// The records from index `from` on, at most `limit` of them, with their bytes copied. Blocks like
    /// ``forEachRecord(from:verifyingChecksums:_:)``.
    public func records(from index: UInt64 = 0, limit: Int = .max) throws -> [StoredRecord] {
        var records: [StoredRecord] = []
        guard limit > 0 else { return records }
        let available = count > index ? count - index : 0
        records.reserveCapacity(Int(min(UInt64(limit), available)))
        struct Done: Error {}
        do {
            try forEachRecord(from: index) { position, payload in
                records.append(StoredRecord(position: position, payload: Array(payload)))
                if records.count >= limit { throw Done() }
            }
        } catch is Done {}
        return records
    }

    private func read(
        _ info: SegmentInfo,
        from index: UInt64,
        verify: Bool,
        _ body: (RecordPosition, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try Self.read(
            info,
            path: segmentPath(info.number),
            fileSystem: options.fileSystem,
            from: index,
            verify: verify,
            body
        )
    }

    /// Reads the records of one segment from `index` on (shared with ``LogReader``), with `pread` a chunk at a time.
    static func read(
        _ info: SegmentInfo,
        path: String,
        fileSystem: any SegmentFileSystem,
        from index: UInt64,
        verify: Bool,
        _ body: (RecordPosition, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var reader = try SegmentFileReader(fileSystem: fileSystem, path: path, limit: info.end, atOpen: false)
        let stop = info.firstIndex + info.recordCount
        var current = info.firstIndex
        var offset = SegmentHeader.size
        while current < index {
            guard let length = try reader.recordLength(at: offset) else {
                throw LogError.corrupt(
                    "record \(current) cannot be found",
                    path: path,
                    offset: UInt64(offset),
                    atOpen: false
                )
            }
            offset += RecordFrame.headerSize + length
            current += 1
        }
        while current < stop {
            switch try reader.frame(at: offset, verify: verify) {
            case .record(_, let payload):
                try body(RecordPosition(segment: info.number, offset: UInt64(offset), index: current), payload)
                offset += RecordFrame.headerSize + payload.count
                current += 1
            case .damaged(_, let damage):
                throw LogError.corrupt("\(damage)", path: path, offset: UInt64(offset), atOpen: false)
            case .seal, .end:
                throw LogError.corrupt(
                    "the segment ends after \(current - info.firstIndex) of its \(info.recordCount) records",
                    path: path,
                    offset: UInt64(offset),
                    atOpen: false
                )
            }
        }
    }
}
