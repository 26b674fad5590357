// Sample messages and the Swift type table for the interop tests.

import CoopTestKit
import CoopWire
import Foundation
import Testing

// MARK: - Samples built in Swift

struct InteropSample {
    var name: String
    var typeName: String
    var bytes: [UInt8]
    var json: JSONValue

    init<M: WireMessage>(_ name: String, _ message: M) throws {
        self.name = name
        self.typeName = M.protoName
        self.bytes = message.wireBytes()
        self.json = try ProtoJSON.json(message)
    }

    func write(to dir: URL) throws {
        let base = dir.appendingPathComponent(name)
        try Data(bytes).write(to: base.appendingPathExtension("bin"))
        try Data((typeName + "\n").utf8).write(to: base.appendingPathExtension("type"))
        try Data((JSONWriter.write(json) + "\n").utf8).write(to: base.appendingPathExtension("json"))
    }
}

enum InteropSamples {
    static let chineseNote = "沙坪坝区与武侯区联合推进“一网通办”，已完成接口联调（60%）。"
    static let emojiText = "进展顺利 👍 — 双城经济圈 ✓"
    static let escapesText = "line 1\nline 2\t\"quoted\" \\ back\\slash \u{01} end"
    /// Bytes that need escaping in every text form: NUL, DEL, high bytes, quote, backslash, newline.
    static let awkwardBytes: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x22, 0x5c, 0x0a]

    /// A deterministic 32-byte stand-in for an entry id.
    static func id(_ seed: Int) -> [UInt8] {
        (0..<32).map { UInt8(truncatingIfNeeded: seed &* 37 &+ $0 &* 11 &+ 5) }
    }

    /// A deterministic 64-byte stand-in for an Ed25519 signature.
    static func signature(_ seed: Int) -> [UInt8] { id(seed) + id(seed + 1000).reversed() }

    static let statusBody = EntryBody(
        origin: "cq-shapingba",
        sequence: .max,
        previous: awkwardBytes,
        timestamp: HybridTimestamp(wallMs: 1_767_225_600_123, logical: 2),
        parents: [id(1), id(2), id(3)],
        payload: .statusUpdate(
            StatusUpdate(
                itemId: "CY-07",
                status: .inProgress,
                progress: 60,
                note: chineseNote,
                reporter: "staff.shapingba.wang",
                assignee: "重庆市沙坪坝区大数据发展局"
            )
        )
    )

    static var signedEntry: SignedEntry { SignedEntry(body: statusBody.wireBytes(), signature: signature(18)) }

    static let responseHeader = ResponseHeader(
        callId: .max,
        metadata: [
            MetadataEntry(key: "coop-node", value: "cq-shapingba"),
            MetadataEntry(key: "coop-heads-bin", binaryValue: id(1) + id(2)),
        ],
        endOfStream: true,
        status: Status(
            code: .failedPrecondition,
            message: "expected_heads 已过期：条目 CY-07 有 2 个当前头",
            reason: "STALE_HEADS"
        )
    )

    static let hello = Hello(
        protocolVersion: 1,
        nodeId: "cq-shapingba",
        side: .chongqing,
        catalogHash: id(10),
        rosterHash: id(11),
        versionVector: VersionVector(origins: [
            OriginSequence(origin: "cd-qingbaijiang", sequence: 9_007_199_254_740_993),
            OriginSequence(origin: "cd-wuhou", sequence: 42),
            OriginSequence(origin: "cq-shapingba", sequence: .max),
        ]),
        heartbeatIntervalMs: 1000,
        heartbeatLiveness: 3,
        clock: HybridTimestamp(wallMs: 1_767_225_600_999, logical: 7),
        evidenceCount: .max
    )

    static let itemState = ItemState(
        itemId: "CY-07",
        status: .completed,
        progress: 100,
        note: chineseNote,
        updatedBy: "cq-shapingba",
        updatedAt: HybridTimestamp(wallMs: .max, logical: .max),
        head: id(1),
        heads: [id(1), id(2)],
        signedOff: [.chengdu, .chongqing],
        awaitingSignOff: true,
        comments: 3
    )

    static let clientFrameRequest = ClientFrame(
        kind: .request(
            RequestHeader(
                callId: 9_007_199_254_740_993,
                method: "/coop.v1.Ledger/UpdateStatus",
                timeoutUs: .max,
                metadata: [MetadataEntry(key: "trace-bin", binaryValue: [0x00, 0x01, 0x02, 0x80, 0xff])],
                credit: .max
            )
        )
    )

    static let catalogItem = CatalogItem(
        id: "CY-01",
        titleZh: "共建西部科学城协同创新平台",
        cqLeadDepartments: ["区科技局", "区发展改革委"],
        participants: ["cq-shapingba", "cd-wuhou"],
        dueDate: "2027-12-31",
        requiresSignOff: true
    )

    static func all() throws -> [InteropSample] {
        let commentBody = EntryBody(
            origin: "cd-wuhou",
            sequence: 9_007_199_254_740_993,
            previous: id(4),
            timestamp: HybridTimestamp(wallMs: .max, logical: .max),
            parents: [id(5), id(6)],
            payload: .comment(CoopWire.Comment(itemId: "CY-12", text: emojiText, author: "staff.wuhou.li"))
        )
        let signOffBody = EntryBody(
            origin: "cd-qingbaijiang",
            sequence: 7,
            parents: [id(7), id(8), id(9), id(10)],
            payload: .signOff(SignOff(itemId: "CY-40", entryId: id(11), signer: "张伟", note: escapesText))
        )
        let equivocation = Equivocation(
            first: SignedEntry(body: [0x0a, 0x01, 0x61], signature: signature(1)),
            second: SignedEntry(body: [0x0a, 0x01, 0x62, 0x00, 0xff], signature: signature(2))
        )
        let member = RosterMember(
            id: "cq-shapingba",
            side: .chongqing,
            role: .peer,
            displayName: "重庆市沙坪坝区 Shapingba District",
            signingPublicKey: id(20),
            curvePublicKey: id(21),
            keyEpoch: .max
        )
        let catalog = Catalog(
            version: "spb-2023-2027-derived-1",
            source: "沙坪坝区推动成渝地区双城经济圈建设行动方案（2023—2027年）",
            note: "派生清单，待正式台账替换。",
            items: [
                CatalogItem(
                    id: "CY-01",
                    titleZh: "共建西部科学城重庆片区与成都片区协同创新平台",
                    titleEn: "Joint innovation platform of the western science city",
                    seedSection: "二(一)3",
                    cqLeadDepartments: ["区科技局", "区发展改革委"],
                    cqResponsibleDepartments: ["西部科学城重庆高新区管委会", "区经济信息委", "区教委"],
                    cdCounterpart: "成都市武侯区 科技局",
                    participants: ["cq-shapingba", "cd-wuhou"],
                    targetZh: "建成联合实验室 2 个",
                    targetEn: "Two joint laboratories in operation",
                    dueDate: "2027-12-31",
                    requiresSignOff: true
                ),
                CatalogItem(
                    id: "CY-02",
                    titleZh: "川渝通办事项互认",
                    cqLeadDepartments: ["区政务服务管理办"],
                    participants: ["cq-shapingba", "cd-qingbaijiang", "cd-wuhou"],
                    dueDate: "2026-06-30"
                ),
            ]
        )
        let services = ListServicesResponse(services: [
            ServiceInfo(
                name: "coop.v1.Ledger",
                methods: [
                    MethodInfo(
                        name: "UpdateStatus",
                        fullName: "/coop.v1.Ledger/UpdateStatus",
                        inputType: "coop.v1.UpdateStatusRequest",
                        outputType: "coop.v1.AppendResponse"
                    )
                ]
            ),
            ServiceInfo(
                name: "coop.v1.Sync",
                methods: [
                    MethodInfo(
                        name: "Pull",
                        fullName: "/coop.v1.Sync/Pull",
                        inputType: "coop.v1.PullRequest",
                        outputType: "coop.v1.PullResponse",
                        serverStreaming: true
                    )
                ]
            ),
        ])
        return [
            try InteropSample("entry_body_status_update", statusBody),
            try InteropSample("signed_entry_status_update", signedEntry),
            try InteropSample("entry_body_comment", commentBody),
            try InteropSample("entry_body_sign_off", signOffBody),
            try InteropSample(
                "entry_body_empty_comment",
                EntryBody(origin: "cq-shapingba", sequence: 1, payload: .comment(CoopWire.Comment()))
            ),
            try InteropSample("hybrid_timestamp_max", HybridTimestamp(wallMs: .max, logical: .max)),
            try InteropSample("equivocation", equivocation),
            try InteropSample("catalog", catalog),
            try InteropSample("roster_member", member),
            try InteropSample(
                "roster",
                Roster(
                    version: "2026-11-demo",
                    members: [
                        member,
                        RosterMember(
                            id: "staff.wuhou.li",
                            side: .chengdu,
                            role: .staff,
                            displayName: "李 (武侯区)",
                            homeNode: "cd-wuhou",
                            keyEpoch: 1
                        ),
                        RosterMember(id: "audit.cq", side: .chongqing, role: .auditor),
                    ]
                )
            ),
            try InteropSample("hello", hello),
            try InteropSample(
                "pull_request",
                PullRequest(have: hello.versionVector, limit: 100, includeEvidence: true)
            ),
            try InteropSample("pull_response_entry", PullResponse(item: .entry(signedEntry))),
            try InteropSample("pull_response_evidence", PullResponse(item: .evidence(equivocation))),
            try InteropSample(
                "digest_response",
                DigestResponse(origins: [
                    OriginDigest(origin: "cd-wuhou", sequence: 9_007_199_254_740_993, head: id(30), evidence: 2),
                    OriginDigest(origin: "cq-shapingba", sequence: .max, head: [0xff, 0xfe, 0xfd]),
                ])
            ),
            try InteropSample(
                "head_notice",
                HeadNotice(fromNode: "cd-wuhou", origin: "cq-shapingba", sequence: .max, entryId: id(31))
            ),
            try InteropSample("response_header_failed_precondition", responseHeader),
            try InteropSample("client_frame_request", clientFrameRequest),
            try InteropSample("client_frame_credit", ClientFrame(kind: .credit(StreamCredit(callId: 7, credit: 16)))),
            try InteropSample("client_frame_cancel", ClientFrame(kind: .cancel(CancelCall(callId: .max)))),
            try InteropSample("client_frame_cancel_zero", ClientFrame(kind: .cancel(CancelCall()))),
            try InteropSample(
                "health_check_response",
                HealthCheckResponse(status: .degraded, reasons: ["evidence against cd-wuhou", "时钟偏差 2.5 s"])
            ),
            try InteropSample("health_check_request_empty", HealthCheckRequest()),
            try InteropSample("list_services_response", services),
            try InteropSample("item_state", itemState),
            try InteropSample(
                "list_items_request",
                ListItemsRequest(
                    statuses: [.delayed, .inProgress, .suspended],
                    participant: "cd-wuhou",
                    conflictsOnly: true
                )
            ),
            try InteropSample(
                "item_history_response",
                ItemHistoryResponse(records: [
                    HistoryRecord(
                        entryId: id(40),
                        entry: signedEntry,
                        body: statusBody,
                        disposition: .applied,
                        logPosition: 9_007_199_254_740_993
                    ),
                    HistoryRecord(
                        entryId: id(41),
                        disposition: .rejectedByPolicy,
                        reason: "origin cd-qingbaijiang does not take part in CY-07"
                    ),
                ])
            ),
            try InteropSample(
                "list_items_response",
                ListItemsResponse(items: [
                    ItemView(item: catalog.items[0], state: itemState), ItemView(item: catalog.items[1]),
                ])
            ),
            try InteropSample(
                "update_status_request",
                UpdateStatusRequest(
                    itemId: "CY-07",
                    status: .delayed,
                    progress: 35,
                    note: escapesText,
                    reporter: "staff.shapingba.wang",
                    assignee: "区大数据发展局",
                    expectedHeads: [id(1), id(2)]
                )
            ),
            try InteropSample(
                "append_response",
                AppendResponse(entryId: id(50), origin: "cq-shapingba", sequence: 18, state: itemState)
            ),
            try InteropSample(
                "file_descriptor_set_response",
                FileDescriptorSetResponse(fileDescriptorSet: MessageRegistry.fileDescriptorSet)
            ),
        ]
    }
}

