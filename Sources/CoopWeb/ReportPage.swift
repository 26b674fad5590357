import CoopLedger
import CoopWire

/// The supervision report (督办报告) as a printable page: the items overdue, stale or awaiting a sign-off, most
/// overdue first, with who is responsible on each side — the same rows as `coop report overdue`. Pure functions;
/// thread-safe.
enum ReportPage {
    /// The flagged rows, most days overdue first, then the longest without an update, then catalog order.
    static func flagged(_ rows: [ChartRow]) -> [ChartRow] {
        rows.enumerated().filter { $0.element.supervision.flagged }
            .sorted { a, b in
                let x = a.element.supervision
                let y = b.element.supervision
                if x.daysOverdue != y.daysOverdue { return x.daysOverdue > y.daysOverdue }
                if (x.daysSinceUpdate ?? -1) != (y.daysSinceUpdate ?? -1) {
                    return (x.daysSinceUpdate ?? -1) > (y.daysSinceUpdate ?? -1)
                }
                return a.offset < b.offset
            }
            .map(\.element)
    }

    static func render(rows: [ChartRow], roster: RosterBook, nodeID: String, nowMs: UInt64, staleDays: Int) -> String {
        let flagged = flagged(rows)
        var html = PageStyle.head(title: "督办报告 Supervision report — \(nodeID)")
        html += "<body><p class=noprint><a href=\"/\">← 挂图 Wall chart</a> · <a href=\"javascript:window.print()\">"
        html += "打印 Print</a></p><h1>逾期及滞后事项督办报告 <span class=en>Supervision report: overdue and stale items"
        html += "</span></h1><p class=meta>节点 Node <b>\(HTMLText.escape(nodeID))</b> · 截至 as of "
        html += "\(Names.time(HybridTimestamp(wallMs: nowMs))) · 逾期 overdue: 已过完成时限且未完成 past due, not completed · "
        html +=
            "久未更新 stale: \(staleDays) 天以上无更新 no update for \(staleDays) days · \(flagged.count) / \(rows.count) 项 items</p>"
        html += "<table id=report><thead><tr><th>编号 ID</th><th>事项 Item</th><th>状态 Status</th><th>进度 Progress</th>"
        html += "<th>完成时限 Due</th><th>逾期天数 Days overdue</th><th>未更新天数 Days since update</th>"
        html += "<th>最近更新 Last update by</th><th>待确认 Sign-off missing</th><th>成都侧 Chengdu</th><th>重庆侧 Chongqing</th>"
        html += "</tr></thead><tbody>"
        for row in flagged {
            let status = Names.status(row.state.status)
            func side(_ side: Side) -> String {
                row.item.participants.filter { roster.member($0)?.side == side }
                    .map { HTMLText.escape(Names.member($0, roster)) }.joined(separator: "<br>")
            }
            html +=
                "<tr id=\"report-\(HTMLText.escape(row.item.id))\" class=\"\(row.supervision.overdue ? "overdue" : "")\">"
            html +=
                "<td>\(HTMLText.escape(row.item.id))</td><td>\(HTMLText.escape(row.item.titleZh))<br><span class=en>"
            html += "\(HTMLText.escape(row.item.titleEn))</span></td><td>\(status.zh) \(status.en)</td>"
            html += "<td>\(row.state.progress)%</td><td class=due>\(HTMLText.escape(row.item.dueDate))</td>"
            html += "<td>\(row.supervision.overdue ? "\(row.supervision.daysOverdue)" : "-")</td>"
            html +=
                "<td>\(row.supervision.daysSinceUpdate.map { "\($0)" + (row.supervision.stale ? " (stale)" : "") } ?? "尚无更新 none")</td>"
            html +=
                "<td>\(row.state.updatedBy.isEmpty ? "-" : HTMLText.escape(Names.member(row.state.updatedBy, roster)))</td>"
            html +=
                "<td>\(row.supervision.missingSigners.map { HTMLText.escape(Names.member($0, roster)) }.joined(separator: "<br>"))</td>"
            html += "<td>\(side(.chengdu))</td><td>\(side(.chongqing))</td></tr>"
        }
        html += "</tbody></table></body></html>\n"
        return html
    }
}
