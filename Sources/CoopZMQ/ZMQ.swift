internal import CZeroMQ

/// Facts about the linked libzmq. Thread-safe.
public enum ZMQ {
    /// The libzmq version, e.g. "4.3.4".
    public static var version: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}
