import CoopLedger
import Foundation

/// The repository's example deployment: deploy/roster.json, deploy/catalog.json and the demo keys.
struct ReferenceData {
    /// The example nodes (peers with keys in deploy/demo/keys).
    static let nodes = ["cq-shapingba", "cd-wuhou", "cd-qingbaijiang"]

    var root: String
    var roster: RosterBook
    var catalog: CatalogBook
    /// The peers' keys, in `nodes` order.
    var keys: [NodeKeys]

    static func load() throws -> ReferenceData {
        let root = try repositoryRoot()
        let roster = try RosterBook.load(path: root + "/deploy/roster.json")
        let catalog = try CatalogBook.load(path: root + "/deploy/catalog.json", roster: roster)
        let keys = try nodes.map { try NodeKeys.read(name: $0, from: root + "/deploy/demo/keys") }
        return ReferenceData(root: root, roster: roster, catalog: catalog, keys: keys)
    }

    /// The nearest directory holding Package.swift and deploy/roster.json: above the current directory, else
    /// above this source file (when run from elsewhere on the build machine).
    static func repositoryRoot(file: String = #filePath) throws -> String {
        for start in [FileManager.default.currentDirectoryPath, file] {
            var url = URL(fileURLWithPath: start)
            while true {
                let fm = FileManager.default
                if fm.fileExists(atPath: url.appendingPathComponent("Package.swift").path),
                    fm.fileExists(atPath: url.appendingPathComponent("deploy/roster.json").path)
                {
                    return url.path
                }
                if url.path == "/" { break }
                url.deleteLastPathComponent()
            }
        }
        throw UsageError("cannot find the repository (deploy/roster.json); run coop-bench from inside it")
    }

    /// Items `node` takes part in, in catalog order.
    func items(of node: String) -> [String] {
        catalog.items.filter { $0.participants.contains(node) }.map(\.id)
    }
}
