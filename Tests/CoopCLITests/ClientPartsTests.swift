import CoopRPC
import CoopServices
import CoopTestKit
import CoopWire
import Testing

@testable import CoopCLI

/// The client commands' parts without I/O: the descriptor-set reader (on the real set, and on damaged copies of it,
/// which must throw or decode but never trap), method names, profiles, endpoints and the exit-code table.
@Suite("Client parts: descriptor set, method names, profiles, exit codes")
struct ClientPartsTests {
    @Test("the served descriptor set decodes: messages, nested oneofs, enums, services with streaming flags")
    func descriptorSet() throws {
        let set = try DescriptorSet(bytes: MessageRegistry.fileDescriptorSet)
        let state = try #require(set.messages["coop.v1.ItemState"])
        #expect(state.fields.count == 15)
        #expect(state.fields.first { $0.name == "heads" }?.label == 3)
        #expect(state.fields.first { $0.name == "updated_at" }?.typeName == "coop.v1.HybridTimestamp")
        #expect(set.enums["coop.v1.ItemStatus"]?.values.first { $0.name == "ITEM_STATUS_CANCELLED" }?.number == 7)
        let ledger = try #require(set.services["coop.v1.Ledger"])
        #expect(ledger.methods.map(\.name) == LedgerService.allNames)
        #expect(ledger.methods.filter(\.serverStreaming).map(\.name) == ["WatchChanges"])
        // Every message type this build knows is in the served set, with the same field numbers.
        for name in MessageRegistry.messageNames {
            let served = try #require(set.messages[name], "\(name) missing")
            let local = try MessageSchema(named: name)
            #expect(served.fields.map(\.number).sorted() == local.fields.map { Int64($0.number) }.sorted(), "\(name)")
        }
        #expect(set.describe("nothing.Here") == nil)
        #expect(set.describe(".coop.v1.ItemState")?.contains("repeated bytes heads = 10;") == true)
    }

    @Test("damaged descriptor sets throw or decode, never trap (seeded)", arguments: [1, 2, 3] as [UInt64])
    func damagedDescriptorSets(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let original = MessageRegistry.fileDescriptorSet
        var outcomes = (decoded: 0, refused: 0)
        for _ in 0..<300 {
            var bytes = original
            switch Int.random(in: 0..<3, using: &random) {
            case 0: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random)))
            case 1:
                for _ in 0..<Int.random(in: 1...8, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            default: bytes = random.bytes(Int.random(in: 0...512, using: &random))
            }
            if (try? DescriptorSet(bytes: bytes)) != nil { outcomes.decoded += 1 } else { outcomes.refused += 1 }
        }
        #expect(outcomes.refused > 0, "seed \(seed): no damaged set was refused")
        #expect(outcomes.decoded + outcomes.refused == 300)
    }

    @Test("nesting deeper than the limit is refused, not recursed into")
    func deepNesting() {
        // DescriptorProto{ nested_type (3): DescriptorProto{ … } } 40 levels deep, inside FileDescriptorProto.message_type (4).
        var message: [UInt8] = [0x0A, 0x01, 0x41]  // name "A"
        for _ in 0..<40 { message = [0x0A, 0x01, 0x41, 0x1A] + varint(message.count) + message }
        let file = [0x22] + varint(message.count) + message
        let set = [0x0A] + varint(file.count) + file
        #expect(throws: ProtoReader.Malformed.self) { try DescriptorSet(bytes: set) }
    }

    private func varint(_ value: Int) -> [UInt8] {
        var v = UInt64(value)
        var out: [UInt8] = []
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        return out + [UInt8(v)]
    }

    @Test(
        "method names in every accepted spelling",
        arguments: [
            ("coop.v1.Ledger/GetItem", "coop.v1.Ledger", "GetItem"),
            ("/coop.v1.Ledger/GetItem", "coop.v1.Ledger", "GetItem"),
            ("Ledger.GetItem", "Ledger", "GetItem"),
            ("Ledger/GetItem", "Ledger", "GetItem"),
            ("coop.v1.Ledger.GetItem", "coop.v1.Ledger", "GetItem"),
        ]
    )
    func methodNames(text: String, service: String, method: String) {
        let split = MethodName.split(text)
        #expect(split?.service == service && split?.method == method)
    }

    @Test("not method names: no separator, or an empty part")
    func notMethodNames() {
        for text in ["GetItem", "/", "Ledger/", "/GetItem", ".GetItem", ""] {
            #expect(MethodName.split(text) == nil, "\(text)")
        }
    }

    @Test("a profile: values read, key_dir resolved against the profile's directory, insecure defaults to false")
    func profile() throws {
        let text = """
            member = "staff.wuhou"
            node = "cd-wuhou"
            endpoint = "tcp://127.0.0.1:40123"
            server_curve_public_key = "\(Base64.encode([UInt8](repeating: 7, count: 32)))"
            key_dir = "../keys"
            """
        let profile = try ClientProfile.parse(Array(text.utf8), path: "/m/clients/staff.wuhou.toml")
        #expect(profile.member == "staff.wuhou" && profile.node == "cd-wuhou")
        #expect(profile.endpoint == "tcp://127.0.0.1:40123")
        #expect(profile.serverCurvePublicKey == [UInt8](repeating: 7, count: 32))
        #expect(profile.keyDirectory == "/m/clients/../keys")
        #expect(!profile.insecure)
        let absolute = try ClientProfile.parse(
            Array(
                "member = \"a\"\nnode = \"b\"\nendpoint = \"ipc:///run/x\"\nkey_dir = \"/k\"\ninsecure = true\n".utf8
            ),
            path: "p.toml"
        )
        #expect(absolute.keyDirectory == "/k" && absolute.insecure && absolute.serverCurvePublicKey == nil)
    }

    @Test("endpoints a client can connect to")
    func endpoints() {
        for good in ["tcp://127.0.0.1:1", "tcp://node.example:65535", "tcp://[::1]:4000", "ipc:///run/coop.sock"] {
            #expect(ClientOptions.endpointProblem(good) == nil, "\(good)")
        }
        for bad in [
            "", "127.0.0.1:40", "tcp://", "tcp://host", "tcp://:40", "tcp://h:0", "tcp://h:70000", "udp://h:1",
            "tcp://h :1", "ipc://",
        ] {
            #expect(ClientOptions.endpointProblem(bad) != nil, "\(bad)")
        }
    }

    @Test("exit codes by status: 1 refused as given, 3 unreachable or slow, 4 not allowed, 5 node failure")
    func exitCodes() {
        let table: [(RPCStatus.Code, Int32)] = [
            (.invalidArgument, 1), (.failedPrecondition, 1), (.notFound, 1), (.alreadyExists, 1), (.outOfRange, 1),
            (.aborted, 1), (.unavailable, 3), (.deadlineExceeded, 3), (.resourceExhausted, 3), (.cancelled, 3),
            (.unauthenticated, 4), (.permissionDenied, 4), (.internal, 5), (.unknown, 5), (.unimplemented, 5),
            (.dataLoss, 5), (RPCStatus.Code(rawValue: 99), 5),
        ]
        for (code, exit) in table { #expect(ClientExit.code(for: code) == exit, "\(code)") }
        let line = ClientExit.line(RPCError(code: .notFound, message: "no item X", reason: "UNKNOWN_ITEM"))
        #expect(line == "NOT_FOUND (UNKNOWN_ITEM): no item X")
        #expect(ClientExit.line(RPCError(code: .internal, message: "boom")) == "INTERNAL: boom")
    }
}

extension LedgerService {
    /// The method names in `.proto` order.
    static var allNames: [String] { Method.all.map(\.method) }
}
