public import CoopSegments

extension LogStore {
    /// What the segmented log under the store did since it was opened (appends, records, group commits, syncs), for
    /// metrics. Thread-safe.
    public var logStatistics: SegmentedLog.Statistics { log.statistics }
}
