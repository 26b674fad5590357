import CoopLedger
import CoopWire
import Foundation
import TOMLKit

/// A client profile: who a staff member or auditor is, which node they talk to and where their keys are. A TOML file,
/// as `coop dev mesh` writes one per client into `MESH/clients/<member>.toml`:
///
/// ```toml
/// member = "staff.wuhou"            # roster id of the client
/// node = "cd-wuhou"                 # the node it talks to
/// endpoint = "tcp://127.0.0.1:40123"
/// server_curve_public_key = "<base64 of the node's 32-byte CurveZMQ public key>"
/// key_dir = "../keys"               # holds <member>.curve.key (and <member>.signing.key), relative to this file
/// insecure = false                  # true: plain text, no keys (local experiments only)
/// ```
///
/// `member`, `node` and `endpoint` are required; `server_curve_public_key` and `key_dir` are required unless the
/// connection is plain text. Unknown keys are refused (a typo such as `insecur` must not go unnoticed). A value; every
/// error names the file, the key (with its line) and what is wrong.
struct ClientProfile: Sendable {
    /// The profile file, as given.
    var path: String
    /// Roster id of the client.
    var member: String
    /// Roster id of the node it talks to.
    var node: String
    /// The node's endpoint, `tcp://HOST:PORT` or `ipc://PATH`.
    var endpoint: String
    /// The node's 32-byte CurveZMQ public key; `nil` when the profile gives none.
    var serverCurvePublicKey: [UInt8]?
    /// The key directory, resolved against the profile's directory; `nil` when the profile gives none.
    var keyDirectory: String?
    /// The key directory as written in the file (for messages).
    var keyDirectoryAsWritten: String?
    /// Plain text instead of CurveZMQ.
    var insecure: Bool

    /// The keys a profile may hold.
    static let keys = ["member", "node", "endpoint", "server_curve_public_key", "key_dir", "insecure"]

    /// The largest profile file read (a profile is a few hundred bytes; this refuses a wrong path to a huge file).
    static let maxBytes = 64 << 10

    /// Reads and checks the profile at `path`.
    static func load(path: String) throws(ClientError) -> ClientProfile {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ClientError("client profile \(path): no such file", exitCode: CLIOutput.io)
        }
        guard !isDirectory.boolValue else {
            throw ClientError("client profile \(path): is a directory, not a profile file", exitCode: CLIOutput.io)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ClientError("client profile \(path): cannot be read (permissions?)", exitCode: CLIOutput.io)
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxBytes + 1) ?? Data()
        } catch {
            throw ClientError("client profile \(path): cannot be read: \(error.localizedDescription)", exitCode: 2)
        }
        guard data.count <= maxBytes else {
            throw ClientError("client profile \(path): larger than \(maxBytes / 1024) KiB; not a client profile")
        }
        return try parse([UInt8](data), path: path)
    }

    /// Checks the profile text `bytes` read from `path`.
    static func parse(_ bytes: [UInt8], path: String) throws(ClientError) -> ClientProfile {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ClientError("client profile \(path): not UTF-8 text (is it a TOML client profile?)")
        }
        if let nul = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex(where: {
            $0.utf8.contains(0)
        }) {
            throw ClientError("client profile \(path): line \(nul + 1): contains a NUL byte (not a TOML text file)")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ClientError(
                "client profile \(path): line \(error.source.begin.line), column \(error.source.begin.column): "
                    + "not valid TOML: \(error.description)"
            )
        } catch {
            throw ClientError("client profile \(path): not valid TOML: \(error)")
        }
        let reader = Reader(table: table, text: text, path: path)
        try reader.refuseUnknownKeys()
        let member = try reader.string("member", what: "the client's roster id, e.g. \"staff.wuhou\"")
        guard RosterBook.isValidMemberID(member) else {
            throw reader.problem(
                "member",
                "\(CLIOutput.quoted(member)) is not a roster id (1–64 of a–z, 0–9, '-', '.')"
            )
        }
        let node = try reader.string("node", what: "the roster id of the node it talks to, e.g. \"cd-wuhou\"")
        guard RosterBook.isValidMemberID(node) else {
            throw reader.problem("node", "\(CLIOutput.quoted(node)) is not a roster id (1–64 of a–z, 0–9, '-', '.')")
        }
        let endpoint = try reader.string("endpoint", what: "the node's endpoint, e.g. \"tcp://127.0.0.1:40123\"")
        if let problem = ClientOptions.endpointProblem(endpoint) { throw reader.problem("endpoint", problem) }
        var serverKey: [UInt8]?
        if let text = try reader.optionalString("server_curve_public_key") {
            guard let key = Base64.decode(text.trimmingCharacters(in: .whitespaces)) else {
                throw reader.problem("server_curve_public_key", "\(CLIOutput.quoted(text)) is not base64")
            }
            guard key.count == 32 else {
                throw reader.problem(
                    "server_curve_public_key",
                    "decodes to \(key.count) bytes; a CurveZMQ public key is 32 bytes"
                )
            }
            serverKey = key
        }
        let keyDirectory = try reader.optionalString("key_dir")
        if keyDirectory?.isEmpty == true { throw reader.problem("key_dir", "is empty; give the directory of the keys") }
        return ClientProfile(
            path: path,
            member: member,
            node: node,
            endpoint: endpoint,
            serverCurvePublicKey: serverKey,
            keyDirectory: keyDirectory.map { resolve($0, against: path) },
            keyDirectoryAsWritten: keyDirectory,
            insecure: try reader.optionalBool("insecure") ?? false
        )
    }

    /// `relative` read against the directory holding `file` (absolute paths stay as they are).
    static func resolve(_ relative: String, against file: String) -> String {
        if relative.hasPrefix("/") { return relative }
        let directory = (file as NSString).deletingLastPathComponent
        return directory.isEmpty ? relative : directory + "/" + relative
    }

    /// The error for `key` of this profile (with its line, when it is in the file).
    func problem(_ key: String, _ what: String) -> ClientError {
        ClientError("client profile \(path): key \"\(key)\": \(what)")
    }

    /// The client's keys from ``keyDirectory``, as `coop keygen` wrote them. A file that cannot be read exits 2.
    func readKeys() throws(ClientError) -> NodeKeys {
        guard let keyDirectory, let written = keyDirectoryAsWritten else {
            throw problem(
                "key_dir",
                "missing; a CurveZMQ connection needs the directory holding \(NodeKeys.curveFile(member)) "
                    + "(or use --insecure for a plain-text node)"
            )
        }
        do {
            return try NodeKeys.read(name: member, from: keyDirectory)
        } catch let error as LedgerError {
            throw ClientError(
                "client profile \(path): key \"key_dir\" (\(CLIOutput.quoted(written))): \(error.message)",
                exitCode: error.code == .io ? CLIOutput.io : CLIOutput.invalid
            )
        } catch {
            throw ClientError("client profile \(path): key \"key_dir\" (\(CLIOutput.quoted(written))): \(error)")
        }
    }
}

