import CoopDevTools
import CoopWire
import Foundation

/// The wall chart (挂图作战) of `coop demo`: every catalog item on one line with its status in Chinese and English,
/// a progress bar, the participating districts of each side, the due date, and `!` for an overdue item (due before
/// today and neither completed nor cancelled). Pure functions; thread-safe.
enum WallChart {
    /// The chart of `views` (catalog order) as of `today` ("YYYY-MM-DD", UTC), with a summary line below it.
    static func render(_ views: [ItemView], today: String) -> String {
        var table = TextTable([
            "!", "编号 ID", "事项", "Title", "状态 Status", "进度 Progress", "成都侧 Chengdu", "重庆侧 Chongqing", "完成时限 Due",
        ])
        var overdue = 0
        var completed = 0
        for view in views {
            let item = view.item ?? CatalogItem()
            let state = view.state ?? ItemState()
            let late = isOverdue(item, state, today: today)
            if late { overdue += 1 }
            if state.status == .completed { completed += 1 }
            table.add([
                late ? "!" : "", item.id, ItemTable.cut(item.titleZh, 10), ItemTable.cut(item.titleEn, 22),
                status(state), ProgressBar.text(percent: Int(state.progress)),
                districts(item.participants, side: .chengdu), districts(item.participants, side: .chongqing),
                item.dueDate,
            ])
        }
        return table.render()
            + "\n\(views.count) items: \(completed) completed, \(overdue) overdue (!: due before \(today), UTC, "
            + "and not completed or cancelled)"
    }

    /// Due before `today` and neither completed nor cancelled.
    static func isOverdue(_ item: CatalogItem, _ state: ItemState, today: String) -> Bool {
        !item.dueDate.isEmpty && item.dueDate < today && state.status != .completed && state.status != .cancelled
    }

    /// `落实 IN_PROGRESS`, with `待确认` while a joint completion awaits a side's sign-off.
    static func status(_ state: ItemState) -> String {
        let name = "\(chinese(state.status)) \(ItemTable.short(state.status))"
        return state.awaitingSignOff ? name + " 待确认" : name
    }

    /// The life-cycle word for `status` (任务→分办→落实→跟踪→反馈→上报, as log.proto names them).
    static func chinese(_ status: ItemStatus) -> String {
        switch status {
        case .planned: "任务"
        case .assigned: "分办"
        case .inProgress: "落实"
        case .delayed: "滞后"
        case .completed: "完成"
        case .suspended: "暂缓"
        case .cancelled: "取消"
        default: "-"
        }
    }

    /// The short Chinese names of the participants on `side` (`武侯 青白江`); node ids not of the mesh as they are.
    static func districts(_ participants: [String], side: Side) -> String {
        let names = participants.compactMap { id -> String? in
            guard let district = MeshWriter.districts.first(where: { $0.nodeID == id }) else {
                return side == .chengdu && id.hasPrefix("cd-") || side == .chongqing && id.hasPrefix("cq-") ? id : nil
            }
            return district.side == side ? DemoNames.chinese(district) : nil
        }
        return names.isEmpty ? "-" : names.joined(separator: " ")
    }

    /// Today's date in UTC, "YYYY-MM-DD".
    static func today() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
