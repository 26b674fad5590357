public import CoopWire

extension VersionVector {
    /// A vector from `origin → highest contiguous sequence number`; origins at 0 are left out.
    public init(_ sequences: [String: UInt64]) {
        self.init(
            origins: sequences.filter { $0.value > 0 }.keys.sorted().map {
                OriginSequence(origin: $0, sequence: sequences[$0]!)
            }
        )
    }

    /// As a dictionary; an origin listed twice counts with its highest number.
    public var sequences: [String: UInt64] {
        var out: [String: UInt64] = [:]
        for o in origins { out[o.origin] = max(out[o.origin] ?? 0, o.sequence) }
        return out
    }

    /// The sequence number held for `origin` (0: none).
    public subscript(origin: String) -> UInt64 { sequences[origin] ?? 0 }

    /// Per origin where `other` holds more than `self`: the range `self` lacks (first missing … last held there).
    public func lacking(comparedTo other: VersionVector) -> [String: ClosedRange<UInt64>] {
        let mine = sequences
        var out: [String: ClosedRange<UInt64>] = [:]
        for (origin, theirs) in other.sequences where theirs > (mine[origin] ?? 0) {
            out[origin] = ((mine[origin] ?? 0) + 1)...theirs
        }
        return out
    }

    /// Whether `self` holds at least everything `other` holds.
    public func covers(_ other: VersionVector) -> Bool { lacking(comparedTo: other).isEmpty }

    /// Entries `other` holds that `self` lacks, summed over origins; saturates at `UInt64.max` (a peer may claim
    /// any sequence numbers).
    public func lag(behind other: VersionVector) -> UInt64 {
        lacking(comparedTo: other).values.reduce(0) { sum, range in
            let (total, overflow) = sum.addingReportingOverflow(range.upperBound - range.lowerBound + 1)
            return overflow ? .max : total
        }
    }
}
