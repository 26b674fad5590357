public import CoopWire

/// A validated catalog of the joint cooperation items.
///
/// An immutable value; thread-safe.
public struct CatalogBook: Sendable {
    /// The number of items the action plan commits to (section 二(一)3: "40项合作事项").
    public static let expectedItemCount = 40
    /// Years a due date may fall in.
    public static let dueYears = 2023...2030

    /// The catalog as loaded, items in file order.
    public let catalog: Catalog
    /// SHA-256 of the canonical encoding (items sorted by id), which nodes compare.
    public let hash: ContentHash
    private let byID: [String: CatalogItem]

    /// Validates `catalog`, checking participants against `roster` when given. `path` names the file in errors;
    /// `json`, when given, lets errors name lines.
    public init(
        _ catalog: Catalog,
        roster: RosterBook? = nil,
        path: String = "catalog",
        json: JSONValue? = nil,
        expectedItemCount: Int = CatalogBook.expectedItemCount
    ) throws {
        var problems: [String] = []
        var byID: [String: CatalogItem] = [:]
        if catalog.version.isEmpty { problems.append("\(path): \"version\" is empty") }
        if catalog.items.count != expectedItemCount {
            problems.append("\(path): has \(catalog.items.count) items, expected \(expectedItemCount)")
        }
        for (index, item) in catalog.items.enumerated() {
            let line = json.flatMap { ReferenceFile.line(in: $0, array: "items", index: index, key: "id") }
            let at = "\(path)\(line.map { ":\($0)" } ?? ""): items[\(index)]"
            let who = item.id.isEmpty ? at : "\(at) \(item.id)"
            func fail(_ what: String) { problems.append("\(who): \(what)") }
            if item.id.isEmpty || item.id.contains(where: \.isWhitespace) || item.id.count > 32 {
                fail("id must be 1–32 characters without spaces")
            } else if byID[item.id] != nil {
                fail("id is used twice")
            }
            byID[item.id] = item
            let required: [(String, String)] = [
                ("titleZh", item.titleZh), ("titleEn", item.titleEn), ("seedSection", item.seedSection),
                ("cdCounterpart", item.cdCounterpart), ("targetZh", item.targetZh), ("targetEn", item.targetEn),
            ]
            for (name, value) in required where value.trimmingWhitespace.isEmpty {
                fail("\"\(name)\" is missing")
            }
            if item.cqLeadDepartments.isEmpty { fail("\"cqLeadDepartments\" is empty: name the lead (牵头部门)") }
            if !CalendarDate.isValid(item.dueDate, years: Self.dueYears) {
                fail("dueDate \"\(item.dueDate)\" is not a date YYYY-MM-DD in \(Self.dueYears)")
            }
            if item.participants.isEmpty { fail("no participants") }
            if Set(item.participants).count != item.participants.count { fail("a participant is listed twice") }
            if let roster {
                var sides: Set<Side> = []
                for p in item.participants {
                    guard let m = roster.member(p) else {
                        fail("participant \"\(p)\" is not in the roster")
                        continue
                    }
                    if m.role != .peer { fail("participant \"\(p)\" is not a peer (role \(m.role.protoValueName))") }
                    sides.insert(m.side)
                }
                if item.requiresSignOff && sides.count < 2 {
                    fail("requiresSignOff needs participants of both sides")
                }
            }
        }
        guard problems.isEmpty else {
            throw LedgerError(code: .invalidCatalog, message: problems.joined(separator: "\n"))
        }
        self.catalog = catalog
        self.byID = byID
        var canonical = catalog
        canonical.items.sort { $0.id < $1.id }
        self.hash = ContentHash(of: canonical.wireBytes())
    }

    /// Loads and validates a catalog file (the JSON mapping of `coop.v1.Catalog`).
    public static func load(path: String, roster: RosterBook? = nil) throws -> CatalogBook {
        let (catalog, json) = try ReferenceFile.load(Catalog.self, path: path, code: .invalidCatalog)
        return try CatalogBook(catalog, roster: roster, path: path, json: json)
    }

    /// The item of that id, or `nil`.
    public func item(_ id: String) -> CatalogItem? { byID[id] }

    /// The items in file order.
    public var items: [CatalogItem] { catalog.items }
}

extension String {
    var trimmingWhitespace: Substring {
        var s = self[...]
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return s
    }
}
