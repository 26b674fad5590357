import ArgumentParser
import CoopLedger
import CoopWire
import Foundation

/// The items' states as a terminal table.
enum ItemTable {
    static func render(_ states: [ItemState]) -> String {
        var table = TextTable(["ID", "Status", "%", "Updated by", "At (UTC)", "Heads", "Note"])
        for s in states {
            var status = short(s.status)
            if s.awaitingSignOff { status += " (awaiting sign-off)" }
            let heads = s.heads.count > 1 ? "\(s.heads.count) CONFLICT" : "\(s.heads.count)"
            let note = s.note.count > 40 ? String(s.note.prefix(39)) + "…" : s.note
            table.add([
                s.itemId, status, "\(s.progress)", s.updatedBy, Timestamps.format(s.updatedAt), heads, note,
            ])
        }
        return table.render()
    }

    /// `ITEM_STATUS_IN_PROGRESS` → `IN_PROGRESS`.
    static func short(_ status: ItemStatus) -> String {
        String(status.protoValueName.dropFirst("ITEM_STATUS_".count))
    }

    /// The language of column headers and labels (`--lang`); titles follow it too.
    enum Language: String, ExpressibleByArgument, CaseIterable {
        case en, zh

        /// `english` or `chinese`, by language.
        func pick(_ english: String, _ chinese: String) -> String { self == .en ? english : chinese }
    }

    /// The items of a node (`coop item list`): id, title, state, in catalog order as the node sent them.
    static func render(_ views: [ItemView], language: Language) -> String {
        let l = language
        var table = TextTable([
            l.pick("ID", "编号"), l.pick("Title", "事项"), l.pick("Status", "状态"), "%", l.pick("Updated by", "更新节点"),
            l.pick("At (UTC)", "时间 (UTC)"), l.pick("Heads", "分支"), l.pick("Note", "备注"),
        ])
        for view in views {
            let s = view.state ?? ItemState()
            let title = l == .en ? view.item?.titleEn ?? "" : view.item?.titleZh ?? ""
            table.add([
                view.item?.id ?? s.itemId, cut(title, 30), status(s, language: l), "\(s.progress)", s.updatedBy,
                Timestamps.format(s.updatedAt), heads(s, language: l), cut(s.note, 40),
            ])
        }
        return table.render()
    }

    /// One item in full (`coop item show`): the catalog entry and the state, a label and a value a line.
    static func render(_ view: ItemView, language: Language) -> String {
        let l = language
        let item = view.item ?? CatalogItem()
        let s = view.state ?? ItemState()
        var table = TextTable([l.pick("Field", "字段"), l.pick("Value", "值")])
        let rows: [(String, String, String)] = [
            ("ID", "编号", item.id.isEmpty ? s.itemId : item.id),
            ("Title", "事项", l == .en ? item.titleEn : item.titleZh),
            ("Title (other)", "事项 (英文)", l == .en ? item.titleZh : item.titleEn),
            ("Section", "章节", item.seedSection),
            ("Participants", "参与节点", item.participants.joined(separator: ", ")),
            ("Due", "完成时限", item.dueDate),
            ("Sign-off", "双方确认", item.requiresSignOff ? l.pick("both sides", "需双方确认") : "-"),
            ("Status", "状态", status(s, language: l)),
            ("Progress", "进度", "\(s.progress)%"),
            ("Note", "备注", s.note),
            ("Reporter", "填报人", s.reporter),
            ("Assignee", "责任部门", s.assignee),
            ("Updated by", "更新节点", s.updatedBy),
            ("At (UTC)", "时间 (UTC)", Timestamps.format(s.updatedAt)),
            ("Head", "当前条目", s.head.isEmpty ? "-" : Hex.encode(s.head)),
            ("Heads", "分支", heads(s, language: l)),
            ("Signed off", "已确认", s.signedOff.map(sideName).joined(separator: ", ")),
            ("Comments", "评论", "\(s.comments)"),
            ("Rejected / set aside", "被拒 / 搁置", "\(s.rejected) / \(s.setAside)"),
        ]
        for (english, chinese, value) in rows { table.add([l.pick(english, chinese), value.isEmpty ? "-" : value]) }
        if s.heads.count > 1 {
            for head in s.heads { table.add([l.pick("  head", "  分支"), Hex.encode(head)]) }
        }
        return table.render()
    }

    /// Every entry about one item (`coop item history`), in log order.
    static func render(_ records: [HistoryRecord], language: Language) -> String {
        let l = language
        var table = TextTable([
            l.pick("Record", "记录"), l.pick("When (UTC)", "时间 (UTC)"), l.pick("Entry", "条目"), l.pick("By", "节点"),
            l.pick("Change", "变更"), l.pick("Treated", "处理"),
        ])
        for r in records {
            let body = r.body ?? EntryBody()
            table.add([
                "#\(r.logPosition)", Timestamps.format(body.timestamp), Hex.encode(r.entryId.prefix(6)),
                "\(body.origin)#\(body.sequence)", cut(describe(body), 60),
                r.disposition == .applied
                    ? l.pick("applied", "已应用")
                    : String(r.disposition.protoValueName.dropFirst("ENTRY_DISPOSITION_".count))
                        + (r.reason.isEmpty ? "" : ": \(r.reason)"),
            ])
        }
        return table.render()
    }

