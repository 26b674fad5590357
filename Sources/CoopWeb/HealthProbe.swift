import CoopNode
import CoopServices
import CoopWire

/// `/healthz` and `/readyz`, mirroring the node's health service for load balancers and systemd: healthy while the
/// health service reports the server SERVING (equivocation evidence is named as degraded, still 200); ready while
/// healthy and the node may sign new entries (a peer confirmed its own log). A value; thread-safe.
struct HealthProbe {
    let parts: NodeParts

    /// Whether the node is healthy, and the body that says so.
    var health: (ok: Bool, text: String) {
        guard let (status, reasons) = parts.health.status(of: "") else { return (false, "UNKNOWN\n") }
        let serving = status == .serving
        var text = serving ? "SERVING" : "NOT_SERVING"
        if !reasons.isEmpty { text += ": " + reasons.joined(separator: "; ") }
        let evidence = parts.store.evidence.count
        if evidence > 0 { text += " (degraded: \(evidence) piece(s) of equivocation evidence)" }
        return (serving, text + "\n")
    }

    /// Whether the node is ready to take writes, and the body that says so.
    var ready: (ok: Bool, text: String) {
        let health = self.health
        guard health.ok else { return (false, "not ready: " + health.text) }
        guard parts.sync.mayWrite else {
            return (false, "not ready: own log not yet confirmed by a peer; writes refused until then\n")
        }
        return (true, "READY\n")
    }
}
