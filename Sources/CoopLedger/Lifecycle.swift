public import CoopWire

/// The item life cycle (任务→分办→落实→跟踪→反馈→上报): which status may follow which, and the rules every
/// status update must meet. Pure functions; thread-safe.
public enum Lifecycle {
    /// Statuses each status may move to. COMPLETED and CANCELLED are final.
    public static let allowed: [ItemStatus: Set<ItemStatus>] = [
        .planned: [.planned, .assigned, .inProgress, .suspended, .cancelled],
        .assigned: [.assigned, .inProgress, .delayed, .suspended, .cancelled],
        .inProgress: [.inProgress, .delayed, .completed, .suspended, .cancelled],
        .delayed: [.delayed, .inProgress, .completed, .suspended, .cancelled],
        .suspended: [.suspended, .assigned, .inProgress, .cancelled],
        .completed: [],
        .cancelled: [],
    ]

    /// Longest note or comment, in characters.
    public static let maxTextLength = 4000

    /// Why `update` is not acceptable on its own (independent of any state), or `nil`. Applied by every node
    /// to every entry, so all views agree.
    public static func contentProblem(_ update: StatusUpdate) -> String? {
        if update.status == .unspecified { return "status is not set" }
        if update.progress > 100 { return "progress \(update.progress) is over 100" }
        if update.status == .completed && update.progress != 100 { return "COMPLETED needs progress 100" }
        if update.note.count > maxTextLength { return "note is longer than \(maxTextLength) characters" }
        return nil
    }

    /// Why a writer may not move an item from `current` to `next`, or `nil`. Checked by the writing node
    /// against its own view only.
    public static func transitionProblem(itemID: String, from current: ItemStatus, to next: ItemStatus) -> String? {
        if allowed[current]?.contains(next) == true { return nil }
        let final = current == .completed || current == .cancelled ? "; \(current.protoValueName) is final" : ""
        return "\(itemID): \(current.protoValueName) → \(next.protoValueName) is not allowed\(final)"
    }
}
