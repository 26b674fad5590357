#!/usr/bin/env python3
"""Interop checks between CoopWire (Swift over protobuf-c) and Google's Python protobuf runtime.

The schema is compiled afresh from proto/coop/v1 with the system `protoc --python_out` into a temporary
directory at every run, so nothing generated is committed and the checks always use the current .proto files.

Subcommands:

  write-samples OUTDIR   Build a fixed set of messages in Python and write, for each sample NAME,
                         NAME.bin  (SerializeToString),
                         NAME.json (json_format.MessageToJson: canonical proto3 JSON, lowerCamelCase names),
                         NAME.type (full message name, e.g. coop.v1.SignedEntry).
  write-edge-cases OUTDIR
                         Write encodings a deterministic encoder never produces but every parser must read the
                         same way (fields out of order, a field given twice, unknown fields, unpacked repeated
                         enums, U+0000 in a string, an unknown enum number): NAME.bin (the input), NAME.type,
                         NAME.json (how Python reads it) and NAME.canonical (Python's re-encoding of what it read,
                         unknown fields discarded).
  check DIR              For each NAME.bin in DIR (written by another implementation, with NAME.type and
                         NAME.json beside it): parse it in Python and compare json_format.MessageToDict of the
                         result with NAME.json; re-serialize in Python and compare with the original bytes;
                         parse NAME.json with json_format.Parse and compare its encoding with the bytes too.
                         Exits 1 listing every mismatch.

Exit codes: 0 all good, 1 mismatches, 2 usage or input error, 3 a tool is missing (protoc, google.protobuf).

Requires Python 3.11, `pip install protobuf` (7.x) and `protoc` (apt-get install protobuf-compiler).
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import importlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = REPO_ROOT / "proto"
PACKAGE_DIR = PROTO_DIR / "coop" / "v1"

EXIT_MISMATCH = 1
EXIT_USAGE = 2
EXIT_MISSING_TOOL = 3

try:
    from google.protobuf import descriptor_pool, json_format, message_factory
except ImportError as error:  # pragma: no cover - depends on the machine
    print(
        f"wire_interop.py: cannot import google.protobuf ({error}). Install it with `pip install protobuf` "
        "(version 7.x).",
        file=sys.stderr,
    )
    sys.exit(EXIT_MISSING_TOOL)


def compile_schema() -> dict[str, Any]:
    """Compiles proto/coop/v1/*.proto into a fresh temp dir and imports the modules; returns them by stem."""
    protos = sorted(PACKAGE_DIR.glob("*.proto"))
    if not protos:
        fail_usage(f"no .proto files in {PACKAGE_DIR}")
    out_dir = tempfile.mkdtemp(prefix="coop-interop-py-")
    atexit.register(shutil.rmtree, out_dir, ignore_errors=True)
    command = ["protoc", f"--python_out={out_dir}", f"-I{PROTO_DIR}", *[str(p) for p in protos]]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        print(
            "wire_interop.py: `protoc` not found on PATH. Install it with `apt-get install protobuf-compiler`.",
            file=sys.stderr,
        )
        sys.exit(EXIT_MISSING_TOOL)
    if result.returncode != 0:
        print(f"wire_interop.py: {' '.join(command)} failed:\n{result.stderr}", file=sys.stderr)
        sys.exit(EXIT_MISSING_TOOL)
    sys.path.insert(0, out_dir)
    return {p.stem: importlib.import_module(f"coop.v1.{p.stem}_pb2") for p in protos}


def fail_usage(message: str) -> None:
    print(f"wire_interop.py: {message}", file=sys.stderr)
    sys.exit(EXIT_USAGE)


def message_class(full_name: str) -> Any:
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(full_name)
    except KeyError:
        return None
    return message_factory.GetMessageClass(descriptor)


# ---------------------------------------------------------------------------------------------------------------
# Samples
# ---------------------------------------------------------------------------------------------------------------

MAX_UINT64 = 2**64 - 1
MAX_UINT32 = 2**32 - 1
ABOVE_2_53 = 2**53 + 1  # 9007199254740993: not representable as a double

CHINESE_NOTE = "沙坪坝区与武侯区联合推进“一网通办”，已完成接口联调（60%）。"
EMOJI_TEXT = "进展顺利 👍 — 双城经济圈 ✓"
ESCAPES_TEXT = 'line 1\nline 2\t"quoted" \\ back\\slash \u0001 end'


def entry_id(label: str) -> bytes:
    """A deterministic 32-byte stand-in for an entry id (SHA-256 of a label)."""
    return hashlib.sha256(label.encode()).digest()


def signature(label: str) -> bytes:
    """A deterministic 64-byte stand-in for an Ed25519 signature."""
    return hashlib.sha512(label.encode()).digest()


def build_samples(pb: dict[str, Any]) -> dict[str, Any]:
    log, catalog, rpc, sync = pb["log"], pb["catalog"], pb["rpc"], pb["sync"]
    health, reflection, ledger = pb["health"], pb["reflection"], pb["ledger"]
    samples: dict[str, Any] = {}

    status_body = log.EntryBody(
        origin="cq-shapingba",
        sequence=18,
        previous=entry_id("cq-shapingba/17"),
        timestamp=log.HybridTimestamp(wall_ms=1_767_225_600_123, logical=2),
        parents=[entry_id("head-a"), entry_id("head-b"), entry_id("head-c")],
        status_update=log.StatusUpdate(
            item_id="CY-07",
            status=log.ITEM_STATUS_IN_PROGRESS,
            progress=60,
            note=CHINESE_NOTE,
            reporter="staff.shapingba.wang",
            assignee="重庆市沙坪坝区大数据发展局",
        ),
    )
    samples["entry_body_status_update"] = status_body
    samples["signed_entry_status_update"] = log.SignedEntry(
        body=status_body.SerializeToString(), signature=signature("cq-shapingba/18")
    )
    samples["entry_body_comment"] = log.EntryBody(
        origin="cd-wuhou",
        sequence=ABOVE_2_53,
        previous=entry_id("cd-wuhou/prev"),
        timestamp=log.HybridTimestamp(wall_ms=MAX_UINT64, logical=MAX_UINT32),
        parents=[entry_id("p1"), entry_id("p2")],
        comment=log.Comment(item_id="CY-12", text=EMOJI_TEXT, author="staff.wuhou.li"),
    )
    samples["entry_body_sign_off"] = log.EntryBody(
        origin="cd-qingbaijiang",
        sequence=MAX_UINT64,
        parents=[entry_id("x"), entry_id("y"), entry_id("z"), entry_id("w")],
        sign_off=log.SignOff(
            item_id="CY-40", entry_id=entry_id("completing"), signer="张伟", note=ESCAPES_TEXT
        ),
    )
    # A oneof case set to an empty message must still be present on the wire (field 11, length 0).
    empty_comment = log.EntryBody(origin="cq-shapingba", sequence=1)
    empty_comment.comment.SetInParent()
    samples["entry_body_empty_comment"] = empty_comment
    samples["hybrid_timestamp_max"] = log.HybridTimestamp(wall_ms=MAX_UINT64, logical=MAX_UINT32)
    samples["equivocation"] = log.Equivocation(
        first=log.SignedEntry(body=b"\x0a\x01a", signature=signature("first")),
        second=log.SignedEntry(body=b"\x0a\x01b\x00\xff", signature=signature("second")),
    )

    samples["catalog"] = catalog.Catalog(
        version="spb-2023-2027-derived-1",
        source="沙坪坝区推动成渝地区双城经济圈建设行动方案（2023—2027年）",
        note="派生清单，待正式台账替换。",
        items=[
            catalog.CatalogItem(
                id="CY-01",
                title_zh="共建西部科学城重庆片区与成都片区协同创新平台",
                title_en="Joint innovation platform of the western science city",
                seed_section="二(一)3",
                cq_lead_departments=["区科技局", "区发展改革委"],
                cq_responsible_departments=["西部科学城重庆高新区管委会", "区经济信息委", "区教委"],
                cd_counterpart="成都市武侯区 科技局",
                participants=["cq-shapingba", "cd-wuhou"],
                target_zh="建成联合实验室 2 个",
                target_en="Two joint laboratories in operation",
                due_date="2027-12-31",
                requires_sign_off=True,
            ),
            catalog.CatalogItem(
                id="CY-02",
                title_zh="川渝通办事项互认",
                title_en="Mutual recognition of Sichuan–Chongqing services",
                cq_lead_departments=["区政务服务管理办"],
                participants=["cq-shapingba", "cd-qingbaijiang", "cd-wuhou"],
                due_date="2026-06-30",
            ),
        ],
    )
    samples["roster_member"] = catalog.RosterMember(
        id="cq-shapingba",
        side=catalog.SIDE_CHONGQING,
        role=catalog.ROLE_PEER,
        display_name="重庆市沙坪坝区 Shapingba District",
        signing_public_key=bytes(range(32)),
        curve_public_key=bytes(range(255, 223, -1)),
        key_epoch=MAX_UINT32,
    )
    samples["roster"] = catalog.Roster(
        version="2026-11-demo",
        members=[
            samples["roster_member"],
            catalog.RosterMember(
                id="staff.wuhou.li",
                side=catalog.SIDE_CHENGDU,
                role=catalog.ROLE_STAFF,
                display_name="李 (武侯区)",
                curve_public_key=b"\x00" * 31 + b"\x01",
                home_node="cd-wuhou",
                key_epoch=1,
            ),
            catalog.RosterMember(id="audit.cq", side=catalog.SIDE_CHONGQING, role=catalog.ROLE_AUDITOR),
        ],
    )

    samples["hello"] = sync.Hello(
        protocol_version=1,
        node_id="cd-wuhou",
        side=catalog.SIDE_CHENGDU,
        catalog_hash=entry_id("catalog"),
        roster_hash=entry_id("roster"),
        version_vector=sync.VersionVector(
            origins=[
                sync.OriginSequence(origin="cd-qingbaijiang", sequence=ABOVE_2_53),
                sync.OriginSequence(origin="cd-wuhou", sequence=42),
                sync.OriginSequence(origin="cq-shapingba", sequence=MAX_UINT64),
                sync.OriginSequence(origin="cq-zero"),  # sequence 0: omitted
            ]
        ),
        heartbeat_interval_ms=1000,
        heartbeat_liveness=3,
        clock=log.HybridTimestamp(wall_ms=1_767_225_600_999, logical=7),
        evidence_count=MAX_UINT32,
    )
    samples["pull_response_evidence"] = sync.PullResponse(evidence=samples["equivocation"])
    samples["digest_response"] = sync.DigestResponse(
        origins=[
            sync.OriginDigest(origin="cd-wuhou", sequence=ABOVE_2_53, head=entry_id("h1"), evidence=2),
            sync.OriginDigest(origin="cq-shapingba", sequence=MAX_UINT64, head=b"\xff\xfe\xfd"),
        ]
    )

    samples["response_header_failed_precondition"] = rpc.ResponseHeader(
        call_id=MAX_UINT64,
        metadata=[
            rpc.MetadataEntry(key="coop-node", value="cq-shapingba"),
            rpc.MetadataEntry(key="coop-heads-bin", binary_value=entry_id("head-a") + entry_id("head-b")),
            rpc.MetadataEntry(key="coop-note", value="预期的头与当前不一致"),
        ],
        end_of_stream=True,
        status=rpc.Status(
            code=rpc.STATUS_CODE_FAILED_PRECONDITION,
            message="expected_heads 已过期：条目 CY-07 有 2 个当前头",
            reason="STALE_HEADS",
        ),
    )
    samples["client_frame_request"] = rpc.ClientFrame(
        request=rpc.RequestHeader(
            call_id=ABOVE_2_53,
            method="/coop.v1.Ledger/UpdateStatus",
            timeout_us=MAX_UINT64,
            metadata=[rpc.MetadataEntry(key="trace-bin", binary_value=b"\x00\x01\x02\x80\xff")],
            credit=MAX_UINT32,
        )
    )
    samples["client_frame_credit"] = rpc.ClientFrame(credit=rpc.StreamCredit(call_id=7, credit=16))
    samples["client_frame_cancel"] = rpc.ClientFrame(cancel=rpc.CancelCall(call_id=MAX_UINT64))
    # Oneof case holding a message whose only field is zero: encoded as an empty submessage.
    samples["client_frame_cancel_zero"] = rpc.ClientFrame(cancel=rpc.CancelCall(call_id=0))

    samples["health_check_response"] = health.HealthCheckResponse(
        status=health.SERVING_STATUS_DEGRADED,
        reasons=["equivocation evidence against cd-wuhou at sequence 18", "时钟偏差 2.5 s（cq-shapingba）"],
    )
    samples["health_check_request_empty"] = health.HealthCheckRequest()  # zero bytes, JSON {}

    samples["list_services_response"] = reflection.ListServicesResponse(
        services=[
            reflection.ServiceInfo(
                name="coop.v1.Ledger",
                methods=[
                    reflection.MethodInfo(
                        name="UpdateStatus",
                        full_name="/coop.v1.Ledger/UpdateStatus",
                        input_type="coop.v1.UpdateStatusRequest",
                        output_type="coop.v1.AppendResponse",
                    ),
                    reflection.MethodInfo(
                        name="ItemHistory",
                        full_name="/coop.v1.Ledger/ItemHistory",
                        input_type="coop.v1.ItemHistoryRequest",
                        output_type="coop.v1.ItemHistoryResponse",
                    ),
                ],
            ),
            reflection.ServiceInfo(
                name="coop.v1.Health",
                methods=[
                    reflection.MethodInfo(
                        name="Watch",
                        full_name="/coop.v1.Health/Watch",
                        input_type="coop.v1.HealthCheckRequest",
                        output_type="coop.v1.HealthCheckResponse",
                        server_streaming=True,
                    )
                ],
            ),
        ]
    )

    state = ledger.ItemState(
        item_id="CY-07",
        status=log.ITEM_STATUS_COMPLETED,
        progress=100,
        note=CHINESE_NOTE,
        reporter="staff.shapingba.wang",
        assignee="区大数据发展局",
        updated_by="cq-shapingba",
        updated_at=log.HybridTimestamp(wall_ms=1_767_225_600_123, logical=2),
        head=entry_id("head-a"),
        heads=[entry_id("head-a"), entry_id("head-b")],
        signed_off=[catalog.SIDE_CHENGDU, catalog.SIDE_CHONGQING],  # packed repeated enum
        awaiting_sign_off=True,
        rejected=1,
        set_aside=2,
        comments=MAX_UINT32,
    )
    samples["item_state"] = state
    samples["list_items_request"] = ledger.ListItemsRequest(
        statuses=[log.ITEM_STATUS_DELAYED, log.ITEM_STATUS_IN_PROGRESS, log.ITEM_STATUS_SUSPENDED],
        participant="cd-wuhou",
        conflicts_only=True,
    )
    samples["item_history_response"] = ledger.ItemHistoryResponse(
        records=[
            ledger.HistoryRecord(
                entry_id=entry_id("e18"),
                entry=samples["signed_entry_status_update"],
                body=status_body,
                disposition=ledger.ENTRY_DISPOSITION_APPLIED,
                log_position=ABOVE_2_53,
            ),
            ledger.HistoryRecord(
                entry_id=entry_id("e19"),
                disposition=ledger.ENTRY_DISPOSITION_REJECTED_BY_POLICY,
                reason="origin cd-qingbaijiang does not take part in CY-07",
            ),
        ]
    )
    samples["append_response"] = ledger.AppendResponse(
        entry_id=entry_id("e18"), origin="cq-shapingba", sequence=18, state=state
    )
    return samples


def build_edge_cases(pb: dict[str, Any]) -> dict[str, tuple[Any, bytes]]:
    """Encodings a deterministic encoder never writes but every protobuf parser must read the same way.

    Returns NAME -> (message class, bytes). The expected reading is Python's (json_format of ParseFromString).
    """
    log, rpc, ledger, catalog = pb["log"], pb["rpc"], pb["ledger"], pb["catalog"]

    def cat(*parts: Any) -> bytes:
        return b"".join(p.SerializeToString() for p in parts)

    def varint(value: int) -> bytes:
        out = bytearray()
        while True:
            byte = value & 0x7F
            value >>= 7
            if value:
                out.append(byte | 0x80)
            else:
                out.append(byte)
                return bytes(out)

    def tag(number: int, wire_type: int) -> bytes:
        return varint(number << 3 | wire_type)

    cases: dict[str, tuple[Any, bytes]] = {}
    # Fields in descending field-number order (parsers must accept any order).
    cases["field_order_reversed"] = (
        log.EntryBody,
        cat(
            log.EntryBody(comment=log.Comment(item_id="CY-03", text="倒序")),
            log.EntryBody(parents=[entry_id("r1"), entry_id("r2")]),
            log.EntryBody(timestamp=log.HybridTimestamp(wall_ms=1_767_225_600_000, logical=1)),
            log.EntryBody(previous=entry_id("r0")),
            log.EntryBody(sequence=MAX_UINT64),
            log.EntryBody(origin="cq-shapingba"),
        ),
    )
    # A scalar field given twice: the last value wins.
    cases["last_scalar_wins"] = (
        log.EntryBody,
        cat(log.EntryBody(origin="first", sequence=1), log.EntryBody(origin="second")),
    )
    # Unknown fields (a newer schema) at top level and inside a nested message: skipped.
    nested = log.HybridTimestamp(wall_ms=5).SerializeToString() + tag(3, 0) + varint(7)
    cases["unknown_fields"] = (
        log.EntryBody,
        log.EntryBody(origin="cd-wuhou").SerializeToString()
        + tag(4, 2)
        + varint(len(nested))
        + nested
        + tag(99, 0)
        + varint(MAX_UINT64)
        + tag(100, 2)
        + varint(3)
        + b"xyz"
        + tag(101, 5)
        + b"\x01\x02\x03\x04"
        + tag(102, 1)
        + b"\x00" * 8,
    )
    # A repeated enum written unpacked, then packed in two chunks: all elements in order.
    cases["repeated_enum_unpacked_and_packed"] = (
        ledger.ItemState,
        tag(11, 0) + varint(2) + tag(11, 0) + varint(1) + tag(11, 2) + varint(2) + varint(1) + varint(2),
    )
    # A oneof given twice with different cases: the last case wins.
    cases["oneof_last_case_wins"] = (
        log.EntryBody,
        cat(
            log.EntryBody(status_update=log.StatusUpdate(item_id="CY-01", progress=10)),
            log.EntryBody(comment=log.Comment(item_id="CY-01", text="后者")),
        ),
    )
    # A singular message field given twice: the two are merged (protobuf's rule for embedded messages).
    cases["merge_singular_message"] = (
        log.EntryBody,
        cat(
            log.EntryBody(
                origin="a",
                sequence=5,
                timestamp=log.HybridTimestamp(wall_ms=1_767_225_600_000),
                parents=[b"\x01"],
            ),
            log.EntryBody(origin="b", timestamp=log.HybridTimestamp(logical=2), parents=[b"\x02"]),
        ),
    )
    # The same oneof case given twice: its messages are merged.
    cases["merge_oneof_same_case"] = (
        rpc.ClientFrame,
        cat(
            rpc.ClientFrame(request=rpc.RequestHeader(call_id=1, metadata=[rpc.MetadataEntry(key="k1")])),
            rpc.ClientFrame(
                request=rpc.RequestHeader(method="/coop.v1.Ledger/GetItem", metadata=[rpc.MetadataEntry(key="k2")])
            ),
        ),
    )
    # U+0000 inside a string is valid UTF-8 and valid proto3.
    cases["string_with_nul"] = (
        log.Comment,
        log.Comment(item_id="CY-05", text="before\x00after", author="staff.wuhou.li").SerializeToString(),
    )
    # proto3 enums are open: an enum number the schema does not define is kept by Python.
    cases["unknown_enum_value"] = (
        ledger.ItemState,
        ledger.ItemState(item_id="CY-06", status=99, signed_off=[catalog.SIDE_CHENGDU, 7]).SerializeToString(),
    )
    return cases


def write_edge_cases(out_dir: Path, pb: dict[str, Any]) -> int:
    """Writes NAME.bin (the input), NAME.type, NAME.json (how Python reads it: MessageToJson) and NAME.canonical
    (Python's re-encoding of what it read, unknown fields discarded)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = build_edge_cases(pb)
    for name, (cls, data) in cases.items():
        message = cls()
        message.ParseFromString(data)
        (out_dir / f"{name}.bin").write_bytes(data)
        (out_dir / f"{name}.type").write_text(cls.DESCRIPTOR.full_name + "\n", encoding="utf-8")
        (out_dir / f"{name}.json").write_text(
            json_format.MessageToJson(message, preserving_proto_field_name=False) + "\n", encoding="utf-8"
        )
        message.DiscardUnknownFields()
        (out_dir / f"{name}.canonical").write_bytes(message.SerializeToString(deterministic=True))
    print(f"wrote {len(cases)} edge cases to {out_dir}")
    return 0


def write_samples(out_dir: Path, pb: dict[str, Any]) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = build_samples(pb)
    for name, message in samples.items():
        (out_dir / f"{name}.bin").write_bytes(message.SerializeToString())
        (out_dir / f"{name}.json").write_text(
            json_format.MessageToJson(message, preserving_proto_field_name=False) + "\n", encoding="utf-8"
        )
        (out_dir / f"{name}.type").write_text(message.DESCRIPTOR.full_name + "\n", encoding="utf-8")
    print(f"wrote {len(samples)} samples to {out_dir}")
    return 0


# ---------------------------------------------------------------------------------------------------------------
# Check
# ---------------------------------------------------------------------------------------------------------------


def json_diff(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Differences between two decoded JSON values, one line each (types matter: 1 != "1")."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                out.append(f"{path}.{key}: missing from Python's JSON (Swift has {expected[key]!r})")
            elif key not in expected:
                out.append(f"{path}.{key}: Python has {actual[key]!r}, missing from Swift's JSON")
            else:
                out.extend(json_diff(expected[key], actual[key], f"{path}.{key}"))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: Swift has {len(expected)} elements, Python {len(actual)}: {expected!r} vs {actual!r}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual)):
            out.extend(json_diff(e, a, f"{path}[{i}]"))
        return out
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: Swift has {expected!r}, Python has {actual!r}"]
    return []


def first_difference(a: bytes, b: bytes) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"first difference at offset {i}: Swift 0x{x:02x}, Python 0x{y:02x}"
    return f"one is a prefix of the other (Swift {len(a)} bytes, Python {len(b)} bytes)"


def check(directory: Path) -> int:
    if not directory.is_dir():
        fail_usage(f"{directory} is not a directory")
    bins = sorted(directory.glob("*.bin"))
    if not bins:
        fail_usage(f"no .bin files in {directory}")
    problems: list[str] = []
    for bin_path in bins:
        name = bin_path.stem
        type_path = bin_path.with_suffix(".type")
        json_path = bin_path.with_suffix(".json")
        if not type_path.is_file() or not json_path.is_file():
            problems.append(f"{name}: {type_path.name} or {json_path.name} is missing")
            continue
        type_name = type_path.read_text(encoding="utf-8").strip()
        cls = message_class(type_name)
        if cls is None:
            problems.append(f"{name}: unknown message type {type_name!r}")
            continue
        data = bin_path.read_bytes()
        try:
            swift_json = json.loads(json_path.read_text(encoding="utf-8"))
        except ValueError as error:
            problems.append(f"{name}: {json_path.name} is not valid JSON: {error}")
            continue

        # 1. Python decodes Swift's bytes.
        parsed = cls()
        try:
            parsed.ParseFromString(data)
        except Exception as error:  # DecodeError and friends
            problems.append(f"{name} ({type_name}): Python cannot parse Swift's bytes: {error}; hex {data.hex()}")
            continue
        try:
            from google.protobuf import unknown_fields

            unknown = unknown_fields.UnknownFieldSet(parsed)
            if len(unknown) > 0:
                numbers = sorted({field.field_number for field in unknown})
                problems.append(f"{name} ({type_name}): Swift's bytes carry unknown top-level fields {numbers}")
        except ImportError:  # pragma: no cover - older runtimes
            pass

        # 2. The decoded message maps to the same canonical JSON as Swift wrote.
        python_json = json_format.MessageToDict(parsed)
        for line in json_diff(swift_json, python_json):
            problems.append(f"{name} ({type_name}): JSON mismatch at {line}")

        # 3. Python re-encodes to exactly Swift's bytes (both write fields in field-number order).
        again = parsed.SerializeToString(deterministic=True)
        if again != data:
            problems.append(
                f"{name} ({type_name}): Python re-encoding differs from Swift's bytes; "
                f"{first_difference(data, again)}\n    Swift:  {data.hex()}\n    Python: {again.hex()}"
            )

        # 4. Python reads Swift's JSON into the same message.
        from_json = cls()
        try:
            json_format.Parse(json_path.read_text(encoding="utf-8"), from_json)
        except json_format.ParseError as error:
            problems.append(f"{name} ({type_name}): Python cannot parse Swift's JSON: {error}")
        else:
            if from_json != parsed:
                problems.append(
                    f"{name} ({type_name}): Swift's JSON parses in Python to a different message than Swift's "
                    f"bytes: {json_format.MessageToDict(from_json)!r}"
                )

    if problems:
        print(f"{len(problems)} mismatch(es) in {directory}:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return EXIT_MISMATCH
    print(f"ok: {len(bins)} messages in {directory} agree with Python protobuf (JSON and bytes)")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("write-samples", help="write Python-encoded samples (NAME.bin/.json/.type)")
    write.add_argument("outdir", type=Path)
    edge = sub.add_parser("write-edge-cases", help="write non-canonical encodings (NAME.bin/.json/.type/.canonical)")
    edge.add_argument("outdir", type=Path)
    chk = sub.add_parser("check", help="check NAME.bin/.json/.type written by another implementation")
    chk.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    pb = compile_schema()
    if args.command == "write-samples":
        return write_samples(args.outdir, pb)
    if args.command == "write-edge-cases":
        return write_edge_cases(args.outdir, pb)
    return check(args.dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
