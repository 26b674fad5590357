public import CoopWire
import Crypto
import Foundation

/// A member's private keys: the Ed25519 key that signs its log entries and the Curve25519 key pair for CurveZMQ.
///
/// A value; thread-safe. Files are written with mode 0600 and never overwritten.
public struct NodeKeys: Sendable {
    /// Roster id the keys belong to.
    public let name: String
    /// The 32-byte Ed25519 seed.
    let signingSeed: [UInt8]
    /// The 32-byte CurveZMQ secret key.
    public let curveSecretKey: [UInt8]
    /// The 32-byte Ed25519 public key (the roster's `signingPublicKey`).
    public let signingPublicKey: [UInt8]
    /// The 32-byte CurveZMQ public key (the roster's `curvePublicKey`).
    public let curvePublicKey: [UInt8]

    /// Fresh random keys.
    public static func generate(name: String) -> NodeKeys {
        let signing = Curve25519.Signing.PrivateKey()
        let curve = Curve25519.KeyAgreement.PrivateKey()
        return try! NodeKeys(
            name: name,
            signingSeed: [UInt8](signing.rawRepresentation),
            curveSecret: [UInt8](curve.rawRepresentation)
        )
    }

    /// Keys from raw 32-byte secrets.
    public init(name: String, signingSeed: [UInt8], curveSecret: [UInt8]) throws {
        do {
            let signing = try Curve25519.Signing.PrivateKey(rawRepresentation: signingSeed)
            let curve = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: curveSecret)
            self.name = name
            self.signingSeed = signingSeed
            self.curveSecretKey = curveSecret
            self.signingPublicKey = [UInt8](signing.publicKey.rawRepresentation)
            self.curvePublicKey = [UInt8](curve.publicKey.rawRepresentation)
        } catch {
            throw LedgerError(code: .invalidArgument, message: "keys of \(name): not 32-byte secrets", cause: error)
        }
    }

    /// A signer for this member's entries. Not `Sendable`: one owner (the log writer) signs.
    public func makeSigner() -> EntrySigner {
        EntrySigner(key: try! Curve25519.Signing.PrivateKey(rawRepresentation: signingSeed))
    }

    /// A roster member for these keys.
    public func rosterMember(side: Side, role: Role, displayName: String = "", homeNode: String = "") -> RosterMember {
        RosterMember(
            id: name,
            side: side,
            role: role,
            displayName: displayName,
            signingPublicKey: role == .peer ? signingPublicKey : [],
            curvePublicKey: curvePublicKey,
            homeNode: homeNode,
            keyEpoch: 1
        )
    }

    // MARK: Files

    /// File names inside a key directory.
    public static func signingFile(_ name: String) -> String { "\(name).signing.key" }
    public static func curveFile(_ name: String) -> String { "\(name).curve.key" }

    /// Writes both private key files into `directory` with mode 0600. Refuses to overwrite an existing file.
    public func write(to directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw LedgerError(
                code: .io,
                message: "\(directory): cannot create the directory: \(error.localizedDescription)",
                cause: error
            )
        }
        let files = [
            (Self.signingFile(name), "ed25519-seed", signingSeed, "Ed25519 signing key"),
            (Self.curveFile(name), "curve25519-secret", curveSecretKey, "CurveZMQ secret key"),
        ]
        for (file, _, _, _) in files where FileManager.default.fileExists(atPath: "\(directory)/\(file)") {
            throw LedgerError(
                code: .invalidArgument,
                message: "\(directory)/\(file) exists; refusing to overwrite a key (move it away first)"
            )
        }
        for (file, label, secret, what) in files {
            let text =
                "# CoopLedger \(what) of \(name). Secret: keep mode 0600, never share.\n"
                + "\(label):\(Base64.encode(secret))\n"
            try writePrivate(path: "\(directory)/\(file)", contents: Array(text.utf8))
        }
    }

    /// Reads the keys of `name` from `directory`.
    public static func read(name: String, from directory: String) throws -> NodeKeys {
        let seed = try readSecret(path: "\(directory)/\(signingFile(name))", label: "ed25519-seed")
        let curve = try readSecret(path: "\(directory)/\(curveFile(name))", label: "curve25519-secret")
        return try NodeKeys(name: name, signingSeed: seed, curveSecret: curve)
    }

    private static func readSecret(path: String, label: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LedgerError(code: .io, message: "\(path): cannot read key file (run `coop keygen` to make one)")
        }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix(label + ":") {
            if let bytes = Base64.decode(String(line.dropFirst(label.count + 1))), bytes.count == 32 {
                return bytes
            }
            throw LedgerError(code: .invalidArgument, message: "\(path): \(label) is not 32 bytes of base64")
        }
        throw LedgerError(code: .invalidArgument, message: "\(path): no line starting with \"\(label):\"")
    }

    private func writePrivate(path: String, contents: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw LedgerError(code: .io, message: "\(path): cannot create: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let written = contents.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == contents.count, fsync(fd) == 0 else {
            throw LedgerError(code: .io, message: "\(path): cannot write: \(String(cString: strerror(errno)))")
        }
    }
}

/// Signs bytes with an Ed25519 key. Not thread-safe: one owner.
public struct EntrySigner {
    let key: Curve25519.Signing.PrivateKey

    /// The 64-byte Ed25519 signature of `bytes`.
    public func sign(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8](try! key.signature(for: bytes))
    }
}

@available(*, unavailable)
extension EntrySigner: Sendable {}
