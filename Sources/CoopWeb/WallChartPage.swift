import CoopLedger
import CoopWire

/// The wall chart (挂图作战) page: every item with its status, progress bar, both sides' participants, due date, last
/// update and who made it; grouped or filtered (``ChartFilter``); overdue and stale items, conflicts, equivocation and
/// missing sign-offs marked; kept current by server-sent events (`/events`) without a reload. Self-contained: the
/// CSS and JavaScript are inline, nothing is fetched from elsewhere. Pure functions; thread-safe.
enum WallChartPage {
    /// The page for `rows` as seen by `nodeID`.
    static func render(
        rows: [ChartRow],
        filter: ChartFilter,
        roster: RosterBook,
        nodeID: String,
        nowMs: UInt64,
        staleDays: Int
    ) -> String {
        var html = PageStyle.head(title: "挂图作战 Wall chart — \(nodeID)")
        html +=
            "<body><header><h1>成渝合作事项挂图作战 <span class=en>Wall chart of the Chengdu–Chongqing joint items</span></h1>"
        html += "<p class=meta>节点 Node <b>\(HTMLText.escape(nodeID))</b> · 截至 as of <span id=asof>"
        html += "\(Names.time(HybridTimestamp(wallMs: nowMs)))</span> · <span id=live class=live>连接中 connecting…</span>"
        html +=
            " · <a href=\"/report/overdue\">督办报告 Supervision report</a> · <a href=\"/metrics\">metrics</a></p></header>"
        html += filterForm(filter, rows: rows, roster: roster)
        html += "<section id=summary>\(summary(rows, staleDays: staleDays))</section>"
        html +=
            "<table id=chart><thead><tr><th>督办<br><span class=en>Flags</span></th><th>编号<br><span class=en>ID</span></th>"
        html += "<th>事项<br><span class=en>Item</span></th><th>篇章<br><span class=en>Section</span></th>"
        html += "<th>状态<br><span class=en>Status</span></th><th>进度<br><span class=en>Progress</span></th>"
        html += "<th>成都侧<br><span class=en>Chengdu</span></th><th>重庆侧<br><span class=en>Chongqing</span></th>"
        html +=
            "<th>完成时限<br><span class=en>Due</span></th><th>最近更新<br><span class=en>Last update</span></th></tr></thead>"
        for (title, group) in groups(rows, filter: filter, roster: roster) {
            html += "<tbody>"
            if let title {
                html += "<tr class=group><th colspan=10>\(HTMLText.escape(title)) (\(group.count))</th></tr>"
            }
            for row in group { html += self.row(row, roster: roster, visible: filter.matches(row, roster: roster)) }
            html += "</tbody>"
        }
        html += "</table>"
        html += "<p class=legend>! 逾期 overdue: 已过完成时限且未完成 past due and not completed · 久未更新 stale: "
        html += "\(staleDays) 天以上无更新 no update for \(staleDays) days or more · 冲突 conflict: 并发更新 concurrent "
        html += "updates · 双签 equivocation evidence · 待确认 awaiting a side's sign-off</p>"
        html += script(events: "/events" + filter.query)
        html += "</body></html>\n"
        return html
    }

    /// Groups of rows, titled, in the order of the filter's `group`.
    static func groups(_ rows: [ChartRow], filter: ChartFilter, roster: RosterBook) -> [(String?, [ChartRow])] {
        guard let group = filter.group else { return [(nil, rows)] }
        var order: [String] = []
        var byKey: [String: [ChartRow]] = [:]
        func add(_ key: String, _ row: ChartRow) {
            if byKey[key] == nil { order.append(key) }
            byKey[key, default: []].append(row)
        }
        for row in rows {
            switch group {
            case "status":
                let name = Names.status(row.state.status)
                add("\(name.zh) \(name.en)", row)
            case "section": add("篇章 Section \(row.part)", row)
            case "side":
                for side in [Side.chengdu, .chongqing] where row.sides(roster).contains(side) {
                    let name = Names.side(side)
                    add("\(name.zh) \(name.en)", row)
                }
            default:
                for id in row.item.participants { add(Names.member(id, roster), row) }
            }
        }
        if group == "status" {
            let rank = Dictionary(
                uniqueKeysWithValues: Names.statuses.enumerated().map {
                    ("\(Names.status($1).zh) \(Names.status($1).en)", $0)
                }
            )
            order.sort { (rank[$0] ?? 99) < (rank[$1] ?? 99) }
        }
        return order.map { ($0, byKey[$0] ?? []) }
    }

