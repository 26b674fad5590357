import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client for the tests, over a blocking socket on a thread of its own (never on the shared
/// concurrency pool, which the in-process server needs): one GET with `Connection: close`, or a stream read until a
/// predicate holds. Every read has a deadline, so no test can hang.
enum HTTPProbe {
    struct Answer: Sendable {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `GET http://127.0.0.1:PORT/path`.
    static func get(_ base: String, _ path: String, timeout: Double = 30) async throws -> Answer {
        let raw = try await offPool { try exchange(base, path, timeout: timeout) { _ in false } }
        return try parse(raw)
    }

    /// Opens `path` and reads until `done` holds for all that arrived (or the deadline), then closes; returns the raw
    /// text (chunk framing included).
    static func stream(
        _ base: String,
        _ path: String,
        timeout: Double = 30,
        until done: @escaping @Sendable (String) -> Bool
    ) async throws -> String {
        try await offPool { try exchange(base, path, timeout: timeout, until: done) }
    }

    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
        }
    }

    static func port(_ base: String) throws -> UInt16 {
        guard let colon = base.lastIndex(of: ":"), let port = UInt16(base[base.index(after: colon)...]) else {
            throw Failure(description: "no port in \(base)")
        }
        return port
    }

    static func exchange(
        _ base: String,
        _ path: String,
        timeout: Double,
        until done: (String) -> Bool
    ) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = try port(base).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw Failure(description: "connect to \(base): errno \(errno)") }
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        let sent = request.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, request.utf8.count, 0) }
        guard sent == request.utf8.count else { throw Failure(description: "send: errno \(errno)") }
        let deadline = Date().addingTimeInterval(timeout)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return String(decoding: received, as: UTF8.self) }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                throw Failure(description: "recv: errno \(errno)")
            }
            received += buffer[0..<n]
            if done(String(decoding: received, as: UTF8.self)) { return String(decoding: received, as: UTF8.self) }
        }
        throw Failure(
            description: "no answer within \(timeout) s from \(base)\(path); received: "
                + String(decoding: received.suffix(2000), as: UTF8.self)
        )
    }

    static func parse(_ raw: String) throws -> Answer {
        guard let split = raw.range(of: "\r\n\r\n") else { throw Failure(description: "no header end in: \(raw)") }
        let head = raw[..<split.lowerBound].split(separator: "\r\n")
        let statusLine = head.first?.split(separator: " ") ?? []
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw Failure(description: "bad status line in: \(raw.prefix(200))")
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces
            )
        }
        var body = String(raw[split.upperBound...])
        if headers["transfer-encoding"]?.contains("chunked") == true { body = dechunk(body) }
        return Answer(status: status, headers: headers, body: body)
    }

    static func dechunk(_ text: String) -> String {
        var bytes = Array(text.utf8)[...]
        var out: [UInt8] = []
        while let lineEnd = bytes.firstIndex(of: UInt8(ascii: "\r")) {
            let sizeText = String(decoding: bytes[bytes.startIndex..<lineEnd], as: UTF8.self)
            guard let size = Int(sizeText, radix: 16), size > 0 else { break }
            let start = lineEnd + 2
            guard start + size <= bytes.endIndex else { break }
            out += bytes[start..<start + size]
            bytes = bytes[min(bytes.endIndex, start + size + 2)...]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
