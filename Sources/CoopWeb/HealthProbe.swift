import CoopNode
import CoopServices
import CoopWire

/// `/healthz` and `/readyz`, mirroring the node's health service for load balancers and systemd: healthy while the
/// health service reports the server SERVING or DEGRADED (equivocation evidence: still 200, with the reason); ready while
/// healthy and the node may sign new entries (a peer confirmed its own log). A value; thread-safe.
struct HealthProbe {
    let parts: NodeParts

    /// Whether the node is healthy, and the body that says so.
    var health: (ok: Bool, text: String) {
        guard let (status, reasons) = parts.health.status(of: "") else { return (false, "UNKNOWN\n") }
        // DEGRADED still serves (equivocation evidence needs an operator, not a restart): healthy, 200.
        let serving = status == .serving || status == .degraded
        var text =
            switch status {
            case .serving: "SERVING"
            case .degraded: "DEGRADED"
            default: "NOT_SERVING"
            }
        if !reasons.isEmpty { text += ": " + reasons.joined(separator: "; ") }
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