    /// Counts by status and supervision flag.
    static func summary(_ rows: [ChartRow], staleDays: Int) -> String {
        let completed = rows.filter { $0.state.status == .completed }.count
        let overdue = rows.filter { $0.supervision.overdue }.count
        let stale = rows.filter { $0.supervision.stale }.count
        let conflicts = rows.filter(\.inConflict).count
        let signOff = rows.filter { !$0.supervision.missingSignOff.isEmpty }.count
        let equivocation = rows.filter(\.equivocation).count
        return "<span>共 <b>\(rows.count)</b> 项 items</span> <span>完成 completed <b>\(completed)</b></span> "
            + "<span class=\"flag overdue\">逾期 overdue <b id=n-overdue>\(overdue)</b></span> "
            + "<span class=\"flag stale\">久未更新 stale (≥\(staleDays) d) <b>\(stale)</b></span> "
            + "<span class=\"flag conflict\">冲突 conflicts <b>\(conflicts)</b></span> "
            + "<span class=\"flag signoff\">待确认 awaiting sign-off <b>\(signOff)</b></span> "
            + "<span class=\"flag equivocation\">双签 equivocation <b>\(equivocation)</b></span>"
    }

    /// One item's row, on one line (it is also sent as one server-sent event).
    static func row(_ row: ChartRow, roster: RosterBook, visible: Bool) -> String {
        let item = row.item
        let state = row.state
        let status = Names.status(state.status)
        var flags: [String] = []
        var classes: [String] = ["item"]
        if row.supervision.overdue {
            flags.append(
                "<span class=\"flag overdue\" title=\"逾期 overdue\">! 逾期 overdue \(row.supervision.daysOverdue) d</span>"
            )
            classes.append("overdue")
        }
        if row.supervision.stale {
            let days = row.supervision.daysSinceUpdate ?? 0
            flags.append("<span class=\"flag stale\">久未更新 stale \(days) d</span>")
            classes.append("stale")
        }
        if row.inConflict {
            flags.append("<span class=\"flag conflict\">冲突 conflict (\(state.heads.count) heads)</span>")
            classes.append("conflict")
        }
        if row.equivocation {
            flags.append("<span class=\"flag equivocation\">双签 equivocation (\(state.setAside) set aside)</span>")
            classes.append("equivocation")
        }
        if !row.supervision.missingSignOff.isEmpty {
            let sides = row.supervision.missingSignOff.map { Names.side($0).zh + " " + Names.side($0).en }
            let who = row.supervision.missingSigners.map { Names.member($0, roster) }
            flags.append(
                "<span class=\"flag signoff\">待确认 awaiting sign-off: \(HTMLText.escape(sides.joined(separator: ", ")))"
                    + (who.isEmpty ? "" : " (\(HTMLText.escape(who.joined(separator: ", "))))") + "</span>"
            )
            classes.append("signoff")
        }
        if state.rejected > 0 { flags.append("<span class=flag>✗ rejected by policy \(state.rejected)</span>") }
        func side(_ side: Side) -> String {
            let names = item.participants.filter { roster.member($0)?.side == side }.map { Names.member($0, roster) }
            return names.isEmpty ? "-" : names.map(HTMLText.escape).joined(separator: "<br>")
        }
        let progress = min(100, Int(state.progress))
        let updated: String
        if (state.updatedAt?.wallMs ?? 0) == 0 {
            updated = "<span class=muted>尚无更新 no update yet</span>"
        } else {
            let who = state.reporter.isEmpty ? "" : HTMLText.escape(state.reporter) + " · "
            updated =
                "\(Names.time(state.updatedAt))<br>\(who)\(HTMLText.escape(Names.member(state.updatedBy, roster)))"
                + (state.note.isEmpty ? "" : "<br><span class=note>\(HTMLText.escape(state.note))</span>")
        }
        let id = HTMLText.escape(item.id)
        return "<tr id=\"row-\(id)\" class=\"\(classes.joined(separator: " "))\" data-id=\"\(id)\""
            + " data-status=\"\(status.key)\"\(visible ? "" : " hidden")>"
            + "<td class=flags>\(flags.joined(separator: "<br>"))</td>"
            + "<td class=id><a href=\"/items/\(id)\">\(id)</a></td>"
            + "<td><a href=\"/items/\(id)\">\(HTMLText.escape(item.titleZh))</a><br><span class=en>"
            + "\(HTMLText.escape(item.titleEn))</span></td>"
            + "<td>\(HTMLText.escape(item.seedSection))</td>"
            + "<td class=\"status s-\(status.key)\">\(status.zh)<br><span class=en>\(status.en)</span></td>"
            + "<td><div class=bar><div style=\"width:\(progress)%\"></div></div><span class=pct>\(progress)%</span></td>"
            + "<td>\(side(.chengdu))</td><td>\(side(.chongqing))</td>"
            + "<td class=due>\(HTMLText.escape(item.dueDate))</td>"
            + "<td class=updated>\(updated)</td></tr>"
    }

