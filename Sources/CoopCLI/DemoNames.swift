import CoopDevTools

/// How `coop demo` names the mesh's districts: in Chinese and English, from ``MeshWriter/districts``. Thread-safe.
enum DemoNames {
    /// `沙坪坝区` from `重庆市沙坪坝区 Shapingba District, Chongqing` (the city's three characters dropped).
    static func chinese(_ district: MeshWriter.District) -> String {
        let full = district.displayName.split(separator: " ").first.map(String.init) ?? district.nodeID
        return full.count > 3 ? String(full.dropFirst(3)).replacingOccurrences(of: "区", with: "") : full
    }

    /// `Shapingba`.
    static func english(_ district: MeshWriter.District) -> String {
        let words = district.displayName.split(separator: " ")
        return words.count > 1 ? String(words[1]) : district.short
    }

    /// `沙坪坝区 Shapingba (cq-shapingba)`.
    static func label(_ nodeID: String) -> String {
        guard let district = district(nodeID) else { return nodeID }
        return "\(chinese(district))区 \(english(district)) (\(nodeID))"
    }

    /// `沙坪坝区 Shapingba`.
    static func name(_ nodeID: String) -> String {
        guard let district = district(nodeID) else { return nodeID }
        return "\(chinese(district))区 \(english(district))"
    }

    static func district(_ nodeID: String) -> MeshWriter.District? {
        MeshWriter.districts.first { $0.nodeID == nodeID }
    }
}
