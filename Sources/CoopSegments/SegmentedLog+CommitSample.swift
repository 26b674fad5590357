extension SegmentedLog {
    /// What one group commit did and how long its syncs took: for metrics (fsync latency, group-commit sizes).
    ///
    /// A plain value; thread-safe. Given to ``Options/onCommit`` after every successful group commit.
    public struct CommitSample: Sendable, Hashable {
        /// `append` (and `enqueue`) calls the commit served.
        public var appends: Int
        /// Records it wrote.
        public var records: Int
        /// Bytes it wrote: the records with their frames (and a seal, when it sealed a segment).
        public var bytes: Int
        /// How long each `fdatasync` of the commit took, in nanoseconds: one in durable mode, one more when it
        /// sealed a segment, none in `.unsafeNoSync` mode unless it sealed one.
        public var syncNanoseconds: [UInt64]

        public init(appends: Int, records: Int, bytes: Int, syncNanoseconds: [UInt64]) {
            self.appends = appends
            self.records = records
            self.bytes = bytes
            self.syncNanoseconds = syncNanoseconds
        }
    }

    /// Called with each successful group commit's ``CommitSample``.
    ///
    /// **Threading.** Called on the log's writer queue, after the callers of the commit were resumed and before the
    /// next commit starts: it must be quick and must not block (record a metric, nothing more). Kept in a struct so
    /// that the function is stored once and never re-wrapped.
    public struct CommitObserver: Sendable {
        let observe: @Sendable (CommitSample) -> Void

        public init(_ observe: @escaping @Sendable (CommitSample) -> Void) {
            self.observe = observe
        }
    }
}