    static func filterForm(_ filter: ChartFilter, rows: [ChartRow], roster: RosterBook) -> String {
        func select(_ name: String, _ label: String, _ options: [(String, String)], _ current: String?) -> String {
            var html = "<label>\(label) <select name=\(name)><option value=\"\">全部 all</option>"
            for (value, text) in options {
                let selected = value == current ? " selected" : ""
                html += "<option value=\"\(HTMLText.escape(value))\"\(selected)>\(HTMLText.escape(text))</option>"
            }
            return html + "</select></label> "
        }
        var parts: [String] = []
        for row in rows where !parts.contains(row.part) { parts.append(row.part) }
        let districts = roster.roster.members.filter { $0.role == .peer }.map { ($0.id, Names.member($0.id, roster)) }
        var html = "<form id=filters method=get>"
        html += select(
            "status",
            "状态 Status",
            Names.statuses.map { (Names.status($0).key, "\(Names.status($0).zh) \(Names.status($0).en)") },
            filter.status.map { Names.status($0).key }
        )
        html += select("section", "篇章 Section", parts.map { ($0, $0) }, filter.section)
        html += select("district", "区 District", districts, filter.district)
        html += select(
            "side",
            "侧 Side",
            [("chengdu", "成都侧 Chengdu"), ("chongqing", "重庆侧 Chongqing")],
            filter.side.map { Names.side($0).key }
        )
        html += select(
            "flag",
            "督办 Flag",
            [
                ("any", "任一 any"), ("overdue", "逾期 overdue"), ("stale", "久未更新 stale"), ("signoff", "待确认 sign-off"),
                ("conflict", "冲突 conflict"), ("equivocation", "双签 equivocation"),
            ],
            filter.flag
        )
        html += select(
            "group",
            "分组 Group by",
            [("status", "状态 status"), ("section", "篇章 section"), ("district", "区 district"), ("side", "侧 side")],
            filter.group
        )
        return html + "<button type=submit>筛选 Filter</button> <a href=\"/\">清除 clear</a></form>"
    }

    /// Live updates: each `init` (on connecting) or `row` (a change, highlighted) event replaces the item's row(s) in
    /// place; `summary` replaces the counts, `asof` the time.
    static func script(events: String) -> String {
        """
        <script>
        (function () {
          var live = document.getElementById('live');
          var source = new EventSource('\(events)');
          source.onopen = function () { live.textContent = '实时 live'; live.className = 'live on'; };
          source.onerror = function () { live.textContent = '重连中 reconnecting…'; live.className = 'live off'; };
          function replace(html, changed) {
            var template = document.createElement('template');
            template.innerHTML = html.trim();
            var fresh = template.content.firstElementChild;
            if (!fresh) return;
            document.querySelectorAll('tr[data-id="' + fresh.dataset.id + '"]').forEach(function (old) {
              var copy = fresh.cloneNode(true);
              if (changed) copy.classList.add('changed');
              old.replaceWith(copy);
            });
          }
          source.addEventListener('init', function (event) { replace(event.data, false); });
          source.addEventListener('row', function (event) { replace(event.data, true); });
          source.addEventListener('summary', function (event) {
            document.getElementById('summary').innerHTML = event.data;
          });
          source.addEventListener('asof', function (event) {
            document.getElementById('asof').textContent = event.data;
          });
        })();
        </script>
        """
    }
}
