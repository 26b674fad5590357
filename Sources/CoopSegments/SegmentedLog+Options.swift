extension SegmentedLog {
    /// How to open a log. A plain value; thread-safe.
    public struct Options: Sendable {
        /// When `append` returns (default: `.durable`).
        public var durability: Durability
        /// A segment is sealed and the next one started before a record would make it larger than this many bytes
        /// (default 64 MiB, at least 64). A record larger than this gets a segment of its own.
        public var segmentSize: UInt64
        /// Create the data directory and its `log/` folder if they are missing (default true).
        public var createIfMissing: Bool
        /// Told what each successful group commit did (records, bytes, sync latency); `nil` by default. See
        /// ``CommitObserver`` for its threading contract.
        public var onCommit: CommitObserver?
        /// Test hook: errors to inject into writes and syncs, and a hold on the writer.
        package var faults = FaultInjection()
        /// Test hook: the file system the log, its recovery and its readers use (a simulated disk in power-cut
        /// tests); the real one by default.
        package var fileSystem: any SegmentFileSystem = RealFileSystem()

        public init(durability: Durability = .durable, segmentSize: UInt64 = 64 << 20, createIfMissing: Bool = true) {
            self.durability = durability
            self.segmentSize = segmentSize
            self.createIfMissing = createIfMissing
            self.onCommit = nil
        }
    }

    /// When an append counts as done.
    public struct Durability: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case durable
            case unsafeNoSync
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// `append` returns only after an `fdatasync` that covers its records (group commit shares one sync among
        /// all appends that are waiting at the same time).
        public static let durable = Durability(.durable)
        /// `append` returns once the records are written to the operating system, without syncing: a power loss
        /// can lose acknowledged records. For benchmarks and tests only. Segments are still synced when sealed.
        public static let unsafeNoSync = Durability(.unsafeNoSync)

        public var description: String {
            switch wrapped {
            case .durable: "durable"
            case .unsafeNoSync: "unsafeNoSync"
            }
        }
    }

    /// Counters since the log was opened. A plain value; thread-safe.
    public struct Statistics: Hashable, Sendable {
        /// Calls to `append` that were accepted (with at least one record).
        public var appendCalls: UInt64 = 0
        /// Records written.
        public var recordsWritten: UInt64 = 0
        /// Group commits: each is one write (one per segment touched) and, when durable, one sync.
        public var groupCommits: UInt64 = 0
        /// `fdatasync`/`fsync` (`F_FULLFSYNC` on Darwin) calls made to make appended records durable (including the
        /// sync before sealing a segment); syncs made while creating a segment file are not counted.
        public var syncs: UInt64 = 0
        /// Segment files created since opening.
        public var segmentsCreated: UInt64 = 0
    }
}

/// Test hook: lets a test make a chosen write or sync fail with an `errno`, or hold the writer between group
/// commits.
///
/// The closures are called on the log's writer queue. `inject` runs before the real system call; return nil to
/// let the call go ahead, or an `errno` value to fail it without calling it. `beforeBatch` runs before the writer
/// takes the next group commit from the queue; blocking in it holds the writer, so that appends queued meanwhile
/// are all taken into one group commit (tests force batching this way instead of relying on timing).
package struct FaultInjection: Sendable {
    package enum Point: Hashable, Sendable {
        case write
        case sync
    }

    package var inject: (@Sendable (Point) -> Int32?)?
    package var beforeBatch: (@Sendable () -> Void)?

    package init(_ inject: (@Sendable (Point) -> Int32?)? = nil) {
        self.inject = inject
    }

    func check(_ point: Point, call: String, path: String) throws(LogError) {
        if let inject, let code = inject(point) {
            throw .system(call, path: path, errno: code)
        }
    }
}
