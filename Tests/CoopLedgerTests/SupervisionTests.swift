import CoopLedger
import CoopTestKit
import CoopWire
import Testing

/// The supervision rules: overdue, stale, missing sign-off; and the UTC calendar arithmetic under them.
@Suite("Supervision")
struct SupervisionTests {
    static let day: UInt64 = 86_400_000

    @Test(arguments: [
        (UInt64(0), "1970-01-01"),
        (UInt64(951_782_400_000), "2000-02-29"),
        (UInt64(1_780_272_000_000), "2026-06-01"),
        (UInt64(1_780_271_999_999), "2026-05-31"),
        (UInt64(4_107_542_400_000), "2100-03-01"),
    ])
    func calendarDates(ms: UInt64, date: String) {
        #expect(Supervision.date(ms: ms) == date)
        #expect(Supervision.days(from: date, toMs: ms) == 0)
        #expect(Supervision.days(from: date, toMs: ms + 3 * Self.day) == 3)
    }

    @Test func malformedDueDateIsNotADayCount() {
        #expect(Supervision.days(from: "2025-12", toMs: 0) == nil)
    }

    static func item(due: String, signOff: Bool = false) -> CatalogItem {
        CatalogItem(id: "CY-01", participants: ["cq-shapingba", "cd-wuhou"], dueDate: due, requiresSignOff: signOff)
    }

    @Test func overdueIsPastDueAndOpen() {
        let june = UInt64(1_780_272_000_000)  // 2026-06-01
        let planned = ItemState(itemId: "CY-01", status: .planned)
        let late = Supervision(
            item: Self.item(due: "2025-12-31"),
            state: planned,
            roster: nil,
            nowMs: june,
            staleDays: 14
        )
        #expect(late.overdue && late.daysOverdue == 152 && late.flagged)
        let dueToday = Supervision(
            item: Self.item(due: "2026-06-01"),
            state: planned,
            roster: nil,
            nowMs: june,
            staleDays: 14
        )
        #expect(!dueToday.overdue)
        for status in [ItemStatus.completed, .cancelled] {
            let done = Supervision(
                item: Self.item(due: "2025-12-31"),
                state: ItemState(itemId: "CY-01", status: status),
                roster: nil,
                nowMs: june,
                staleDays: 14
            )
            #expect(!done.overdue && !done.flagged)
        }
    }

    @Test func staleAfterTheDaysAndNeverForAnItemNeverUpdated() {
        let updated = UInt64(1_780_272_000_000)
        var state = ItemState(itemId: "CY-01", status: .inProgress)
        state.updatedAt = HybridTimestamp(wallMs: updated)
        let item = Self.item(due: "2027-12-31")
        #expect(
            !Supervision(item: item, state: state, roster: nil, nowMs: updated + 13 * Self.day, staleDays: 14).stale
        )
        let late = Supervision(item: item, state: state, roster: nil, nowMs: updated + 14 * Self.day, staleDays: 14)
        #expect(late.stale && late.daysSinceUpdate == 14)
        let never = Supervision(
            item: item,
            state: ItemState(itemId: "CY-01", status: .planned),
            roster: nil,
            nowMs: updated + 400 * Self.day,
            staleDays: 14
        )
        #expect(!never.stale && never.daysSinceUpdate == nil)
    }

    @Test func missingSignOffNamesTheSideAndItsNodes() throws {
        let roster = try RosterBook.load(path: Fixtures.rosterPath)
        var state = ItemState(itemId: "CY-01", status: .inProgress)
        state.awaitingSignOff = true
        state.signedOff = [.chongqing]
        let s = Supervision(
            item: Self.item(due: "2027-12-31", signOff: true),
            state: state,
            roster: roster,
            nowMs: 0,
            staleDays: 14
        )
        #expect(s.missingSignOff == [.chengdu])
        #expect(s.missingSigners == ["cd-wuhou"])
        #expect(s.flagged)
    }
}
