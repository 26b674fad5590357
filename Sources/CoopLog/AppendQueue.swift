import CoopLedger
import CoopSegments
import CoopWire

/// Local appends waiting to be signed, and whether one of them is signing (flat combining).
///
/// **Threading.** Held in a `Mutex` of ``LogStore`` and only touched under it. An append queues its request here
/// and awaits a continuation; the append that finds nobody signing becomes the signer: it takes every waiting
/// request, signs and queues each in turn (one origin's entries are signed one after another, so this is the only
/// serial work), until none is left. The others never block a thread on the store's lock: each is suspended once,
/// until its entry is durable (or refused), and resumed by the log's writer.
struct AppendQueue {
    /// A local write waiting for the signer.
    struct Request {
        var payload: EntryBody.Payload
        var expectedHeads: [EntryID]?
        var continuation: CheckedContinuation<AppendResult, any Error>
    }

    var waiting: [Request] = []
    /// An append is taking the waiting requests; a new one only queues.
    var signing = false

    /// Most requests one signer takes before it hands the work to a new task and returns to its own caller (so that
    /// under endless load no caller waits for ever behind other callers' entries).
    static let maxPerSigner = 256

    /// Queues `request`; `true` when the caller is to sign (nobody was).
    mutating func queue(_ request: Request) -> Bool {
        waiting.append(request)
        if signing { return false }
        signing = true
        return true
    }

    /// The requests waiting, oldest first; when there are none the signer stops (``signing`` is `false`).
    mutating func take() -> [Request] {
        if waiting.isEmpty { signing = false }
        defer { waiting = [] }
        return waiting
    }
}
