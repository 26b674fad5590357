import CoopLedger
public import CoopLog
public import CoopRPC
public import CoopServices
import CoopSync
public import CoopWire

/// The `coop.v1.Sync` service of a node: hellos, the pull stream of entries a peer lacks, digests. Peers only
/// (``NodeAccess``).
///
/// **Threading.** `Sendable`; calls run concurrently. Reads the store without blocking its writers.
public struct SyncProvider: SyncService.Handler {
    public let hub: SyncHub
    public let access: NodeAccess
    /// Entries read from the log per step of a pull stream.
    public let readBatch: Int

    public init(hub: SyncHub, access: NodeAccess, readBatch: Int = 512) {
        self.hub = hub
        self.access = access
        self.readBatch = max(1, readBatch)
    }

    var store: LogStore { hub.store }

    public func exchange(_ request: Hello, context: RPCServerContext) async throws -> Hello {
        try access.check(context)
        let local = hub.localHello()
        do {
            try HelloCheck.check(local: local, remote: request, expectedPeer: context.caller)
        } catch {
            hub.logger.warning(
                "refused a peer's hello",
                metadata: ["peer": .string(context.caller ?? request.nodeId), "reason": .string(error.description)]
            )
            throw RPCError(code: .failedPrecondition, message: error.message, reason: error.code.description)
        }
        hub.peerHello(request)
        return local
    }

    public func pull(
        _ request: PullRequest,
        response: TypedStreamWriter<PullResponse>,
        context: RPCServerContext
    ) async throws {
        try access.check(context)
        let have = request.have ?? VersionVector()
        let limit = request.limit == 0 ? Int.max : Int(request.limit)
        if request.includeEvidence {
            for evidence in store.evidence { try await response.send(PullResponse(item: .evidence(evidence))) }
        }
        let perMessage = min(Int(request.maxBatch), Self.maxEntriesPerMessage)
        try await Self.lackingEncoded(have, in: store, limit: limit, readBatch: readBatch) { entries in
            guard perMessage > 1 else {
                for entry in entries {
                    try await response.send(PullResponse(item: .entry(try SignedEntry(wireBytes: entry))))
                }
                return
            }
            // The stored encodings as they are: no decoding and encoding again on the way out.
            for run in Self.messages(entries, maxEntries: perMessage, maxBytes: Self.maxBytesPerMessage) {
                try await response.send(encoded: Self.encodedBatch(run))
            }
        }
    }

    /// At most this many entries go in one `EntryBatch`, whatever the caller asks.
    public static let maxEntriesPerMessage = 256
    /// An `EntryBatch` holds at most about this many bytes (far below any message size limit), unless one entry alone
    /// is larger.
    public static let maxBytesPerMessage = 256 << 10

    /// Encoded entries cut into consecutive runs of at most `maxEntries` entries and `maxBytes` bytes of
    /// `EntryBatch` (a run always holds at least one entry).
    public static func messages(_ entries: [[UInt8]], maxEntries: Int, maxBytes: Int) -> [ArraySlice<[UInt8]>] {
        var runs: [ArraySlice<[UInt8]>] = []
        var start = entries.startIndex
        var bytes = 0
        for index in entries.indices {
            let size = entries[index].count + 6  // tag and length
            if index > start && (index - start >= maxEntries || bytes + size > maxBytes) {
                runs.append(entries[start..<index])
                start = index
                bytes = 0
            }
            bytes += size
        }
        if start < entries.endIndex { runs.append(entries[start...]) }
        return runs
    }

    /// The encoding of `PullResponse { batch: EntryBatch { entries } }` built from the entries' encodings: a
    /// repeated message field is, on the wire, each message's bytes behind its tag and length.
    public static func encodedBatch(_ entries: ArraySlice<[UInt8]>) -> [UInt8] {
        var inner: [UInt8] = []
        inner.reserveCapacity(entries.reduce(0) { $0 + $1.count + 6 })
        for entry in entries {
            inner.append(0x0A)  // EntryBatch.entries: field 1, length-delimited
            appendVarint(UInt64(entry.count), to: &inner)
            inner += entry
        }
        var out: [UInt8] = [0x1A]  // PullResponse.batch: field 3, length-delimited
        out.reserveCapacity(inner.count + 6)
        appendVarint(UInt64(inner.count), to: &out)
        out += inner
        return out
    }

    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// The entries of `store` that a node holding `have` lacks, per origin (sorted) in sequence order, at most
    /// `limit`, handed to `body` in batches of at most `readBatch`. What `Pull` streams.
    public static func lacking(
        _ have: VersionVector,
        in store: LogStore,
        limit: Int = .max,
        readBatch: Int = 512,
        _ body: ([SignedEntry]) async throws -> Void
    ) async throws {
        try await lackingEncoded(have, in: store, limit: limit, readBatch: readBatch) { encoded in
            try await body(try encoded.map { try SignedEntry(wireBytes: $0) })
        }
    }

    /// ``lacking(_:in:limit:readBatch:_:)`` as the stored encodings of the entries.
    public static func lackingEncoded(
        _ have: VersionVector,
        in store: LogStore,
        limit: Int = .max,
        readBatch: Int = 512,
        _ body: ([[UInt8]]) async throws -> Void
    ) async throws {
        var sent = 0
        let lacking = have.lacking(comparedTo: store.versionVector)
        for origin in lacking.keys.sorted() {
            let range = lacking[origin]!
            var after = range.lowerBound - 1
            while after < range.upperBound && sent < limit {
                try Task.checkCancellation()
                let wanted = min(readBatch, Int(range.upperBound - after), limit - sent)
                let entries: [[UInt8]]
                do {
                    entries = try store.entryBytes(of: origin, after: after, limit: wanted)
                } catch {
                    throw RPCError(code: .internal, message: "reading \(origin)'s entries failed: \(error)")
                }
                guard !entries.isEmpty else { break }
                try await body(entries)
                after += UInt64(entries.count)
                sent += entries.count
            }
        }
    }

    public func status(_ request: StatusRequest, context: RPCServerContext) async throws -> NodeStatus {
        try access.check(context)
        return hub.status()
    }

    public func digest(_ request: DigestRequest, context: RPCServerContext) async throws -> DigestResponse {
        try access.check(context)
        return DigestResponse(origins: store.digests)
    }
}
