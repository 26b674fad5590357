import CoopLedger
import CoopTestKit
import CoopWire
import Foundation
import Testing

@Suite("Catalog and roster")
struct ReferenceDataTests {
    @Test("the shipped catalog has 40 valid items whose participants are roster peers")
    func shippedCatalog() throws {
        let catalog = try Fixtures.catalog()
        #expect(catalog.items.count == 40)
        #expect(Set(catalog.items.map(\.id)).count == 40)
        #expect(catalog.items.first?.id == "CY-01")
        #expect(catalog.catalog.note.contains("台账"))
        for item in catalog.items {
            #expect(item.participants.contains("cq-shapingba"), "\(item.id)")
        }
    }

    @Test("the shipped roster has three peers and their demo keys match")
    func shippedRoster() throws {
        let roster = try Fixtures.roster()
        #expect(roster.peers.map(\.id) == ["cd-qingbaijiang", "cd-wuhou", "cq-shapingba"])
        for node in Fixtures.nodes {
            let keys = try NodeKeys.read(name: node, from: Fixtures.keysPath)
            #expect(roster.member(node)?.signingPublicKey == keys.signingPublicKey)
            #expect(roster.member(node)?.curvePublicKey == keys.curvePublicKey)
        }
    }

    private func catalogJSON() throws -> String {
        try String(contentsOfFile: Fixtures.catalogPath, encoding: .utf8)
    }

    private func load(_ text: String, roster: RosterBook? = nil) throws -> CatalogBook {
        let dir = try TemporaryDirectory()
        let path = dir.file("catalog.json")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try CatalogBook.load(path: path, roster: roster)
    }

    private func problems(_ text: String, roster: RosterBook? = nil) -> String {
        do {
            _ = try load(text, roster: roster)
            return ""
        } catch let e as LedgerError {
            return e.message
        } catch {
            return "\(error)"
        }
    }

    @Test("the content hash ignores formatting and member order but not content")
    func hash() throws {
        let text = try catalogJSON()
        let original = try load(text)
        let compact = JSONWriter.write(try JSONParser.parse(text), pretty: false)
        #expect(try load(compact).hash == original.hash)
        var catalog = original.catalog
        catalog.items.reverse()
        #expect(try CatalogBook(catalog).hash == original.hash)
        catalog.items[0].targetEn += "!"
        #expect(try CatalogBook(catalog).hash != original.hash)
    }

    @Test("errors name the file, the line and the item")
    func namedErrors() throws {
        var text = try catalogJSON()
        text = text.replacingOccurrences(of: "\"dueDate\": \"2025-12-31\"", with: "\"dueDate\": \"2025-02-30\"")
        text = text.replacingOccurrences(of: "\"id\": \"CY-02\"", with: "\"id\": \"CY-01\"")
        let message = problems(text)
        #expect(message.contains("catalog.json:"))
        #expect(message.contains("CY-01: dueDate \"2025-02-30\" is not a date YYYY-MM-DD"))
        #expect(message.contains("CY-01: id is used twice"))
        let line = try #require(
            text.split(separator: "\n", omittingEmptySubsequences: false)
                .firstIndex { $0.contains("\"id\": \"CY-01\"") }
        )
        #expect(message.contains("catalog.json:\(line + 1): items[0] CY-01"))
    }

    @Test("a participant missing from the roster is named")
    func unknownParticipant() throws {
        let text = try catalogJSON().replacingOccurrences(of: "\"cd-wuhou\"", with: "\"cd-chenghua\"")
        #expect(
            problems(text, roster: try Fixtures.roster()).contains("participant \"cd-chenghua\" is not in the roster")
        )
    }

    @Test("JSON syntax and mapping errors name the file and line")
    func syntax() throws {
        #expect(problems("{\n \"version\": \"x\",\n \"items\": [1,]\n}").contains("catalog.json: line 3, column 14"))
        #expect(problems(#"{"version": "x", "itemz": []}"#).contains("unknown field \"itemz\""))
    }

    @Test("a catalog without 40 items is refused")
    func count() throws {
        var catalog = try Fixtures.catalog().catalog
        catalog.items.removeLast()
        #expect(throws: LedgerError.self) { try CatalogBook(catalog) }
    }

    @Test("roster rules: ids, sides, roles, key sizes, home nodes")
    func rosterRules() throws {
        var roster = try Fixtures.roster().roster
        roster.members[0].signingPublicKey = [1, 2, 3]
        roster.members[1].id = "Bad Id"
        roster.members[3].homeNode = "nobody"
        roster.members[4].side = .unspecified
        let error = #expect(throws: LedgerError.self) { try RosterBook(roster, path: "r.json") }
        let message = error?.message ?? ""
        #expect(message.contains("a peer needs a 32-byte signingPublicKey"))
        #expect(message.contains("id \"Bad Id\" must be"))
        #expect(message.contains("homeNode \"nobody\" is not a peer"))
        #expect(message.contains("side is not set"))
        #expect(error?.code == .invalidRoster)
    }

    @Test("unreadable files are .io errors naming the path")
    func unreadable() {
        let error = #expect(throws: LedgerError.self) { try RosterBook.load(path: "/nonexistent/roster.json") }
        #expect(error?.code == .io)
        #expect(error?.message.contains("/nonexistent/roster.json") == true)
    }

    @Test("keygen files: mode 0600, never overwritten, read back")
    func keyFiles() throws {
        let dir = try TemporaryDirectory()
        let keys = NodeKeys.generate(name: "cd-test")
        try keys.write(to: dir.path)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.file("cd-test.signing.key"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(throws: LedgerError.self) { try keys.write(to: dir.path) }
        let back = try NodeKeys.read(name: "cd-test", from: dir.path)
        #expect(back.signingPublicKey == keys.signingPublicKey)
        #expect(back.curvePublicKey == keys.curvePublicKey)
        let signature = keys.makeSigner().sign([1, 2, 3])
        #expect(SignatureCheck.isValid(signature: signature, of: [1, 2, 3], publicKey: back.signingPublicKey))
        #expect(!SignatureCheck.isValid(signature: signature, of: [1, 2, 4], publicKey: back.signingPublicKey))
    }
}