extension ClientProfile {
    /// Typed access to the profile's table; errors name the file, the key and its line.
    fileprivate struct Reader {
        let table: TOMLTable
        let text: String
        let path: String

        /// The 1-based line where `key` is assigned, or `nil`.
        func line(of key: String) -> Int? {
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                var rest = line.drop(while: { $0 == " " || $0 == "\t" })
                for form in [key, "\"\(key)\"", "'\(key)'"] where rest.hasPrefix(form) {
                    rest = rest.dropFirst(form.count).drop(while: { $0 == " " || $0 == "\t" })
                    if rest.hasPrefix("=") { return index + 1 }
                }
            }
            return nil
        }

        func problem(_ key: String, _ what: String) -> ClientError {
            let at = line(of: key).map { "line \($0): " } ?? ""
            return ClientError("client profile \(path): \(at)key \"\(key)\": \(what)")
        }

        func refuseUnknownKeys() throws(ClientError) {
            for key in table.keys where !ClientProfile.keys.contains(key) {
                throw problem(key, "not a profile key (the keys are: \(ClientProfile.keys.joined(separator: ", ")))")
            }
        }

        func optionalString(_ key: String) throws(ClientError) -> String? {
            guard let value = table[key] else { return nil }
            guard let string = value.string else {
                throw problem(key, "expected a string in quotes, found \(Self.kind(value.type))")
            }
            return string
        }

        func string(_ key: String, what: String) throws(ClientError) -> String {
            guard let value = try optionalString(key) else {
                throw ClientError("client profile \(path): key \"\(key)\" is missing (\(what))")
            }
            guard !value.isEmpty else { throw problem(key, "is empty (\(what))") }
            return value
        }

        /// `type` with its article: "an integer", "a string".
        static func kind(_ type: TOMLType) -> String {
            let name = type.description
            return (name.first.map { "aeiou".contains($0) } == true ? "an " : "a ") + name
        }

        func optionalBool(_ key: String) throws(ClientError) -> Bool? {
            guard let value = table[key] else { return nil }
            guard let bool = value.bool else {
                throw problem(key, "expected true or false, found \(Self.kind(value.type))")
            }
            return bool
        }
    }
}
