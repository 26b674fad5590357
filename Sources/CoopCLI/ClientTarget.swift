import CoopRPC

/// Where a client command connects and how: an endpoint with CurveZMQ keys, or plain text. A value.
struct ClientTarget: Sendable {
    /// `tcp://HOST:PORT` or `ipc://PATH`.
    var endpoint: String
    /// The node's key and the client's key pair; `nil` for plain text.
    var curve: RPCClientCurve?
    /// Who talks to whom, for messages: `staff.wuhou → cd-wuhou`.
    var label: String
}
