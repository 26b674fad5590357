import Synchronization

/// A network in memory for RPC tests: servers listen on names, clients connect to names, and messages go from one to
/// the other as values, in order, with no socket, thread or timer (Hummingbird's `.router` testing, grpc-swift's
/// in-process transport). It behaves like ZeroMQ where the RPC layer can tell: a client waits for a server to listen
/// on its address and reconnects by itself when one listens again; every connection is a new peer; a server learns
/// at once when a client goes away, a client when its server does.
///
/// **Threading.** `Sendable`; every method may be called from any thread. State is behind one lock; events are queued
/// under it (so they keep the order of the changes that caused them) and delivered after it is let go, each
/// endpoint's in order through its own ``RPCMailbox``.
public final class RPCInMemoryNetwork: Sendable {
    private struct Server {
        var mailbox: RPCMailbox<RPCServerTransportEvent>
    }

    private struct Client {
        var address: String
        var caller: String?
        var mailbox: RPCMailbox<RPCClientTransportEvent>
        /// The peer id of the connection, when connected.
        var peer: [UInt8]?
    }

    private struct State {
        var servers: [String: Server] = [:]
        var clients: [UInt64: Client] = [:]
        /// Connections by peer id: the client's id and the address it is connected to.
        var connections: [[UInt8]: (client: UInt64, address: String)] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Addresses with a listening server.
    public var listening: [String] { state.withLock { $0.servers.keys.sorted() } }

    /// Connections up now.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Breaks every connection to the server at `address`, as a network failure would: the server is told each peer
    /// is gone, each client that its connection was lost; the clients then reconnect at once (as new peers).
    public func dropConnections(to address: String) {
        var drain: [() -> Void] = []
        state.withLock { s in
            guard let server = s.servers[address] else { return }
            for (peer, connection) in s.connections where connection.address == address {
                s.connections[peer] = nil
                server.mailbox.enqueue(.peerGone(peer: peer, reason: "the network dropped the connection"))
                if let client = s.clients[connection.client] {
                    client.mailbox.enqueue(.disconnected(reason: "the network dropped the connection to \(address)"))
                    s.clients[connection.client]?.peer = nil
                    drain.append(client.mailbox.drain)
                }
            }
            drain.append(server.mailbox.drain)
            for id in s.clients.keys where s.clients[id]?.address == address && s.clients[id]?.peer == nil {
                drain.append(Self.connect(id, in: &s))
            }
        }
        for step in drain { step() }
    }

    // MARK: For the transports

    func newID() -> UInt64 {
        state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
    }

    func listen(_ address: String, mailbox: RPCMailbox<RPCServerTransportEvent>) throws(RPCError) -> String {
        var drain: [() -> Void] = []
        let bound: String? = state.withLock { s in
            var address = address
            if address.isEmpty {
                s.nextID += 1
                address = "memory-\(s.nextID)"
            }
            guard s.servers[address] == nil else { return nil }
            s.servers[address] = Server(mailbox: mailbox)
            for id in s.clients.keys.sorted() where s.clients[id]?.address == address {
                drain.append(Self.connect(id, in: &s))
            }
            return address
        }
        for step in drain { step() }
        guard let bound else {
            throw RPCError(
                code: .unavailable,
                message: "the in-memory address \(address) already has a server",
                reason: RPCReason.unavailable
            )
        }
        return bound
    }

    /// Closes the server at `address`: its clients lose their connections (and wait for another server there).
    func closeServer(_ address: String, mailbox: RPCMailbox<RPCServerTransportEvent>) {
        var drain: [() -> Void] = []
        state.withLock { s in
            guard let server = s.servers[address], server.mailbox === mailbox else { return }
            s.servers[address] = nil
            for (peer, connection) in s.connections where connection.address == address {
                s.connections[peer] = nil
                guard let client = s.clients[connection.client] else { continue }
                s.clients[connection.client]?.peer = nil
                client.mailbox.enqueue(.disconnected(reason: "the server at \(address) closed the connection"))
                drain.append(client.mailbox.drain)
            }
        }
        mailbox.close()
        for step in drain { step() }
    }

    func addClient(
        _ id: UInt64,
        address: String,
        caller: String?,
        mailbox: RPCMailbox<RPCClientTransportEvent>
    ) {
        let drain = state.withLock { s in
            s.clients[id] = Client(address: address, caller: caller, mailbox: mailbox)
            return Self.connect(id, in: &s)
        }
        drain()
    }

    func removeClient(_ id: UInt64) {
        let drain: (() -> Void)? = state.withLock { s in
            guard let client = s.clients.removeValue(forKey: id) else { return nil }
            client.mailbox.close()
            guard let peer = client.peer, let connection = s.connections.removeValue(forKey: peer),
                let server = s.servers[connection.address]
            else { return nil }
            server.mailbox.enqueue(.peerGone(peer: peer, reason: "the client closed its connection"))
            return server.mailbox.drain
        }
        drain?()
    }

    func clientSend(_ id: UInt64, _ frames: [[UInt8]]) -> RPCSendResult {
        let (result, drain): (RPCSendResult, (() -> Void)?) = state.withLock { s in
            guard let client = s.clients[id] else { return (.closed, nil) }
            guard let peer = client.peer, let connection = s.connections[peer],
                let server = s.servers[connection.address]
            else { return (.wouldBlock, nil) }
            server.mailbox.enqueue(.received(peer: peer, frames: frames, caller: client.caller))
            return (.sent, server.mailbox.drain)
        }
        drain?()
        return result
    }

    func serverSend(_ address: String, to peer: [UInt8], _ frames: [[UInt8]]) -> RPCSendResult {
        let (result, drain): (RPCSendResult, (() -> Void)?) = state.withLock { s in
            guard let server = s.servers[address] else { return (.closed, nil) }
            guard let connection = s.connections[peer], connection.address == address,
                let client = s.clients[connection.client]
            else {
                server.mailbox.enqueue(.peerGone(peer: peer, reason: "no connection has this peer id"))
                return (.peerGone, server.mailbox.drain)
            }
            client.mailbox.enqueue(.received(frames))
            return (.sent, client.mailbox.drain)
        }
        drain?()
        return result
    }

    /// Connects client `id` if a server listens on its address; returns what delivers the events this queued.
    private static func connect(_ id: UInt64, in s: inout State) -> () -> Void {
        guard let client = s.clients[id], client.peer == nil, s.servers[client.address] != nil else { return {} }
        s.nextID += 1
        let peer = Array("peer-\(s.nextID)".utf8)
        s.clients[id]?.peer = peer
        s.connections[peer] = (id, client.address)
        client.mailbox.enqueue(.connected)
        return client.mailbox.drain
    }
}
