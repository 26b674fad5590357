public import CoopWire

/// What supervision (督办) flags on one item: overdue (past its due date and not completed or cancelled), stale (no
/// update for a number of days), and a joint completion waiting for a side's sign-off. The rules of the wall chart
/// page and of `coop report overdue`, in one place. Pure values and functions; thread-safe.
public struct Supervision: Sendable, Hashable {
    /// Due before today (UTC) and neither completed nor cancelled.
    public var overdue: Bool
    /// Whole days past the due date (0 when not overdue).
    public var daysOverdue: Int
    /// Updated at least once, the last time `staleDays` or more days ago, and neither completed nor cancelled.
    /// An item never updated is not stale (it shows "no update yet"; when it is past due it is overdue).
    public var stale: Bool
    /// Whole days since the last update; `nil` when the item was never updated.
    public var daysSinceUpdate: Int?
    /// The sides whose sign-off a joint completion still needs (empty unless awaiting a sign-off).
    public var missingSignOff: [Side]
    /// The participating nodes of those sides (whose sign-off is missing).
    public var missingSigners: [String]

    /// Whether anything calls for supervision.
    public var flagged: Bool { overdue || stale || !missingSignOff.isEmpty }

    /// The flags of `item` in `state` as of `nowMs` (milliseconds since the Unix epoch, UTC), with items not updated
    /// for `staleDays` days counted as stale.
    public init(item: CatalogItem, state: ItemState, roster: RosterBook?, nowMs: UInt64, staleDays: Int) {
        let today = Self.date(ms: nowMs)
        let open = state.status != .completed && state.status != .cancelled
        overdue = open && !item.dueDate.isEmpty && item.dueDate < today
        daysOverdue = overdue ? max(0, Self.days(from: item.dueDate, toMs: nowMs) ?? 0) : 0
        let updated = state.updatedAt?.wallMs ?? 0
        if updated > 0 {
            let days = Int((nowMs >= updated ? nowMs - updated : 0) / 86_400_000)
            daysSinceUpdate = days
            stale = open && days >= staleDays
        } else {
            daysSinceUpdate = nil
            stale = false
        }
        if state.awaitingSignOff {
            let missing = [Side.chengdu, .chongqing].filter { !state.signedOff.contains($0) }
            missingSignOff = missing
            missingSigners = item.participants.filter { id in
                guard let side = roster?.member(id)?.side else { return false }
                return missing.contains(side)
            }
        } else {
            missingSignOff = []
            missingSigners = []
        }
    }

    /// "YYYY-MM-DD" of `ms` (UTC), by the civil-from-days algorithm (no Foundation, no time zone).
    public static func date(ms: UInt64) -> String {
        let z = Int(ms / 86_400_000) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day))"
    }

    /// Days from the calendar date `date` ("YYYY-MM-DD") to `ms`; `nil` for a malformed date.
    public static func days(from date: String, toMs ms: UInt64) -> Int? {
        let parts = date.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        var (y, m, d) = (parts[0], parts[1], parts[2])
        y -= m <= 2 ? 1 : 0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        m = m > 2 ? m - 3 : m + 9
        let doy = (153 * m + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let dayNumber = era * 146_097 + doe - 719_468
        return Int(ms / 86_400_000) - dayNumber
    }
}
