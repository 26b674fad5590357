import ArgumentParser
import CoopLedger
import CoopWire
import Foundation

/// `coop report …`: reports for supervisors.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Reports for supervisors (督办), from a node's view.",
        subcommands: [ReportOverdue.self]
    )
}

/// `coop report overdue`: the items overdue, stale or awaiting a sign-off, most overdue first — the table of the
/// node's printable `/report/overdue` page.
struct ReportOverdue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overdue",
        abstract: "Items past due and not completed, not updated for N days, or awaiting a sign-off.",
        discussion: """
            Reads the items through a node (Ledger/ListItems) and flags, as of today (UTC): overdue, due before today \
            and neither completed nor cancelled; stale, last updated --stale-days or more days ago and not completed \
            or cancelled (an item never updated is not stale); a joint completion awaiting a side's sign-off. Most \
            days overdue first. The node's web listener serves the same as a printable page: /report/overdue.
            """
    )

    @Option(name: .long, help: "An item not updated for this many days is stale.")
    var staleDays = 14

    @Flag(name: .long, help: "Comma-separated values with a header line.")
    var csv = false

    @Flag(name: .long, help: "JSON: an array with one object per flagged item.")
    var json = false

    @OptionGroup var connection: ClientOptions

    func validate() throws {
        guard (1...3650).contains(staleDays) else { throw ValidationError("--stale-days must be 1…3650") }
        if csv && json { throw ValidationError("give --json or --csv, not both") }
    }

    struct Line {
        var item: CatalogItem
        var state: ItemState
        var supervision: Supervision
    }

    func run() async throws {
        let response = try await connection.withLedger { ledger, options in
            try await ledger.listItems(ListItemsRequest(), options: options)
        }
        let nowMs = UInt64(Date().timeIntervalSince1970 * 1000)
        let lines = Self.lines(response.items, nowMs: nowMs, staleDays: staleDays)
        if json {
            CLIOutput.out(JSONWriter.write(.array(lines.map(Self.json))))
        } else if csv {
            CLIOutput.out(
                "item,status,progress,due,days_overdue,days_since_update,overdue,stale,missing_sign_off,updated_by,title_zh"
            )
            for line in lines {
                let s = line.supervision
                let fields = [
                    line.item.id, line.state.status.protoValueName, "\(line.state.progress)", line.item.dueDate,
                    "\(s.daysOverdue)", s.daysSinceUpdate.map { "\($0)" } ?? "", "\(s.overdue)", "\(s.stale)",
                    s.missingSignOff.map(\.protoValueName).joined(separator: " "), line.state.updatedBy,
                    line.item.titleZh,
                ]
                CLIOutput.out(fields.map(CSV.field).joined(separator: ","))
            }
        } else {
            var table = TextTable([
                "编号 ID", "事项 Item", "状态 Status", "进度", "完成时限 Due", "逾期 Overdue", "未更新 Since update",
                "待确认 Sign-off", "最近更新 By",
            ])
            for line in lines {
                let s = line.supervision
                table.add([
                    line.item.id, ItemTable.cut(line.item.titleZh, 14), WallChart.status(line.state),
                    "\(line.state.progress)%", line.item.dueDate, s.overdue ? "! \(s.daysOverdue) d" : "",
                    s.daysSinceUpdate.map { "\($0) d" + (s.stale ? " (stale)" : "") } ?? "-",
                    s.missingSignOff.map { $0 == .chengdu ? "成都 Chengdu" : "重庆 Chongqing" }.joined(separator: " "),
                    line.state.updatedBy.isEmpty ? "-" : line.state.updatedBy,
                ])
            }
            CLIOutput.out(table.render())
            CLIOutput.out(
                "\n\(lines.count) of \(response.items.count) items flagged as of \(Supervision.date(ms: nowMs)) (UTC): "
                    + "\(lines.filter(\.supervision.overdue).count) overdue, "
                    + "\(lines.filter(\.supervision.stale).count) stale (no update for \(staleDays) days or more), "
                    + "\(lines.filter { !$0.supervision.missingSignOff.isEmpty }.count) awaiting a sign-off"
            )
        }
    }

    /// The flagged items, most days overdue first, then longest without an update, then catalog order.
    static func lines(_ views: [ItemView], nowMs: UInt64, staleDays: Int) -> [Line] {
        views.enumerated().compactMap { index, view -> (Int, Line)? in
            let item = view.item ?? CatalogItem()
            let state = view.state ?? ItemState()
            let s = Supervision(item: item, state: state, roster: nil, nowMs: nowMs, staleDays: staleDays)
            return s.flagged ? (index, Line(item: item, state: state, supervision: s)) : nil
        }
        .sorted { a, b in
            let x = a.1.supervision
            let y = b.1.supervision
            if x.daysOverdue != y.daysOverdue { return x.daysOverdue > y.daysOverdue }
            if (x.daysSinceUpdate ?? -1) != (y.daysSinceUpdate ?? -1) {
                return (x.daysSinceUpdate ?? -1) > (y.daysSinceUpdate ?? -1)
            }
            return a.0 < b.0
        }
        .map(\.1)
    }

    static func json(_ line: Line) -> JSONValue {
        let s = line.supervision
        return .object([
            JSONMember(key: "item", value: .string(line.item.id)),
            JSONMember(key: "titleZh", value: .string(line.item.titleZh)),
            JSONMember(key: "titleEn", value: .string(line.item.titleEn)),
            JSONMember(key: "status", value: .string(line.state.status.protoValueName)),
            JSONMember(key: "progress", value: .number("\(line.state.progress)")),
            JSONMember(key: "due", value: .string(line.item.dueDate)),
            JSONMember(key: "overdue", value: .bool(s.overdue)),
            JSONMember(key: "daysOverdue", value: .number("\(s.daysOverdue)")),
            JSONMember(key: "stale", value: .bool(s.stale)),
            JSONMember(key: "daysSinceUpdate", value: s.daysSinceUpdate.map { .number("\($0)") } ?? .null),
            JSONMember(key: "missingSignOff", value: .array(s.missingSignOff.map { .string($0.protoValueName) })),
            JSONMember(key: "updatedBy", value: .string(line.state.updatedBy)),
            JSONMember(key: "participants", value: .array(line.item.participants.map { .string($0) })),
        ])
    }
}
