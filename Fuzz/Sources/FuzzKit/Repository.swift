public import CoopLedger
import Foundation

/// The repository's reference data: the fuzz targets need the catalog and roster that the demo logs were
/// written under, and the demo keys to sign entries for seeds.
public enum Repository {
    /// The repository root: `COOP_REPO_ROOT`, or four folders up from this file (`Fuzz/Sources/FuzzKit/…`).
    public static let root: String = {
        if let root = ProcessInfo.processInfo.environment["COOP_REPO_ROOT"], !root.isEmpty { return root }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `deploy/roster.json`; traps when it cannot be read (the targets cannot run without it).
    public static let roster: RosterBook = {
        do {
            return try RosterBook.load(path: root + "/deploy/roster.json")
        } catch {
            fatalError("fuzz set-up: cannot load \(root)/deploy/roster.json (set COOP_REPO_ROOT): \(error)")
        }
    }()

    /// `deploy/catalog.json`, checked against the roster.
    public static let catalog: CatalogBook = {
        do {
            return try CatalogBook.load(path: root + "/deploy/catalog.json", roster: roster)
        } catch {
            fatalError("fuzz set-up: cannot load \(root)/deploy/catalog.json (set COOP_REPO_ROOT): \(error)")
        }
    }()

    /// The demo keys of the roster's peers (`deploy/demo/keys`).
    public static func peerKeys() throws -> [NodeKeys] {
        try roster.peers.map { try NodeKeys.read(name: $0.id, from: root + "/deploy/demo/keys") }
    }
}