extension EntryBody.Payload {
    var interopStatusUpdate: StatusUpdate? {
        if case .statusUpdate(let u) = self { return u }
        return nil
    }
}

/// Message types of the schema by full name, so Python → Swift decodes with the generated type. A Python sample of a
/// type missing here fails with "no Swift type".
enum InteropTypes {
    static let all: [any WireMessage.Type] = [
        // catalog.proto
        CatalogItem.self, Catalog.self, RosterMember.self, Roster.self,
        // health.proto
        HealthCheckRequest.self, HealthCheckResponse.self,
        // ledger.proto
        ItemState.self, HistoryRecord.self, ListItemsRequest.self, ListItemsResponse.self, ItemView.self,
        GetItemRequest.self, UpdateStatusRequest.self, AddCommentRequest.self, SignOffRequest.self,
        AppendResponse.self, ItemHistoryRequest.self, ItemHistoryResponse.self,
        // log.proto
        HybridTimestamp.self, StatusUpdate.self, Comment.self, SignOff.self, EntryBody.self, SignedEntry.self,
        Equivocation.self,
        // reflection.proto
        ListServicesRequest.self, MethodInfo.self, ServiceInfo.self, ListServicesResponse.self,
        FileDescriptorSetRequest.self, FileDescriptorSetResponse.self,
        // rpc.proto
        Status.self, MetadataEntry.self, RequestHeader.self, StreamCredit.self, CancelCall.self, ClientFrame.self,
        ResponseHeader.self,
        // sync.proto
        OriginSequence.self, VersionVector.self, Hello.self, PullRequest.self, PullResponse.self,
        DigestRequest.self, OriginDigest.self, DigestResponse.self, HeadNotice.self,
    ]

    static let byName: [String: any WireMessage.Type] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.protoName, $0) }
    )
}
