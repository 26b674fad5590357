import CoopWire
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: the browser reads
/// commands on fd 3 and writes answers on fd 4, each a JSON message ended by NUL), so no WebSocket client is
/// needed. Synchronous: use it from a thread of its own (``HTTPProbe/offPool(_:)``), never from the shared pool.
/// Every wait has a deadline; ``close()`` kills the browser.
final class HeadlessChromium {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `chromium` on PATH (or the usual Debian paths), when installed.
    static var path: String? {
        let candidates =
            (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map {
                "\($0)/chromium"
            } + ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private let pid: pid_t
    private let toBrowser: Int32
    private let fromBrowser: Int32
    private var pending: [UInt8] = []
    private var nextID = 0
    private var session = ""

    /// Starts `chromium` on `url` with a profile in `profile` (a private directory).
    init(chromium: String, url: String, profile: String, width: Int = 1600, height: Int = 1400) throws {
        var commands: [Int32] = [0, 0]
        var answers: [Int32] = [0, 0]
        guard pipe(&commands) == 0, pipe(&answers) == 0 else { throw Failure(description: "pipe: errno \(errno)") }
        for fd in commands + answers { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, commands[0], 3)
        posix_spawn_file_actions_adddup2(&actions, answers[1], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let arguments = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--remote-debugging-pipe", "--user-data-dir=\(profile)", "--window-size=\(width),\(height)",
            "--lang=zh-CN", url,
        ]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, chromium, &actions, nil, &argv, environ)
        Glibc.close(commands[0])
        Glibc.close(answers[1])
        guard spawned == 0 else {
            Glibc.close(commands[1])
            Glibc.close(answers[0])
            throw Failure(description: "cannot start \(chromium): error \(spawned)")
        }
        pid = child
        toBrowser = commands[1]
        fromBrowser = answers[0]
        signal(SIGPIPE, SIG_IGN)
    }

    deinit { terminate() }

    private var closed = false

    /// Kills the browser and waits for it.
    func terminate() {
        guard !closed else { return }
        closed = true
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        Glibc.close(toBrowser)
        Glibc.close(fromBrowser)
    }

    /// Sends `method` with `params` (JSON text) and returns the `result` of its answer.
    @discardableResult
    func call(_ method: String, _ params: String = "{}", page: Bool = true, timeout: Double = 30) throws -> JSONValue {
        nextID += 1
        let id = nextID
        let sessionPart = page && !session.isEmpty ? ",\"sessionId\":\(JSONWriter.write(.string(session)))" : ""
        let message = "{\"id\":\(id)\(sessionPart),\"method\":\"\(method)\",\"params\":\(params)}"
        var bytes = Array(message.utf8) + [0]
        let written = bytes.withUnsafeMutableBytes { write(toBrowser, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw Failure(description: "write to chromium: errno \(errno)") }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let answer = try readMessage(deadline: deadline)
            guard case .number(let n)? = answer["id"], Int(n) == id else { continue }
            if let error = answer["error"] {
                throw Failure(description: "\(method): \(JSONWriter.write(error, pretty: false))")
            }
            return answer["result"] ?? .null
        }
        throw Failure(description: "\(method): no answer within \(timeout) s")
    }

    private func readMessage(deadline: Date) throws -> JSONValue {
        while true {
            if let end = pending.firstIndex(of: 0) {
                let message = Array(pending[..<end])
                pending.removeFirst(end + 1)
                return try JSONParser.parse(message)
            }
            var poller = pollfd(fd: fromBrowser, events: Int16(POLLIN), revents: 0)
            let left = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            guard left > 0 else { throw Failure(description: "chromium said nothing in time") }
            let ready = poll(&poller, 1, min(left, 1000))
            if ready <= 0 { continue }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            let n = buffer.withUnsafeMutableBytes { read(fromBrowser, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "chromium closed its pipe (errno \(errno))") }
            pending += buffer[0..<n]
        }
    }

    /// Attaches to the page target (the tab opened on the URL).
    func attachToPage(timeout: Double = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let targets = try call("Target.getTargets", page: false)
            if case .array(let infos)? = targets["targetInfos"],
                let target = infos.first(where: { $0["type"] == .string("page") }),
                case .string(let id)? = target["targetId"]
            {
                let attached = try call(
                    "Target.attachToTarget",
                    "{\"targetId\":\(JSONWriter.write(.string(id))),\"flatten\":true}",
                    page: false
                )
                guard case .string(let session)? = attached["sessionId"] else {
                    throw Failure(description: "no sessionId in \(JSONWriter.write(attached, pretty: false))")
                }
                self.session = session
                return
            }
            usleep(100_000)
        }
        throw Failure(description: "no page target within \(timeout) s")
    }

    /// The value of a JavaScript expression in the page.
    func evaluate(_ expression: String) throws -> JSONValue {
        let result = try call(
            "Runtime.evaluate",
            "{\"expression\":\(JSONWriter.write(.string(expression))),\"returnByValue\":true}"
        )
        return result["result"]?["value"] ?? .null
    }

    /// Evaluates `expression` until it is `true` or the deadline passes; returns whether it became true.
    func wait(for expression: String, timeout: Double) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try evaluate(expression) == .bool(true) { return true }
            usleep(200_000)
        }
        return false
    }

    /// A PNG of the page as it is now (the full page, beyond the window).
    func screenshot() throws -> Data {
        let result = try call("Page.captureScreenshot", "{\"format\":\"png\",\"captureBeyondViewport\":true}")
        guard case .string(let data)? = result["data"], let png = Data(base64Encoded: data) else {
            throw Failure(description: "no screenshot data")
        }
        return png
    }
}
