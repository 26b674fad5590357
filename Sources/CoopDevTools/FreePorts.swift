import CoopLedger
import Foundation

/// Free TCP ports on 127.0.0.1 for configuration files that must name their ports before anything binds them (a
/// mesh's nodes name each other's). Thread-safe (no state).
///
/// The ports are drawn at random from below the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`),
/// each checked free by binding it: a port the kernel hands out for `bind(…:0)` or for the source of an outgoing
/// connection comes from that range, so between this check and the node's own bind only another such choice can take
/// the port, not every socket of the machine (taking them with port 0, as before, lost a port to another test's bind
/// now and then). Where that range cannot be read or leaves no room below it, the ports come from binding port 0.
enum FreePorts {
    /// `count` distinct ports that were free a moment ago (all held open together, so they differ).
    static func take(_ count: Int) throws -> [UInt16] {
        var sockets: [Int32] = []
        defer { for fd in sockets { close(fd) } }
        var ports: [UInt16] = []
        let candidates = candidateRange()
        var attempts = 0
        while ports.count < count {
            attempts += 1
            // After many taken candidates (a crowded range), the kernel picks.
            let port = candidates.flatMap { attempts <= 64 * count ? UInt16.random(in: $0) : nil } ?? 0
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw error("socket") }
            guard let bound = try bind(fd, port) else {
                close(fd)
                continue
            }
            sockets.append(fd)
            ports.append(bound)
        }
        return ports
    }

    /// The ports below the ephemeral range to draw from, or `nil` when there are too few.
    static func candidateRange() -> ClosedRange<UInt16>? {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
            let low = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap({ Int($0) }),
            low > 12_000
        else { return nil }
        return 10_000...UInt16(low - 1)
    }

    /// Binds `fd` to 127.0.0.1:`port` (0: any); returns the port bound, or `nil` when that port is in use.
    private static func bind(_ fd: Int32, _ port: UInt16) throws -> UInt16? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if bound != 0 {
            if port != 0 && (errno == EADDRINUSE || errno == EACCES) { return nil }
            throw error("bind")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw error("getsockname") }
        return UInt16(bigEndian: address.sin_port)
    }

    private static func error(_ call: String) -> LedgerError {
        LedgerError(code: .io, message: "finding a free port: \(call) failed: \(String(cString: strerror(errno)))")
    }
}
