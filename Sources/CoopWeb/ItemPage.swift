import CoopLedger
import CoopLog
import CoopSegments
import CoopWire
import Foundation

/// One item's page: what it is, where it stands, and its history as a timeline along the chain
/// 任务→分办→落实→跟踪→反馈→上报 — for each entry who wrote it, when, signed by which key, and from what to what.
/// Pure functions; thread-safe.
enum ItemPage {
    /// The stage of the chain an entry stands for: a status update by the status it sets (a further update while in
    /// progress is 跟踪, tracking; completion is 上报, reporting), a comment or sign-off is 反馈 (feedback).
    static func stage(_ body: EntryBody, before: ItemState) -> String {
        switch body.payload {
        case .statusUpdate(let update):
            switch update.status {
            case .planned: return "任务 task"
            case .assigned: return "分办 assignment"
            case .inProgress:
                return before.status == .inProgress ? "跟踪 tracking" : "落实 implementation"
            case .delayed: return "跟踪 tracking (滞后 delayed)"
            case .completed: return "上报 reporting (完成 completed)"
            case .suspended: return "暂缓 suspended"
            case .cancelled: return "取消 cancelled"
            default: return "-"
            }
        case .comment: return "反馈 feedback (comment)"
        case .signOff: return "反馈 feedback (sign-off)"
        default: return "-"
        }
    }

    /// Entries the timeline shows unless `?limit=N` or `?limit=all` says otherwise (newest first).
    static let defaultLimit = 200

    static func render(
        row: ChartRow,
        history: [LedgerReplay.Change],
        roster: RosterBook,
        nodeID: String,
        limit: Int = defaultLimit
    ) -> String {
        let item = row.item
        let state = row.state
        let status = Names.status(state.status)
        var html = PageStyle.head(title: "\(item.id) \(item.titleZh) — \(nodeID)")
        html += "<body><p class=noprint><a href=\"/\">← 挂图 Wall chart</a></p>"
        html += "<h1>\(HTMLText.escape(item.id)) \(HTMLText.escape(item.titleZh))</h1>"
        html += "<p class=en>\(HTMLText.escape(item.titleEn))</p>"
        html += "<table id=item-facts>"
        func fact(_ label: String, _ value: String) { html += "<tr><th>\(label)</th><td>\(value)</td></tr>" }
        fact(
            "状态 Status",
            "<span class=\"status s-\(status.key)\">\(status.zh) \(status.en)</span> · \(state.progress)%"
        )
        fact("篇章 Section", HTMLText.escape(item.seedSection))
        fact("完成时限 Due", HTMLText.escape(item.dueDate))
        fact(
            "目标 Target",
            HTMLText.escape(item.targetZh) + "<br><span class=en>\(HTMLText.escape(item.targetEn))</span>"
        )
        fact("牵头部门 Lead (重庆 CQ)", HTMLText.escape(item.cqLeadDepartments.joined(separator: "、")))
        fact("责任部门 Responsible (重庆 CQ)", HTMLText.escape(item.cqResponsibleDepartments.joined(separator: "、")))
        fact("成都对接 Chengdu counterpart", HTMLText.escape(item.cdCounterpart))
        fact(
            "参与节点 Participants",
            item.participants.map { HTMLText.escape(Names.member($0, roster)) }.joined(separator: "<br>")
        )
        var flags: [String] = []
        if row.supervision.overdue {
            flags.append("<span class=\"flag overdue\">! 逾期 overdue \(row.supervision.daysOverdue) d</span>")
        }
        if row.supervision.stale {
            flags.append("<span class=\"flag stale\">久未更新 stale \(row.supervision.daysSinceUpdate ?? 0) d</span>")
        }
        if row.inConflict {
            flags.append("<span class=\"flag conflict\">冲突 conflict: \(state.heads.count) heads</span>")
        }
        if row.equivocation { flags.append("<span class=\"flag equivocation\">双签 equivocation</span>") }
        if !row.supervision.missingSignOff.isEmpty {
            let who = row.supervision.missingSigners.map { Names.member($0, roster) }.joined(separator: ", ")
            flags.append("<span class=\"flag signoff\">待确认 awaiting sign-off of \(HTMLText.escape(who))</span>")
        }
        fact("督办 Supervision", flags.isEmpty ? "-" : flags.joined(separator: " "))
        html += "</table>"
        // 任务 (the task is in the ledger) holds for every catalog item; the others once an applied entry reached them.
        let reached = Set(
            history.compactMap { change -> String? in
                guard change.disposition.kind == .applied else { return nil }
                return String(stage(change.body, before: change.before).prefix(2))
            }
        ).union(["任务"])
        html += "<h2>闭环 Chain</h2><p class=chain>"
        for word in ["任务", "分办", "落实", "跟踪", "反馈", "上报"] {
            html += "<span class=\"\(reached.contains(word) ? "done" : "")\">\(word)</span>"
        }
        html += "</p><h2>历史 History (\(history.count))</h2>"
        if history.count > limit {
            html += "<p class=meta>显示最近 \(limit) 条 showing the newest \(limit) of \(history.count) · "
            html += "<a href=\"?limit=all\">全部 all</a></p>"
        }
        html += "<ol class=timeline id=timeline>"
        for change in history.suffix(limit).reversed() {
            let body = change.body
            let disposition: String
            switch change.disposition.kind {
            case .applied: disposition = ""
            case .rejectedByPolicy: disposition = "rejected"
            default: disposition = "set-aside"
            }
            html += "<li class=\"\(disposition)\"><b>\(HTMLText.escape(stage(body, before: change.before)))</b> · "
            html +=
                "\(Names.time(body.timestamp)) · \(HTMLText.escape(Names.member(body.origin, roster))) #\(body.sequence)"
            html += "<br>"
            switch body.payload {
            case .statusUpdate(let update):
                let from = Names.status(change.before.status)
                let to = Names.status(update.status)
                html += "\(from.zh) \(from.en) \(change.before.progress)% → \(to.zh) \(to.en) \(update.progress)%"
                if !update.reporter.isEmpty { html += " · 报告人 reporter \(HTMLText.escape(update.reporter))" }
                if !update.assignee.isEmpty { html += " · 承办 assignee \(HTMLText.escape(update.assignee))" }
                if !update.note.isEmpty { html += "<br><span class=note>\(HTMLText.escape(update.note))</span>" }
            case .comment(let comment):
                html += "\(HTMLText.escape(comment.author)): <span class=note>\(HTMLText.escape(comment.text))</span>"
            case .signOff(let signOff):
                html += "签认 signed off by \(HTMLText.escape(signOff.signer)) entry <code>"
                html += "\(signOff.entryId.prefix(6).map { String(format: "%02x", $0) }.joined())</code>"
                if !signOff.note.isEmpty { html += "<br><span class=note>\(HTMLText.escape(signOff.note))</span>" }
            default: break
            }
            html += "<br><span class=muted>签名密钥 signed by key <code>\(HTMLText.escape(change.keyFingerprint))</code>"
            html += " · entry <code>\(change.id.bytes.prefix(8).map { String(format: "%02x", $0) }.joined())</code>"
            html += " · log #\(change.position.index)"
            if !change.disposition.reason.isEmpty { html += " · \(HTMLText.escape(change.disposition.reason))" }
            html += "</span></li>"
        }
        html += "</ol></body></html>\n"
        return html
    }
}
