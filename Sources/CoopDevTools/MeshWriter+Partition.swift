import CoopLedger
import Foundation

extension MeshWriter {
    /// A configuration of one node of a written mesh cut off from the others, as a network partition would leave it:
    /// its `listen` and `publish` endpoints moved to fresh free loopback ports (so no peer reaches it) and its
    /// `[[peers]]` removed (so it reaches no peer). Same data directory, keys, roster and catalog: started with it,
    /// the node serves its clients and writes at once, and after a restart with its normal configuration it
    /// reconciles what it wrote meanwhile.
    ///
    /// Writes `DIR/nodes/<node>.partitioned.toml` next to the normal configuration (paths in it stay valid) and
    /// returns its path and the new listen endpoint. Not thread-safe for one directory.
    public static func writePartitionedConfig(
        meshDirectory: String,
        nodeID: String
    ) throws -> (path: String, endpoint: String) {
        let normal = "\(meshDirectory)/nodes/\(nodeID).toml"
        guard let data = FileManager.default.contents(atPath: normal) else {
            throw LedgerError(code: .io, message: "\(normal): cannot read the node's configuration")
        }
        let ports = try FreePorts.take(2)
        let endpoint = "tcp://127.0.0.1:\(ports[0])"
        var lines: [String] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            // MeshWriter writes the peers last: everything from the first [[peers]] on goes.
            if line.hasPrefix("[[peers]]") { break }
            if line.hasPrefix("listen = ") {
                lines.append("listen = \"\(endpoint)\"")
            } else if line.hasPrefix("publish = ") {
                lines.append("publish = \"tcp://127.0.0.1:\(ports[1])\"")
            } else {
                lines.append(String(line))
            }
        }
        let path = "\(meshDirectory)/nodes/\(nodeID).partitioned.toml"
        try writeFile(
            path,
            "# Partitioned copy of \(nodeID).toml: fresh ports, no peers.\n" + lines.joined(separator: "\n")
        )
        return (path, endpoint)
    }
}
