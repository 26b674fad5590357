import CoopLedger
import CoopWire

/// One item of the wall chart as the page shows it: the catalog item, its state in the node's view, and what
/// supervision flags on it. A value; thread-safe.
struct ChartRow: Sendable {
    var item: CatalogItem
    var state: ItemState
    var supervision: Supervision
    /// Origins whose entries the view sets aside (equivocation evidence against them).
    var equivocators: Set<String>

    /// The plan's part of the item's section: `二(一)` of `二(一)3`.
    var part: String {
        guard let close = item.seedSection.firstIndex(of: ")") ?? item.seedSection.firstIndex(of: "）") else {
            return item.seedSection
        }
        return String(item.seedSection[...close])
    }

    var inConflict: Bool { state.heads.count > 1 }

    /// Whether the item has entries set aside, or its winning update comes from an origin under equivocation evidence.
    var equivocation: Bool { state.setAside > 0 || equivocators.contains(state.updatedBy) }

    /// The sides taking part.
    func sides(_ roster: RosterBook) -> Set<Side> {
        Set(item.participants.compactMap { roster.member($0)?.side })
    }

    /// The rows of every catalog item (catalog order) in `store`'s view.
    static func all(
        catalog: CatalogBook,
        roster: RosterBook,
        states: [ItemState],
        evidenceOrigins: Set<String>,
        nowMs: UInt64,
        staleDays: Int
    ) -> [ChartRow] {
        var byID: [String: ItemState] = [:]
        byID.reserveCapacity(states.count)
        for state in states { byID[state.itemId] = state }
        return catalog.items.map { item in
            let state = byID[item.id] ?? ItemState(itemId: item.id, status: .planned)
            return ChartRow(
                item: item,
                state: state,
                supervision: Supervision(item: item, state: state, roster: roster, nowMs: nowMs, staleDays: staleDays),
                equivocators: evidenceOrigins
            )
        }
    }
}

/// Names of statuses and sides in Chinese and English, and their query spellings.
enum Names {
    /// `落实 In progress`.
    static func status(_ status: ItemStatus) -> (zh: String, en: String, key: String) {
        switch status {
        case .planned: ("任务", "Planned", "planned")
        case .assigned: ("分办", "Assigned", "assigned")
        case .inProgress: ("落实", "In progress", "in_progress")
        case .delayed: ("滞后", "Delayed", "delayed")
        case .completed: ("完成", "Completed", "completed")
        case .suspended: ("暂缓", "Suspended", "suspended")
        case .cancelled: ("取消", "Cancelled", "cancelled")
        default: ("-", "Unspecified", "unspecified")
        }
    }

    static let statuses: [ItemStatus] = [
        .planned, .assigned, .inProgress, .delayed, .completed, .suspended, .cancelled,
    ]

    static func side(_ side: Side) -> (zh: String, en: String, key: String) {
        switch side {
        case .chengdu: ("成都侧", "Chengdu side", "chengdu")
        case .chongqing: ("重庆侧", "Chongqing side", "chongqing")
        default: ("-", "-", "unspecified")
        }
    }

    /// A member's short name from its display name (`成都市武侯区 Wuhou District, Chengdu` → `武侯区 Wuhou`): the
    /// Chinese name without its city, and the English word after it; else the display name, else the id.
    static func member(_ id: String, _ roster: RosterBook) -> String {
        guard let member = roster.member(id), !member.displayName.isEmpty else { return id }
        let words = member.displayName.split(separator: " ")
        guard words.count >= 2 else { return member.displayName }
        var chinese = words[0]
        if let city = chinese.firstIndex(of: "市"), chinese.index(after: city) < chinese.endIndex {
            chinese = chinese[chinese.index(after: city)...]
        }
        return "\(chinese) \(words[1])"
    }

    /// `2026-11-30 03:22 UTC` for a clock reading; "-" for none. (Arithmetic, not a `DateFormatter` per row.)
    static func time(_ stamp: HybridTimestamp?) -> String {
        guard let ms = stamp?.wallMs, ms > 0 else { return "-" }
        let minutes = Int(ms / 60_000 % 1440)
        let (hour, minute) = (minutes / 60, minutes % 60)
        return Supervision.date(ms: ms) + " " + (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "")
            + "\(minute) UTC"
    }
}
