public import CoopLedger
import Foundation

/// The repository's reference data, for tests.
public enum Fixtures {
    /// `deploy/catalog.json`.
    public static var catalogPath: String { ChildProcess.repositoryRoot() + "/deploy/catalog.json" }
    /// `deploy/roster.json`.
    public static var rosterPath: String { ChildProcess.repositoryRoot() + "/deploy/roster.json" }
    /// `deploy/demo/keys`.
    public static var keysPath: String { ChildProcess.repositoryRoot() + "/deploy/demo/keys" }

    /// The example roster.
    public static func roster() throws -> RosterBook { try RosterBook.load(path: rosterPath) }

    /// The 40-item catalog, checked against the roster.
    public static func catalog() throws -> CatalogBook {
        try CatalogBook.load(path: catalogPath, roster: try roster())
    }

    /// The three example nodes.
    public static let nodes = ["cq-shapingba", "cd-wuhou", "cd-qingbaijiang"]
}
