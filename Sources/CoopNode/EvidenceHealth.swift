import CoopLog
import CoopServices
import CoopWire

/// Raises the node's health (the server as a whole, service "") to DEGRADED while its store holds evidence of
/// equivocation, naming the origins (ARCHITECTURE §3: "raise the node's health to degraded"). The node keeps
/// serving; operators see it in the health service, `/healthz` and `coop node status`. Evidence is kept for good
/// (until the roster re-keys the origin), so the status does not go back to SERVING by itself.
///
/// **Threading.** A value; thread-safe. ``refresh()`` may be called from any task; it reads the store's digests and
/// sets the health status, which tells health watchers when it changed.
struct EvidenceHealth: Sendable {
    let store: LogStore
    let health: HealthProvider

    /// Sets DEGRADED when the store holds evidence; does nothing otherwise.
    func refresh() {
        let proven = store.digests.filter { $0.evidence > 0 }
        guard !proven.isEmpty else { return }
        let pieces = proven.reduce(0) { $0 + Int($1.evidence) }
        let origins = proven.map(\.origin).sorted().joined(separator: ", ")
        health.set(
            "",
            status: .degraded,
            reasons: [
                "equivocation: \(pieces) piece(s) of evidence that \(origins) signed two different entries at one "
                    + "sequence number; their entries from there are set aside until the roster re-keys them"
            ]
        )
    }
}