    /// One change of a watched item (`coop item watch`), on one line.
    static func line(_ change: ItemChange, language: Language) -> String {
        let s = change.state ?? ItemState()
        var parts = [
            Timestamps.format(s.updatedAt), s.itemId, status(s, language: language), "\(s.progress)%",
        ]
        if !s.updatedBy.isEmpty { parts.append(language.pick("by ", "由 ") + s.updatedBy) }
        if s.heads.count > 1 { parts.append(heads(s, language: language)) }
        if change.initial {
            parts.append(language.pick("(current)", "(当前)"))
        } else if !change.entryId.isEmpty {
            parts.append(language.pick("entry ", "条目 ") + Hex.encode(change.entryId.prefix(6)))
        }
        if !s.note.isEmpty { parts.append("— " + cut(s.note, 60)) }
        return parts.joined(separator: "  ")
    }

    /// What an entry says, in a few words.
    static func describe(_ body: EntryBody) -> String {
        switch body.payload {
        case .statusUpdate(let u): "\(short(u.status)) \(u.progress)%" + (u.note.isEmpty ? "" : " \"\(u.note)\"")
        case .comment(let c): "comment: \(c.text)"
        case .signOff(let s): "sign-off of \(Hex.encode(s.entryId.prefix(6))) by \(s.signer)"
        case nil: "(no payload)"
        }
    }

    private static func status(_ s: ItemState, language: Language) -> String {
        s.awaitingSignOff ? short(s.status) + language.pick(" (awaiting sign-off)", " (待双方确认)") : short(s.status)
    }

    private static func heads(_ s: ItemState, language: Language) -> String {
        s.heads.count > 1 ? "\(s.heads.count) " + language.pick("CONFLICT", "冲突") : "\(s.heads.count)"
    }

    private static func sideName(_ side: Side) -> String {
        String(side.protoValueName.dropFirst("SIDE_".count)).lowercased()
    }

    /// `text` on one line, cut to `limit` characters.
    static func cut(_ text: String, _ limit: Int) -> String {
        let line = text.replacingOccurrences(of: "\n", with: " ")
        return line.count > limit ? String(line.prefix(limit - 1)) + "…" : line
    }
}

/// Times as people read them, in UTC.
enum Timestamps {
    static func format(_ ts: HybridTimestamp?) -> String {
        guard let ts, ts.wallMs > 0 else { return "-" }
        let seconds = Int64(ts.wallMs / 1000)
        let days = seconds / 86_400
        let rest = seconds % 86_400
        let (y, m, d) = civil(fromDays: days)
        return String(y) + "-" + pad(m) + "-" + pad(d) + " " + pad(Int(rest / 3600)) + ":" + pad(Int(rest / 60 % 60))
    }

    /// Why a text is not a time ``parse(_:)`` takes.
    struct InvalidTime: Error {
        var reason: String
    }

    /// Milliseconds since the epoch for "YYYY-MM-DD" (the end of that day) or "YYYY-MM-DDTHH:MM[:SS][Z]", in UTC,
    /// years 0000–9999, up to the last millisecond meant (times before 1970 give 999). Each field is checked for
    /// its digits and range before any arithmetic, so no value can overflow; the error says which field is wrong.
    static func parse(_ text: String) throws(InvalidTime) -> UInt64 {
        let halves = text.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        let date = halves[0].split(separator: "-", omittingEmptySubsequences: false)
        guard date.count == 3 else { throw InvalidTime(reason: "the date is not YYYY-MM-DD") }
        let y = try field(date[0], "year", digits: 4, 0...9999)
        let m = try field(date[1], "month", digits: 2, 1...12)
        let d = try field(date[2], "day", digits: 2, 1...daysInMonth(m, year: y))
        var seconds = days(fromCivil: y, m, d) * 86_400
        if halves.count == 2 {
            let time = halves[1].hasSuffix("Z") ? halves[1].dropLast() : halves[1]
            let hms = time.split(separator: ":", omittingEmptySubsequences: false)
            guard (2...3).contains(hms.count) else { throw InvalidTime(reason: "the time is not HH:MM or HH:MM:SS") }
            let h = try field(hms[0], "hour", digits: 2, 0...23)
            let mm = try field(hms[1], "minute", digits: 2, 0...59)
            let ss = hms.count == 3 ? try field(hms[2], "second", digits: 2, 0...59) : 0
            seconds += Int64(h * 3600 + mm * 60 + ss)
        } else {
            seconds += 86_399
        }
        return UInt64(max(0, seconds)) * 1000 + 999
    }

    /// The decimal number in `text` (1 to `digits` ASCII digits) if it lies in `range`.
    private static func field(
        _ text: Substring,
        _ name: String,
        digits: Int,
        _ range: ClosedRange<Int>
    ) throws(InvalidTime) -> Int {
        guard (1...digits).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let value = Int(text), range.contains(value)
        else {
            throw InvalidTime(
                reason: "the \(name) \(CLIOutput.quoted(String(text))) is not a number from \(range.lowerBound) to "
                    + "\(range.upperBound)"
            )
        }
        return value
    }

    private static func daysInMonth(_ month: Int, year: Int) -> Int {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    private static func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    // Howard Hinnant's civil-date algorithms.
    private static func civil(fromDays z0: Int64) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(yoe + era * 400 + (m <= 2 ? 1 : 0)), Int(m), Int(d))
    }

    private static func days(fromCivil y0: Int, _ m: Int, _ d: Int) -> Int64 {
        let y = Int64(m <= 2 ? y0 - 1 : y0)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mm = Int64(m)
        let doy = (153 * (mm > 2 ? mm - 3 : mm + 9) + 2) / 5 + Int64(d) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

/// CSV fields (RFC 4180).
enum CSV {
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
