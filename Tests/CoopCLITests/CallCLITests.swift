import CoopTestKit
import CoopWire
import Foundation
import Testing

/// `coop call` as real child processes against a ``TestNode``: listing and describing from reflection alone, unary and
/// streaming calls with JSON in and out, request metadata, and the errors for what the node does not offer.
@Suite("coop call against a node", .serialized)
struct CallCLITests {
    static func coop(_ arguments: [String], stdin: [UInt8] = []) async throws -> CLIProcess.Result {
        try await CLIProcess.run(arguments, stdin: stdin)
    }

    @Test("no METHOD: every service and method the node offers, server streams marked")
    func list() async throws {
        let dir = try TemporaryDirectory("coop-call")
        try await TestNode.with(in: dir) { node in
            let result = try await Self.coop(["call", node.endpoint] + node.asStaff)
            #expect(result.status == 0, "\(result)")
            #expect(result.lines.contains("coop.v1.Ledger"))
            #expect(result.lines.contains("  rpc GetItem(coop.v1.GetItemRequest) returns (coop.v1.ItemView);"))
            #expect(
                result.lines.contains(
                    "  rpc WatchChanges(coop.v1.WatchChangesRequest) returns (stream coop.v1.ItemChange);"
                )
            )
            #expect(result.lines.contains("coop.v1.Health") && result.lines.contains("coop.v1.Reflection"))
            #expect(!result.stdout.contains("coop.v1.Sync"), "a service the node does not serve is not listed")
            // The endpoint may come from the profile alone.
            let fromProfile = try await Self.coop(["call"] + node.asStaff)
            #expect(fromProfile.stdout == result.stdout, "\(fromProfile)")
        }
    }

    @Test("describe: a message type from the served descriptor set, with its enums; a method; a service")
    func describe() async throws {
        let dir = try TemporaryDirectory("coop-call")
        try await TestNode.with(in: dir) { node in
            let message = try await Self.coop(
                ["call", node.endpoint, "describe", "coop.v1.UpdateStatusRequest"] + node.asStaff
            )
            #expect(message.status == 0, "\(message)")
            #expect(message.lines.contains("message coop.v1.UpdateStatusRequest {"))
            #expect(message.lines.contains("  coop.v1.ItemStatus status = 2;  // JSON \"status\""))
            #expect(message.lines.contains("  repeated bytes expected_heads = 7;  // JSON \"expectedHeads\""))
            #expect(message.lines.contains("enum coop.v1.ItemStatus {"))
            #expect(message.lines.contains("  ITEM_STATUS_IN_PROGRESS = 3;"))
            #expect(message.lines.first == "// coop/v1/ledger.proto")

            let oneof = try await Self.coop(["call", node.endpoint, "describe", "EntryBody"] + node.asStaff)
            #expect(oneof.status == 0, "\(oneof)")
            #expect(oneof.lines.contains("  oneof payload {"), "\(oneof.stdout)")
            #expect(oneof.lines.contains("    coop.v1.StatusUpdate status_update = 10;  // JSON \"statusUpdate\""))

            let method = try await Self.coop(["call", node.endpoint, "describe", "Ledger.GetItem"] + node.asStaff)
            #expect(method.status == 0, "\(method)")
            #expect(
                method.lines.contains("rpc /coop.v1.Ledger/GetItem(coop.v1.GetItemRequest) returns (coop.v1.ItemView);")
            )
            #expect(method.lines.contains("message coop.v1.GetItemRequest {"))

            let service = try await Self.coop(["call", node.endpoint, "describe", "coop.v1.Health"] + node.asStaff)
            #expect(service.status == 0, "\(service)")
            #expect(
                service.lines.contains(
                    "  rpc Watch(coop.v1.HealthCheckRequest) returns (stream coop.v1.HealthCheckResponse);"
                )
            )

            let unknown = try await Self.coop(["call", node.endpoint, "describe", "coop.v1.Nothing"] + node.asStaff)
            #expect(unknown.status == 1, "\(unknown)")
            #expect(unknown.stderr.contains("no type, service or method named coop.v1.Nothing"))
        }
    }

    @Test("a unary call: JSON in (argument or stdin), JSON out; method spellings; -H metadata reaches the node")
    func unary() async throws {
        let dir = try TemporaryDirectory("coop-call")
        try await TestNode.with(in: dir) { node in
            let result = try await Self.coop(
                ["call", node.endpoint, "coop.v1.Ledger/GetItem", #"{"itemId": "CY-07"}"#, "-H", "x-request-id: r-17"]
                    + node.asStaff
            )
            #expect(result.status == 0, "\(result)")
            let view = try JSONParser.parse(result.stdout)
            #expect(view["item"]?["titleZh"] == .string("交通互联"))
            #expect(node.fake.calls.last?.metadata["x-request-id"] == "r-17")

            for spelling in ["/coop.v1.Ledger/GetItem", "Ledger.GetItem", "Ledger/getitem"] {
                let again = try await Self.coop(
                    ["call", spelling, "-", "--compact"] + node.asStaff,
                    stdin: Array(#"{"item_id":"CY-01"}"#.utf8)
                )
                #expect(again.status == 0, "\(spelling): \(again)")
                #expect(again.lines.count == 1, "--compact prints one line")
                #expect(try JSONParser.parse(again.stdout)["item"]?["id"] == .string("CY-01"), "\(spelling)")
            }

            let notFound = try await Self.coop(["call", "Ledger.GetItem", #"{"itemId":"XX-99"}"#] + node.asStaff)
            #expect(notFound.status == 1, "\(notFound)")
            #expect(notFound.stderr.contains("error: NOT_FOUND (UNKNOWN_ITEM)"))

            let empty = try await Self.coop(["call", "Ledger.ListItems"] + node.asStaff)
            #expect(empty.status == 0, "the JSON defaults to {}: \(empty)")
        }
    }

    @Test("a server stream: one JSON object a line until the node ends it")
    func stream() async throws {
        let dir = try TemporaryDirectory("coop-call")
        try await TestNode.with(in: dir) { node in
            let result = try await Self.coop(
                ["call", "coop.v1.Ledger/WatchChanges", #"{"itemIds":["CY-12"],"sendInitial":true}"#] + node.asStaff
            )
            #expect(result.status == 0, "\(result)")
            #expect(result.lines.count == 2, "\(result.stdout)")
            let first = try JSONParser.parse(try #require(result.lines.first))
            #expect(first["initial"] == .bool(true))
            #expect(first["state"]?["itemId"] == .string("CY-12"))
        }
    }

    @Test("what the node does not offer, and JSON that is not the request type: exit 1 naming it")
    func refusedCalls() async throws {
        let dir = try TemporaryDirectory("coop-call")
        try await TestNode.with(in: dir) { node in
            let noService = try await Self.coop(["call", "coop.v1.Sync/Pull"] + node.asStaff)
            #expect(noService.status == 1, "\(noService)")
            #expect(noService.stderr.contains("offers no service coop.v1.Sync"), "\(noService.stderr)")
            #expect(noService.stderr.contains("coop.v1.Ledger"))

            let noMethod = try await Self.coop(["call", "Ledger.Delete"] + node.asStaff)
            #expect(noMethod.status == 1, "\(noMethod)")
            #expect(noMethod.stderr.contains("coop.v1.Ledger has no method Delete (it has: ListItems, GetItem"))

            let wrongField = try await Self.coop(["call", "Ledger.GetItem", #"{"item":"CY-07"}"#] + node.asStaff)
            #expect(wrongField.status == 1, "\(wrongField)")
            #expect(wrongField.stderr.contains("the JSON is not a coop.v1.GetItemRequest"), "\(wrongField.stderr)")
            #expect(wrongField.stderr.contains("unknown field \"item\""))

            let before = node.fake.calls.count
            let notJSON = try await Self.coop(["call", "Ledger.GetItem", "{itemId: CY-07}"] + node.asStaff)
            #expect(notJSON.status == 1, "\(notJSON)")
            #expect(notJSON.stderr.contains("<json> is not JSON"), "\(notJSON.stderr)")
            #expect(node.fake.calls.count == before, "nothing was called")
        }
    }
}
