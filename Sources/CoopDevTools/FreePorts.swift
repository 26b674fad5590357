import CoopLedger
import Foundation

/// Free TCP ports on 127.0.0.1, found by binding port 0. Thread-safe (no state).
enum FreePorts {
    /// `count` distinct ports that were free a moment ago (all held open together, so they differ).
    static func take(_ count: Int) throws -> [UInt16] {
        var sockets: [Int32] = []
        defer { for fd in sockets { close(fd) } }
        var ports: [UInt16] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw error("socket") }
            sockets.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else { throw error("bind") }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0 else { throw error("getsockname") }
            ports.append(UInt16(bigEndian: address.sin_port))
        }
        return ports
    }

    private static func error(_ call: String) -> LedgerError {
        LedgerError(code: .io, message: "finding a free port: \(call) failed: \(String(cString: strerror(errno)))")
    }
}
