import CoopLedger
import CoopWire
import Hummingbird

/// What the wall chart shows and how it groups: from the query (`?status=delayed&side=chengdu&flag=overdue&group=
/// section`). Every parameter is optional; an unknown parameter or value is a ``WebError`` (`.badRequest`) naming
/// it and the values allowed. A value; thread-safe.
struct ChartFilter: Sendable, Hashable {
    var status: ItemStatus?
    /// A part of the plan (`二(一)`) or a full section (`二(一)3`).
    var section: String?
    /// A participating node id (`cd-wuhou`).
    var district: String?
    var side: Side?
    /// `overdue`, `stale`, `signoff`, `conflict`, `equivocation` or `any` (any supervision flag).
    var flag: String?
    /// `status`, `section`, `district` or `side`; nil: one table in catalog order.
    var group: String?

    init() {}

    static let flags = ["overdue", "stale", "signoff", "conflict", "equivocation", "any"]
    static let groups = ["status", "section", "district", "side"]
    static let keys = ["status", "section", "district", "side", "flag", "group"]

    /// The filter of `query`, checked against `roster`.
    static func parse(_ query: [(String, String)], roster: RosterBook) throws(WebError) -> ChartFilter {
        var filter = ChartFilter()
        for (key, value) in query where !value.isEmpty {
            switch key {
            case "status":
                guard let status = Names.statuses.first(where: { Names.status($0).key == value.lowercased() }) else {
                    throw bad(key, value, Names.statuses.map { Names.status($0).key })
                }
                filter.status = status
            case "section":
                filter.section = value
            case "district":
                guard roster.member(value)?.role == .peer else {
                    throw WebError(
                        code: .badRequest,
                        message: "district=\(value) is not a node of the roster (e.g. cd-wuhou, cq-shapingba)"
                    )
                }
                filter.district = value
            case "side":
                guard let side = [Side.chengdu, .chongqing].first(where: { Names.side($0).key == value.lowercased() })
                else { throw bad(key, value, ["chengdu", "chongqing"]) }
                filter.side = side
            case "flag":
                guard flags.contains(value) else { throw bad(key, value, flags) }
                filter.flag = value
            case "group":
                guard groups.contains(value) else { throw bad(key, value, groups) }
                filter.group = value
            default:
                throw WebError(
                    code: .badRequest,
                    message: "unknown query parameter \"\(key)\"; known: \(keys.joined(separator: ", "))"
                )
            }
        }
        return filter
    }

    static func bad(_ key: String, _ value: String, _ allowed: [String]) -> WebError {
        WebError(
            code: .badRequest,
            message: "\(key)=\(value) is not known; expected one of \(allowed.joined(separator: ", "))"
        )
    }

    /// The query of `request` as pairs, values percent-decoded.
    static func pairs(_ request: Request) -> [(String, String)] {
        request.uri.queryParameters.map { (String($0.key), String($0.value)) }
    }

    func matches(_ row: ChartRow, roster: RosterBook) -> Bool {
        if let status, row.state.status != status { return false }
        if let section, row.item.seedSection != section && row.part != section { return false }
        if let district, !row.item.participants.contains(district) { return false }
        if let side, !row.sides(roster).contains(side) { return false }
        if let flag {
            switch flag {
            case "overdue": if !row.supervision.overdue { return false }
            case "stale": if !row.supervision.stale { return false }
            case "signoff": if row.supervision.missingSignOff.isEmpty { return false }
            case "conflict": if !row.inConflict { return false }
            case "equivocation": if !row.equivocation { return false }
            default: if !(row.supervision.flagged || row.inConflict || row.equivocation) { return false }
            }
        }
        return true
    }

    /// The query string of this filter (`?status=…`), "" when empty.
    var query: String {
        var parts: [String] = []
        if let status { parts.append("status=\(Names.status(status).key)") }
        if let section { parts.append("section=\(HTMLText.query(section))") }
        if let district { parts.append("district=\(HTMLText.query(district))") }
        if let side { parts.append("side=\(Names.side(side).key)") }
        if let flag { parts.append("flag=\(flag)") }
        if let group { parts.append("group=\(group)") }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }
}
