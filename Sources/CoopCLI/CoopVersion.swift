import CoopZMQ

/// Version strings shown by `coop --version`.
public enum CoopVersion {
    /// CoopLedger's own version.
    public static let ledger = "0.1.0"

    /// The full version line: CoopLedger, the sync protocol and the C libraries it runs on.
    public static var description: String {
        "coop \(ledger) (protocol coop.v1; libzmq \(ZMQ.version))"
    }
}
