import CoopLedger
import CoopWire
import CoopZMQ
import Synchronization

/// The node's head notices over ZeroMQ: a PUB socket on which it announces each new head (topic `head`, one
/// `HeadNotice` per message), and a SUB socket connected to every peer's PUB endpoint. Both use CurveZMQ with the
/// node's key (the PUB side admits roster keys through the node's ZAP handler). A notice lost (slow joiner, high
/// water mark, restart) costs only time: the next anti-entropy round repairs it.
///
/// **Threading.** `Sendable`; the sockets live on the node's ``ZMQReactor`` thread and are only touched there.
final class NoticeBus: Sendable {
    static let topic = Array("head".utf8)

    /// CurveZMQ keys: this node's pair, and each peer's public key (by node id).
    struct Curve: Sendable {
        var publicKey: [UInt8]
        var secretKey: [UInt8]
        var peerKeys: [String: [UInt8]]
    }

    let reactor: ZMQReactor
    private let pubID = Mutex<ZMQReactor.SocketID?>(nil)
    private let subID = Mutex<ZMQReactor.SocketID?>(nil)

    init(reactor: ZMQReactor) { self.reactor = reactor }

    /// Binds the PUB socket at `publish` (if any) and connects the SUB socket to the peers that publish; returns the
    /// bound PUB endpoint. `onNotice` runs on the reactor thread for each notice received: keep it short.
    func start(
        publish: String?,
        peers: [NodeConfig.Peer],
        curve: Curve?,
        onNotice: @escaping @Sendable (HeadNotice) -> Void
    ) async throws -> String? {
        try await reactor.run { registry in
            var bound: String?
            if let publish {
                let pub = try ZMQSocket(registry.context, type: .pub)
                try pub.set(.sendHighWaterMark, 10_000)
                if let curve {
                    try pub.set(.curveServer, 1)
                    try pub.set(.curveSecretKey, curve.secretKey)
                    try pub.set(.zapDomain, "coop")
                }
                bound = try pub.bind(publish)
                self.pubID.withLock { $0 = registry.register(pub) }
            }
            let publishers = peers.filter { $0.publish != nil }
            if !publishers.isEmpty {
                // One SUB socket per peer: CurveZMQ's server key is per socket.
                for peer in publishers {
                    let sub = try ZMQSocket(registry.context, type: .sub)
                    if let curve {
                        guard let key = curve.peerKeys[peer.id] else { continue }
                        try sub.set(.curveServerKey, key)
                        try sub.set(.curvePublicKey, curve.publicKey)
                        try sub.set(.curveSecretKey, curve.secretKey)
                    }
                    try sub.set(.subscribe, Self.topic)
                    try sub.set(.reconnectInterval, .milliseconds(100))
                    try sub.set(.reconnectIntervalMax, .seconds(2))
                    try sub.connect(peer.publish!)
                    let id = registry.register(sub) { socket in
                        while let frames = try? socket.receive(blocking: false, maxBytes: 4096) {
                            guard frames.count == 2, frames[0] == Self.topic,
                                let notice = try? HeadNotice(wireBytes: frames[1]),
                                notice.fromNode == peer.id
                            else { continue }
                            onNotice(notice)
                        }
                    }
                    self.subID.withLock { $0 = $0 ?? id }
                }
            }
            return bound
        }
    }

    /// Publishes notices (never blocks; past the high water mark they are dropped, and anti-entropy repairs that).
    func announce(_ notices: [HeadNotice]) {
        guard let id = pubID.withLock({ $0 }) else { return }
        let messages = notices.map { $0.wireBytes() }
        _ = reactor.execute { registry in
            guard let pub = registry.socket(id) else { return }
            for bytes in messages { _ = try? pub.send([Self.topic, bytes], blocking: false) }
        }
    }
}
