#!/usr/bin/env python3
"""RPC interop (coop.rpc/1) between CoopLedger and an independent client and server written in Python.

Written only from docs/PROTOCOL.md and proto/coop/v1: pyzmq for the sockets (DEALER / ROUTER, CurveZMQ) and
Google's protobuf runtime for the messages, compiled afresh with `protoc --python_out` into a temporary directory at
every run (nothing generated is committed).

Subcommands:

  client --mesh DIR [--node cd-wuhou] [--endpoint tcp://HOST:PORT]
        Talks to a running `coop node run` of a mesh written by `coop dev mesh DIR` (keys, client profiles and the
        catalog are read from DIR) and prints one JSON line per check:
          unary          UpdateStatus as staff.<district> on an item the node takes part in, then GetItem shows it
          stream_credit  WatchChanges(send_initial) with credit 4: every window is consumed, the server is watched
                         staying quiet until more credit is granted, all 40 initial states arrive; then a cancel
          stream_batch   WatchChanges(send_initial) asking for batches of at most 8: all 40 initial states, each
                         once, never more than 8 in one server message; then a cancel
          stream_packed  the same asking for packed batches (RequestHeader.packed): every batch of two or more
                         arrives packed in one frame, which this client splits by its varint lengths
          deadline       WatchChanges with a 200 ms budget (timeout_us) ends DEADLINE_EXCEEDED
          expired_unary  GetItem with a 1 µs budget: DEADLINE_EXCEEDED
          unauthenticated a fresh key pair not in the roster: the handshake is refused, no answer arrives
          permission     auditor.<district> writing: PERMISSION_DENIED, while reading works
          unknown_method a method the node does not have: UNIMPLEMENTED / UNKNOWN_METHOD
          malformed_request a frame 3 that does not decode: INVALID_ARGUMENT / MALFORMED_REQUEST
        Each line has "check", "ok" and "problems" (empty when ok) plus the values seen. Exit 0 when every check is
        ok, 1 otherwise.

  serve [--client-key BASE64]
        A small server: binds a ROUTER on tcp://127.0.0.1:* and prints one JSON line on stdout,
        {"endpoint": ..., "server_public_key": BASE64 or null}. Plain text by default; with --client-key, CurveZMQ
        with its own ZAP handler admitting only that client key (as user id "swift-client"). Methods:
          /coop.v1.Health/Check         service "": SERVING with one reason; other services: NOT_FOUND,
                                        reason UNKNOWN_SERVICE
          /coop.v1.Ledger/UpdateStatus  always FAILED_PRECONDITION, reason PYTHON_KEEPS_NO_LEDGER, with trailing
                                        metadata (a text and a -bin pair)
          anything else                 UNIMPLEMENTED, reason UNKNOWN_METHOD
        Responses carry metadata "timeout-us" (the budget the request carried) and "caller" (the ZAP user id).
        Serves until its standard input is closed, then prints {"served": [...]} (one entry per call) and exits 0.

Exit codes: 0 good, 1 a check failed, 2 usage or input error, 3 a tool is missing (protoc, google.protobuf, pyzmq).

Requires Python 3.11, `pip install pyzmq protobuf` and `protoc` (apt-get install protobuf-compiler).
"""

from __future__ import annotations

import argparse
import atexit
import base64
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = REPO_ROOT / "proto"
PACKAGE_DIR = PROTO_DIR / "coop" / "v1"

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_MISSING_TOOL = 3


def missing_tool(message: str) -> None:
    print(f"rpc_interop.py: {message}", file=sys.stderr)
    sys.exit(EXIT_MISSING_TOOL)


try:
    import zmq
    from zmq.utils import monitor as zmq_monitor
    from zmq.utils import z85
except ImportError as error:  # pragma: no cover - depends on the machine
    missing_tool(f"cannot import zmq ({error}). Install pyzmq with `pip install pyzmq`.")

try:
    import google.protobuf  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the machine
    missing_tool(f"cannot import google.protobuf ({error}). Install it with `pip install protobuf` (7.x).")


def compile_schema() -> dict[str, Any]:
    """Compiles proto/coop/v1/*.proto into a fresh temp dir and imports the modules; returns them by stem."""
    protos = sorted(PACKAGE_DIR.glob("*.proto"))
    if not protos:
        print(f"rpc_interop.py: no .proto files in {PACKAGE_DIR}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    out_dir = tempfile.mkdtemp(prefix="coop-rpc-interop-py-")
    atexit.register(shutil.rmtree, out_dir, ignore_errors=True)
    command = ["protoc", f"--python_out={out_dir}", f"-I{PROTO_DIR}", *[str(p) for p in protos]]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        missing_tool("`protoc` not found on PATH. Install it with `apt-get install protobuf-compiler`.")
    if result.returncode != 0:
        missing_tool(f"{' '.join(command)} failed:\n{result.stderr}")
    sys.path.insert(0, out_dir)
    return {p.stem: importlib.import_module(f"coop.v1.{p.stem}_pb2") for p in protos}


PB = compile_schema()
rpc_pb2, ledger_pb2, health_pb2, log_pb2 = PB["rpc"], PB["ledger"], PB["health"], PB["log"]

# PROTOCOL.md, "Messages": frame 1 of every message in both directions.
TAG = b"coop.rpc/1"


def code_name(code: int) -> str:
    """STATUS_CODE_DEADLINE_EXCEEDED -> DEADLINE_EXCEEDED."""
    try:
        return rpc_pb2.StatusCode.Name(code).removeprefix("STATUS_CODE_")
    except ValueError:
        return str(code)


def item_status_name(status: int) -> str:
    try:
        return log_pb2.ItemStatus.Name(status).removeprefix("ITEM_STATUS_")
    except ValueError:
        return str(status)


def emit(line: dict[str, Any]) -> None:
    print(json.dumps(line, ensure_ascii=False, sort_keys=True), flush=True)


# ---------------------------------------------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------------------------------------------


class Answer:
    """One server-to-client message: [tag][ResponseHeader][body?], or a batch [tag][ResponseHeader][body]... to a
    stream whose request asked for one (PROTOCOL.md, "Batches"), or a packed batch [tag][ResponseHeader{packed: n}]
    [len body len body ...] ("Packed batches"); `packed` says which."""

    def __init__(self, header: Any, bodies: list[bytes], packed: bool = False) -> None:
        self.header = header
        self.bodies = bodies
        self.body = bodies[0] if bodies else None
        self.packed = packed

    @property
    def code(self) -> str:
        return code_name(self.header.status.code)


def split_packed(frame: bytes, problems: list[str]) -> list[bytes]:
    """The messages of a packed batch's frame 3: each a varint length (at most 10 bytes, 7 bits each, least
    significant first) and that many bytes."""
    bodies: list[bytes] = []
    index = 0
    while index < len(frame):
        length = 0
        shift = 0
        while True:
            if index >= len(frame) or shift > 63:
                problems.append(f"message {len(bodies) + 1} of a packed batch: its length is not a varint")
                return bodies
            byte = frame[index]
            index += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte & 0x80 == 0:
                break
        if index + length > len(frame):
            problems.append(f"message {len(bodies) + 1} of a packed batch runs past the frame's {len(frame)} bytes")
            return bodies
        bodies.append(frame[index : index + length])
        index += length
    return bodies


class Connection:
    """A DEALER connected to a coop.rpc/1 server, optionally over CurveZMQ (32-byte raw keys)."""

    def __init__(
        self,
        context: zmq.Context,
        endpoint: str,
        server_key: bytes | None = None,
        public_key: bytes | None = None,
        secret_key: bytes | None = None,
        watch_handshake: bool = False,
    ) -> None:
        self.socket = context.socket(zmq.DEALER)
        self.socket.linger = 0
        self.monitor = None
        self.problems: list[str] = []
        if server_key is not None:
            self.socket.curve_serverkey = z85.encode(server_key)
            self.socket.curve_publickey = z85.encode(public_key)
            self.socket.curve_secretkey = z85.encode(secret_key)
        if watch_handshake:
            self.monitor = self.socket.get_monitor_socket(
                zmq.EVENT_HANDSHAKE_SUCCEEDED
                | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
            )
        self.socket.connect(endpoint)
        self.next_call_id = 1
        # Per call, the most stream messages it asked for in one server message (RequestHeader.batch), and whether
        # it asked for them packed (RequestHeader.packed).
        self.batch: dict[int, int] = {}
        self.packed: dict[int, bool] = {}

    def close(self) -> None:
        if self.monitor is not None:
            self.socket.disable_monitor()
            self.monitor.close(linger=0)
        self.socket.close(linger=0)

    def new_call_id(self) -> int:
        call_id = self.next_call_id
        self.next_call_id += 1
        return call_id

    def send_request(
        self,
        call_id: int,
        method: str,
        request: Any,
        timeout_us: int = 0,
        credit: int = 0,
        metadata: Sequence[tuple[str, str]] = (),
        batch: int = 0,
        packed: bool = False,
    ) -> None:
        header = rpc_pb2.RequestHeader(
            call_id=call_id, method=method, timeout_us=timeout_us, credit=credit, batch=batch, packed=packed
        )
        self.batch[call_id] = max(1, batch)
        self.packed[call_id] = packed and batch > 1
        for key, value in metadata:
            header.metadata.append(rpc_pb2.MetadataEntry(key=key, value=value))
        frame = rpc_pb2.ClientFrame(request=header)
        self.socket.send_multipart([TAG, frame.SerializeToString(), request.SerializeToString()])

    def send_credit(self, call_id: int, credit: int) -> None:
        frame = rpc_pb2.ClientFrame(credit=rpc_pb2.StreamCredit(call_id=call_id, credit=credit))
        self.socket.send_multipart([TAG, frame.SerializeToString()])

    def send_cancel(self, call_id: int) -> None:
        frame = rpc_pb2.ClientFrame(cancel=rpc_pb2.CancelCall(call_id=call_id))
        self.socket.send_multipart([TAG, frame.SerializeToString()])

    def receive(self, wait_s: float) -> Answer | None:
        """The next message, or None when none arrives within `wait_s` seconds. Checks the framing rules."""
        if not self.socket.poll(int(wait_s * 1000), zmq.POLLIN):
            return None
        frames = self.socket.recv_multipart()
        if len(frames) < 2:
            self.problems.append(f"a message of {len(frames)} frame(s) (2 or more expected)")
            return Answer(rpc_pb2.ResponseHeader(), [])
        if frames[0] != TAG:
            self.problems.append(f"frame 1 is {frames[0]!r}, not {TAG!r}")
        header = rpc_pb2.ResponseHeader()
        header.ParseFromString(frames[1])
        if header.end_of_stream != header.HasField("status"):
            self.problems.append(
                f"call {header.call_id}: end_of_stream {header.end_of_stream} but status "
                f"{'set' if header.HasField('status') else 'not set'}"
            )
        bodies = frames[2:]
        if header.packed > 0:
            # A packed batch: only to a call that asked for it, exactly 3 frames, `packed` messages in frame 3, each
            # preceded by its length as a varint, and nothing else in the header but call_id and packed.
            if not self.packed.get(header.call_id, False):
                self.problems.append(f"call {header.call_id}: a packed batch it did not ask for")
            if len(frames) != 3:
                self.problems.append(f"call {header.call_id}: a packed batch of {len(frames)} frames, not 3")
            if header.end_of_stream or len(header.metadata) > 0:
                self.problems.append(f"call {header.call_id}: a packed batch with a status or metadata")
            bodies = split_packed(frames[2] if len(frames) > 2 else b"", self.problems)
            if len(bodies) != header.packed:
                self.problems.append(
                    f"call {header.call_id}: a packed batch of {len(bodies)} messages, its header says {header.packed}"
                )
            if len(bodies) > self.batch.get(header.call_id, 1):
                self.problems.append(
                    f"call {header.call_id}: {len(bodies)} messages packed, at most "
                    f"{self.batch.get(header.call_id, 1)} asked"
                )
            return Answer(header, bodies, packed=True)
        if len(bodies) > 1:
            # A batch: only stream messages of a call that asked for it, at most its batch, no metadata, no status.
            asked = self.batch.get(header.call_id, 1)
            if len(bodies) > asked:
                self.problems.append(
                    f"call {header.call_id}: {len(bodies)} messages in one server message, at most {asked} asked"
                )
            if header.end_of_stream or len(header.metadata) > 0:
                self.problems.append(f"call {header.call_id}: a batch with a status or metadata")
        return Answer(header, bodies)

    def receive_for(self, call_id: int, wait_s: float) -> Answer | None:
        """The next message of `call_id` (others are noted as problems), or None at the end of `wait_s`."""
        deadline = time.monotonic() + wait_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            answer = self.receive(left)
            if answer is None:
                return None
            if answer.header.call_id == call_id:
                return answer
            self.problems.append(f"an answer for call {answer.header.call_id} while waiting for call {call_id}")

    def unary(
        self,
        method: str,
        request: Any,
        response_class: Any,
        timeout_us: int = 0,
        metadata: Sequence[tuple[str, str]] = (),
        wait_s: float = 60.0,
    ) -> tuple[Answer | None, Any]:
        """One unary call: (the answer or None when none came, the decoded response or None)."""
        call_id = self.new_call_id()
        self.send_request(call_id, method, request, timeout_us=timeout_us, metadata=metadata)
        answer = self.receive_for(call_id, wait_s)
        if answer is None:
            return None, None
        if not answer.header.end_of_stream:
            self.problems.append(f"{method}: a unary answer without end_of_stream")
        response = None
        if answer.header.status.code == rpc_pb2.STATUS_CODE_OK:
            if answer.body is None:
                self.problems.append(f"{method}: OK without frame 3")
            else:
                response = response_class()
                response.ParseFromString(answer.body)
        elif answer.body is not None:
            self.problems.append(f"{method}: a non-OK status with frame 3")
        return answer, response

    def handshake_events(self, wait_s: float) -> list[dict[str, Any]]:
        """Monitor events until a handshake outcome is seen or `wait_s` passes."""
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not self.monitor.poll(int(max(0.0, deadline - time.monotonic()) * 1000), zmq.POLLIN):
                break
            event = zmq_monitor.recv_monitor_message(self.monitor)
            events.append({"event": zmq.Event(event["event"]).name, "value": event["value"]})
            if event["event"] != 0:
                break
        return events


class Mesh:
    """What `coop dev mesh DIR` wrote: client profiles, private keys, the roster and the catalog."""

    def __init__(self, directory: Path, node: str, endpoint: str | None) -> None:
        self.directory = directory
        self.node = node
        self.district = node.split("-", 1)[1]
        self.catalog = json.loads((directory / "catalog.json").read_text(encoding="utf-8"))
        profile = self.profile(f"staff.{self.district}")
        self.endpoint = endpoint or profile["endpoint"]
        self.server_key = base64.b64decode(profile["server_curve_public_key"])

    def profile(self, member: str) -> dict[str, Any]:
        return tomllib.loads((self.directory / "clients" / f"{member}.toml").read_text(encoding="utf-8"))

    def keys(self, member: str) -> tuple[bytes, bytes]:
        """(public, secret) CurveZMQ keys of `member`: the secret from keys/<member>.curve.key."""
        text = (self.directory / "keys" / f"{member}.curve.key").read_text(encoding="utf-8")
        for line in text.splitlines():
            if line.startswith("curve25519-secret:"):
                secret = base64.b64decode(line.removeprefix("curve25519-secret:"))
                public = z85.decode(zmq.curve_public(z85.encode(secret)))
                return public, secret
        raise ValueError(f"keys/{member}.curve.key has no curve25519-secret line")

    def connect(self, context: zmq.Context, member: str) -> Connection:
        public, secret = self.keys(member)
        return Connection(context, self.endpoint, self.server_key, public, secret)

    def items(self) -> tuple[list[str], list[str]]:
        """Item ids the node takes part in, and all item ids, in catalog order."""
        all_ids = [item["id"] for item in self.catalog["items"]]
        ours = [item["id"] for item in self.catalog["items"] if self.node in item.get("participants", [])]
        return ours, all_ids


def check(name: str, problems: list[str], **values: Any) -> bool:
    emit({"check": name, "ok": not problems, "problems": problems, **values})
    return not problems


def status_values(answer: Answer | None) -> dict[str, Any]:
    if answer is None:
        return {"code": None, "reason": None, "message": None}
    status = answer.header.status
    return {"code": code_name(status.code), "reason": status.reason, "message": status.message}


def check_unary(context: zmq.Context, mesh: Mesh) -> bool:
    """UpdateStatus as the node's staff on an item the node takes part in; GetItem then shows the update."""
    ours, _ = mesh.items()
    item = ours[0]
    staff = mesh.connect(context, f"staff.{mesh.district}")
    problems: list[str] = []
    note = "Python 客户端: 分办 to the department"
    request = ledger_pb2.UpdateStatusRequest(
        item_id=item, status=log_pb2.ITEM_STATUS_ASSIGNED, progress=5, note=note, reporter="Python interop"
    )
    answer, appended = staff.unary(
        "/coop.v1.Ledger/UpdateStatus",
        request,
        ledger_pb2.AppendResponse,
        timeout_us=60_000_000,
        metadata=[("client-lang", "python")],
    )
    values: dict[str, Any] = {"item": item, **status_values(answer)}
    if answer is None:
        problems.append("no answer to UpdateStatus within 60 s")
    elif appended is None:
        problems.append(f"UpdateStatus answered {values['code']} {values['reason']}: {values['message']}")
    else:
        values.update(
            origin=appended.origin,
            sequence=appended.sequence,
            entry_id_bytes=len(appended.entry_id),
            status=item_status_name(appended.state.status),
            reporter=appended.state.reporter,
        )
        shown_answer, shown = staff.unary(
            "/coop.v1.Ledger/GetItem",
            ledger_pb2.GetItemRequest(item_id=item),
            ledger_pb2.ItemView,
            timeout_us=60_000_000,
        )
        if shown is None:
            problems.append(f"GetItem answered {status_values(shown_answer)}")
        else:
            values.update(
                get_status=item_status_name(shown.state.status),
                get_progress=shown.state.progress,
                get_note=shown.state.note,
                get_head_is_entry=shown.state.head == appended.entry_id,
                get_item_id=shown.item.id,
            )
            if shown.state.status != log_pb2.ITEM_STATUS_ASSIGNED or shown.state.head != appended.entry_id:
                problems.append("GetItem does not show the update")
            if shown.state.note != note:
                problems.append(f"GetItem shows note {shown.state.note!r}, not {note!r}")
    problems += staff.problems
    staff.close()
    return check("unary", problems, **values)


def watch_initial(
    context: zmq.Context, mesh: Mesh, credit: int, batch: int = 0, packed: bool = False
) -> tuple[Connection, int]:
    """Starts WatchChanges(send_initial) as the node's auditor (a 300 s budget); returns the connection and call id."""
    auditor = mesh.connect(context, f"auditor.{mesh.district}")
    call_id = auditor.new_call_id()
    auditor.send_request(
        call_id,
        "/coop.v1.Ledger/WatchChanges",
        ledger_pb2.WatchChangesRequest(send_initial=True),
        timeout_us=300_000_000,
        credit=credit,
        batch=batch,
        packed=packed,
    )
    return auditor, call_id


def cancel_call(connection: Connection, call_id: int) -> tuple[Answer | None, int]:
    """Cancels `call_id`; returns its last message (None when none came within 60 s) and how many stream messages
    arrived before it."""
    connection.send_cancel(call_id)
    late = 0
    while True:
        answer = connection.receive_for(call_id, 60.0)
        if answer is None or answer.header.end_of_stream:
            return answer, late
        late += 1


def check_stream_credit(context: zmq.Context, mesh: Mesh, updated_item: str) -> bool:
    """WatchChanges with send_initial and a credit of 4.

    Each round consumes the whole credit granted so far, then waits QUIET_S to see that the server sends nothing
    more (PROTOCOL.md: it never sends more stream messages than the credit granted), then grants another 4. Every
    message is also checked against the credit granted before it arrived. After the 40 initial states the call is
    cancelled, which the server answers with CANCELLED.
    """
    window = 4
    quiet_s = 0.3
    _, all_ids = mesh.items()
    auditor, call_id = watch_initial(context, mesh, credit=window)
    problems: list[str] = []
    granted = window
    received = 0
    grants = 0
    between_grants: list[int] = []
    quiet_after_window: list[bool] = []
    states: dict[str, Any] = {}
    ended: Answer | None = None
    since_grant = 0
    while len(states) < len(all_ids) and ended is None:
        answer = auditor.receive_for(call_id, 60.0)
        if answer is None:
            problems.append(f"no stream message within 60 s after {received} (credit granted: {granted})")
            break
        if answer.header.end_of_stream:
            ended = answer
            problems.append(f"the stream ended early: {status_values(answer)}")
            break
        received += 1
        since_grant += 1
        if received > granted:
            problems.append(f"stream message {received} arrived with only {granted} credit granted")
        change = ledger_pb2.ItemChange()
        change.ParseFromString(answer.body or b"")
        if not change.initial:
            problems.append(f"message {received} ({change.state.item_id}) is not an initial state")
        if change.state.item_id in states:
            problems.append(f"{change.state.item_id} sent twice")
        states[change.state.item_id] = change.state
        if received == granted and len(states) < len(all_ids):
            # The whole credit is consumed: the server must wait for more.
            extra = auditor.receive_for(call_id, quiet_s)
            quiet_after_window.append(extra is None)
            if extra is not None:
                problems.append(f"a message arrived after {received} with only {granted} credit granted")
                break
            between_grants.append(since_grant)
            since_grant = 0
            auditor.send_credit(call_id, window)
            granted += window
            grants += 1
    between_grants.append(since_grant)
    if len(states) != len(all_ids) and not problems:
        problems.append(f"{len(states)} initial states, expected {len(all_ids)}")
    if sorted(states) != sorted(all_ids) and len(states) == len(all_ids):
        problems.append("the initial states are not the catalog's items")
    updated = states.get(updated_item)
    updated_status = item_status_name(updated.status) if updated is not None else None
    # End the stream: cancel, answered CANCELLED (PROTOCOL.md, ClientFrame.cancel).
    cancel_answer = None
    if ended is None:
        cancel_answer, late = cancel_call(auditor, call_id)
        if late:
            problems.append(f"{late} stream message(s) after the cancel was sent")
        if cancel_answer is None:
            problems.append("no answer to the cancel within 60 s")
    problems += auditor.problems
    auditor.close()
    return check(
        "stream_credit",
        problems,
        credit=window,
        initial=len(states),
        distinct_items=len(set(states)),
        received=received,
        granted=granted,
        grants=grants,
        between_grants=between_grants,
        max_between_grants=max(between_grants),
        quiet_after_window=sum(quiet_after_window),
        windows_checked=len(quiet_after_window),
        updated_item=updated_item,
        updated_item_status=updated_status,
        end_code=status_values(cancel_answer)["code"],
    )


def check_deadline(context: zmq.Context, mesh: Mesh, item: str) -> bool:
    """WatchChanges on one item with a 200 ms budget: the initial state, then DEADLINE_EXCEEDED at the deadline."""
    budget_us = 200_000
    auditor = mesh.connect(context, f"auditor.{mesh.district}")
    problems: list[str] = []
    call_id = auditor.new_call_id()
    started = time.monotonic()
    auditor.send_request(
        call_id,
        "/coop.v1.Ledger/WatchChanges",
        ledger_pb2.WatchChangesRequest(item_ids=[item], send_initial=True),
        timeout_us=budget_us,
    )
    messages = 0
    end: Answer | None = None
    while end is None:
        answer = auditor.receive_for(call_id, 60.0)
        if answer is None:
            problems.append("no end within 60 s of a 200 ms deadline")
            break
        if answer.header.end_of_stream:
            end = answer
            if answer.body is not None:
                problems.append("the final status came with a frame 3")
        else:
            messages += 1
    elapsed_ms = round((time.monotonic() - started) * 1000)
    values = status_values(end)
    if values["code"] != "DEADLINE_EXCEEDED":
        problems.append(f"ended {values}")
    if elapsed_ms < budget_us // 1000:
        problems.append(f"ended after {elapsed_ms} ms, before the 200 ms deadline")
    problems += auditor.problems
    auditor.close()
    return check("deadline", problems, timeout_us=budget_us, messages=messages, elapsed_ms=elapsed_ms, **values)


def check_expired_unary(context: zmq.Context, mesh: Mesh, item: str) -> bool:
    """GetItem with a budget of 1 µs: spent before any handler can answer, so DEADLINE_EXCEEDED (PROTOCOL.md,
    "Deadlines and cancellation")."""
    staff = mesh.connect(context, f"staff.{mesh.district}")
    answer, _ = staff.unary(
        "/coop.v1.Ledger/GetItem", ledger_pb2.GetItemRequest(item_id=item), ledger_pb2.ItemView, timeout_us=1
    )
    values = status_values(answer)
    problems = []
    if values["code"] != "DEADLINE_EXCEEDED" or values["reason"] != "DEADLINE_EXCEEDED":
        problems.append(f"a 1 µs budget was answered {values['code']}, not DEADLINE_EXCEEDED")
    problems += staff.problems
    staff.close()
    return check("expired_unary", problems, timeout_us=1, **values)


def check_unauthenticated(context: zmq.Context, mesh: Mesh, item: str) -> bool:
    """A fresh key pair not in the roster: the server refuses the handshake; a call gets no answer."""
    public_z85, secret_z85 = zmq.curve_keypair()
    public, secret = z85.decode(public_z85), z85.decode(secret_z85)
    stranger = Connection(context, mesh.endpoint, mesh.server_key, public, secret, watch_handshake=True)
    problems: list[str] = []
    call_id = stranger.new_call_id()
    # Queued until a connection is up; with the handshake refused it is never delivered.
    stranger.send_request(
        call_id, "/coop.v1.Ledger/GetItem", ledger_pb2.GetItemRequest(item_id=item), timeout_us=60_000_000
    )
    events = stranger.handshake_events(60.0)
    refused = [e for e in events if e["event"] == "HANDSHAKE_FAILED_AUTH"]
    if not refused:
        problems.append(f"no HANDSHAKE_FAILED_AUTH event within 60 s: {events}")
    if any(e["event"] == "HANDSHAKE_SUCCEEDED" for e in events):
        problems.append("the handshake succeeded with a key not in the roster")
    wait_s = 2.0
    answer = stranger.receive(wait_s)
    if answer is not None:
        problems.append(f"an answer arrived: {status_values(answer)}")
    problems += stranger.problems
    stranger.close()
    return check(
        "unauthenticated",
        problems,
        public_key_z85=public_z85.decode(),
        handshake_events=[e["event"] for e in events],
        zap_status=refused[0]["value"] if refused else None,
        answered=answer is not None,
        waited_s=wait_s,
    )


def check_permission(context: zmq.Context, mesh: Mesh, item: str) -> bool:
    """The node's auditor writing: PERMISSION_DENIED (reason PERMISSION_DENIED); reading works."""
    member = f"auditor.{mesh.district}"
    auditor = mesh.connect(context, member)
    problems: list[str] = []
    answer, _ = auditor.unary(
        "/coop.v1.Ledger/UpdateStatus",
        ledger_pb2.UpdateStatusRequest(item_id=item, status=log_pb2.ITEM_STATUS_IN_PROGRESS, progress=10),
        ledger_pb2.AppendResponse,
        timeout_us=60_000_000,
    )
    values = status_values(answer)
    if values["code"] != "PERMISSION_DENIED" or values["reason"] != "PERMISSION_DENIED":
        problems.append(f"UpdateStatus as {member} answered {values}")
    read_answer, listed = auditor.unary(
        "/coop.v1.Ledger/ListItems", ledger_pb2.ListItemsRequest(), ledger_pb2.ListItemsResponse, timeout_us=60_000_000
    )
    if listed is None:
        problems.append(f"ListItems as {member} answered {status_values(read_answer)}")
    problems += auditor.problems
    auditor.close()
    return check(
        "permission", problems, member=member, listed=len(listed.items) if listed else None, **values
    )


def check_unknown_method(context: zmq.Context, mesh: Mesh) -> bool:
    staff = mesh.connect(context, f"staff.{mesh.district}")
    method = "/coop.v1.Ledger/Teleport"
    answer, _ = staff.unary(method, ledger_pb2.GetItemRequest(), ledger_pb2.ItemView, timeout_us=60_000_000)
    values = status_values(answer)
    problems = [] if values["code"] == "UNIMPLEMENTED" and values["reason"] == "UNKNOWN_METHOD" else [f"{values}"]
    problems += staff.problems
    staff.close()
    return check("unknown_method", problems, method=method, **values)


def check_malformed_request(context: zmq.Context, mesh: Mesh) -> bool:
    """A frame 3 that is not the method's request message: INVALID_ARGUMENT, MALFORMED_REQUEST."""
    staff = mesh.connect(context, f"staff.{mesh.district}")
    call_id = staff.new_call_id()
    header = rpc_pb2.RequestHeader(call_id=call_id, method="/coop.v1.Ledger/GetItem", timeout_us=60_000_000)
    staff.socket.send_multipart([TAG, rpc_pb2.ClientFrame(request=header).SerializeToString(), b"\xff\xff"])
    values = status_values(staff.receive_for(call_id, 60.0))
    problems = []
    if values["code"] != "INVALID_ARGUMENT" or values["reason"] != "MALFORMED_REQUEST":
        problems.append(f"an undecodable request was answered {values}")
    problems += staff.problems
    staff.close()
    return check("malformed_request", problems, **values)


def check_stream_batch(context: zmq.Context, mesh: Mesh, packed: bool = False) -> bool:
    """WatchChanges with send_initial, a credit of 64 and batches of at most 8 (RequestHeader.batch): the 40 initial
    states arrive, each once, however the server groups them (it batches only what its handler sends while the
    connection is busy), never more than 8 in one server message; then a cancel, answered CANCELLED. With `packed`
    (RequestHeader.packed), every batch of two or more must come packed in one frame ("stream_packed")."""
    batch = 8
    _, all_ids = mesh.items()
    auditor, call_id = watch_initial(context, mesh, credit=64, batch=batch, packed=packed)
    problems: list[str] = []
    states: list[str] = []
    sizes: list[int] = []
    packed_batches = 0
    frame_batches = 0
    while len(states) < len(all_ids):
        answer = auditor.receive_for(call_id, 60.0)
        if answer is None:
            problems.append(f"no stream message within 60 s after {len(states)}")
            break
        if answer.header.end_of_stream:
            problems.append(f"the stream ended early: {status_values(answer)}")
            break
        if not answer.bodies:
            continue  # a probe
        sizes.append(len(answer.bodies))
        if answer.packed:
            packed_batches += 1
        elif len(answer.bodies) > 1:
            frame_batches += 1
        for body in answer.bodies:
            change = ledger_pb2.ItemChange()
            change.ParseFromString(body)
            if not change.initial:
                problems.append(f"{change.state.item_id} is not an initial state")
            states.append(change.state.item_id)
    if packed and frame_batches > 0:
        problems.append(f"{frame_batches} batches came one frame per message although packed batches were asked")
    if not packed and packed_batches > 0:
        problems.append(f"{packed_batches} packed batches came although none were asked")
    if len(set(states)) != len(states):
        problems.append("an initial state arrived twice")
    if sorted(set(states)) != sorted(all_ids):
        problems.append(f"{len(set(states))} distinct initial states, expected the catalog's {len(all_ids)}")
    end, _ = cancel_call(auditor, call_id)
    if end is None:
        problems.append("no answer to the cancel within 60 s")
    problems += auditor.problems
    auditor.close()
    return check(
        "stream_packed" if packed else "stream_batch",
        problems,
        batch=batch,
        packed_batches=packed_batches,
        frame_batches=frame_batches,
        initial=len(states),
        distinct_items=len(set(states)),
        server_messages=len(sizes),
        max_per_message=max(sizes, default=0),
        end_code=status_values(end)["code"],
    )


def run_client(args: argparse.Namespace) -> int:
    mesh_dir = Path(args.mesh)
    if not (mesh_dir / "roster.json").is_file():
        print(f"rpc_interop.py: {mesh_dir} is not a mesh written by `coop dev mesh` (no roster.json)", file=sys.stderr)
        return EXIT_USAGE
    mesh = Mesh(mesh_dir, args.node, args.endpoint)
    ours, _ = mesh.items()
    context = zmq.Context()
    results = [
        check_unary(context, mesh),
        check_stream_credit(context, mesh, ours[0]),
        check_stream_batch(context, mesh),
        check_stream_batch(context, mesh, packed=True),
        check_deadline(context, mesh, ours[0]),
        check_expired_unary(context, mesh, ours[0]),
        check_unauthenticated(context, mesh, ours[0]),
        check_permission(context, mesh, ours[1] if len(ours) > 1 else ours[0]),
        check_unknown_method(context, mesh),
        check_malformed_request(context, mesh),
    ]
    context.term()
    return 0 if all(results) else EXIT_FAILED


# ---------------------------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------------------------

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
SWIFT_CLIENT = "swift-client"


def answer_frames(
    call_id: int,
    code: int,
    body: bytes | None = None,
    message: str = "",
    reason: str = "",
    metadata: Sequence[tuple[str, str | bytes]] = (),
) -> list[bytes]:
    header = rpc_pb2.ResponseHeader(call_id=call_id, end_of_stream=True)
    header.status.code = code
    header.status.message = message
    header.status.reason = reason
    for key, value in metadata:
        if key.endswith("-bin"):
            header.metadata.append(rpc_pb2.MetadataEntry(key=key, binary_value=value))
        else:
            header.metadata.append(rpc_pb2.MetadataEntry(key=key, value=value))
    frames = [TAG, header.SerializeToString()]
    if body is not None:
        frames.append(body)
    return frames


def handle(request: Any, body: bytes, caller: str) -> list[bytes]:
    """The answer to one request (frames 1–3, without the routing id)."""
    common = [("timeout-us", str(request.timeout_us)), ("caller", caller)]
    if request.method == "/coop.v1.Health/Check":
        check_request = health_pb2.HealthCheckRequest()
        check_request.ParseFromString(body)
        if check_request.service == "":
            response = health_pb2.HealthCheckResponse(
                status=health_pb2.SERVING_STATUS_SERVING,
                reasons=[f"answered by the Python interop server (pyzmq {zmq.pyzmq_version()})"],
            )
            return answer_frames(request.call_id, rpc_pb2.STATUS_CODE_OK, response.SerializeToString(), metadata=common)
        return answer_frames(
            request.call_id,
            rpc_pb2.STATUS_CODE_NOT_FOUND,
            message=f"no service named '{check_request.service}' on the Python server",
            reason="UNKNOWN_SERVICE",
            metadata=common,
        )
    if request.method == "/coop.v1.Ledger/UpdateStatus":
        update = ledger_pb2.UpdateStatusRequest()
        update.ParseFromString(body)
        return answer_frames(
            request.call_id,
            rpc_pb2.STATUS_CODE_FAILED_PRECONDITION,
            message=f"条目 {update.item_id}: the Python server keeps no ledger",
            reason="PYTHON_KEEPS_NO_LEDGER",
            metadata=[*common, ("retry", "never"), ("coop-heads-bin", bytes(range(256)) * 2)],
        )
    return answer_frames(
        request.call_id,
        rpc_pb2.STATUS_CODE_UNIMPLEMENTED,
        message=f"no method {request.method} on the Python server",
        reason="UNKNOWN_METHOD",
        metadata=common,
    )


def zap_reply(frames: list[bytes], client_key: bytes) -> list[bytes]:
    """RFC 27: admit only `client_key` over CURVE, as user id SWIFT_CLIENT."""
    version, request_id = frames[0], frames[1]
    mechanism = frames[5] if len(frames) > 5 else b""
    key = frames[6] if len(frames) > 6 else b""
    if mechanism == b"CURVE" and key == client_key:
        return [version, request_id, b"200", b"OK", SWIFT_CLIENT.encode(), b""]
    return [version, request_id, b"400", b"not the expected client key", b"", b""]


def run_server(args: argparse.Namespace) -> int:
    context = zmq.Context()
    zap = None
    server_public = None
    router = context.socket(zmq.ROUTER)
    router.linger = 0
    router.router_mandatory = 1
    if args.client_key:
        client_key = base64.b64decode(args.client_key)
        if len(client_key) != 32:
            print("rpc_interop.py: --client-key must be 32 bytes of base64", file=sys.stderr)
            return EXIT_USAGE
        zap = context.socket(zmq.REP)
        zap.linger = 0
        zap.bind(ZAP_ENDPOINT)
        public_z85, secret_z85 = zmq.curve_keypair()
        server_public = z85.decode(public_z85)
        router.curve_server = True
        router.curve_secretkey = secret_z85
        router.zap_domain = b"coop"
    router.bind("tcp://127.0.0.1:*")
    endpoint = router.getsockopt_string(zmq.LAST_ENDPOINT)
    public_text = base64.b64encode(server_public).decode() if server_public else None
    emit({"endpoint": endpoint, "server_public_key": public_text})

    poller = zmq.Poller()
    poller.register(router, zmq.POLLIN)
    if zap is not None:
        poller.register(zap, zmq.POLLIN)
    poller.register(sys.stdin.fileno(), zmq.POLLIN)
    served: list[dict[str, Any]] = []
    refused_keys: list[str] = []
    running = True
    while running:
        for socket, _ in poller.poll():
            if socket == sys.stdin.fileno():
                if os.read(sys.stdin.fileno(), 4096) == b"":
                    running = False
            elif zap is not None and socket is zap:
                request = zap.recv_multipart()
                reply = zap_reply(request, client_key)
                if reply[2] != b"200":
                    refused_keys.append(z85.encode(request[6]).decode() if len(request) > 6 else "-")
                zap.send_multipart(reply)
            elif socket is router:
                frames = router.recv_multipart(copy=False)
                caller = frames[-1].get("User-Id") if zap is not None else ""
                routing_id, rest = frames[0].bytes, [f.bytes for f in frames[1:]]
                served.append(serve_one(router, routing_id, rest, caller or ""))
    emit({"served": served, "refused_keys": refused_keys})
    router.close(linger=0)
    if zap is not None:
        zap.close(linger=0)
    context.term()
    return 0


def serve_one(router: zmq.Socket, routing_id: bytes, frames: list[bytes], caller: str) -> dict[str, Any]:
    """Answers one client message (PROTOCOL.md: [tag][ClientFrame][body]); returns what was seen, for the log."""
    if not frames or frames[0] != TAG:
        tag = frames[0].decode(errors="replace") if frames else ""
        reply = answer_frames(
            0,
            rpc_pb2.STATUS_CODE_UNIMPLEMENTED,
            message=f"protocol {tag!r} is not coop.rpc/1",
            reason="PROTOCOL_VERSION",
        )
        router.send_multipart([routing_id, *reply])
        return {"error": "PROTOCOL_VERSION"}
    client_frame = rpc_pb2.ClientFrame()
    try:
        client_frame.ParseFromString(frames[1] if len(frames) > 1 else b"")
    except Exception:  # DecodeError
        client_frame = None
    kind = client_frame.WhichOneof("kind") if client_frame is not None else None
    if kind != "request" or len(frames) != 3 or client_frame.request.call_id == 0:
        if kind in ("credit", "cancel") and len(frames) == 2:
            # Unary calls are answered at once: nothing is in flight to cancel or to grant credit to.
            call_id = getattr(client_frame, kind).call_id
            reply = answer_frames(
                call_id,
                rpc_pb2.STATUS_CODE_NOT_FOUND,
                message=f"call {call_id} is not in flight",
                reason="UNKNOWN_CALL",
            )
            router.send_multipart([routing_id, *reply])
            return {"kind": kind, "call_id": call_id}
        reply = answer_frames(
            0, rpc_pb2.STATUS_CODE_INVALID_ARGUMENT, message="a malformed client message", reason="MALFORMED_FRAME"
        )
        router.send_multipart([routing_id, *reply])
        return {"error": "MALFORMED_FRAME"}
    request = client_frame.request
    router.send_multipart([routing_id, *handle(request, frames[2], caller)])
    return {
        "kind": "request",
        "call_id": request.call_id,
        "method": request.method,
        "timeout_us": request.timeout_us,
        "caller": caller,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    client = sub.add_parser("client", help="run the checks against a running coop node of a mesh")
    client.add_argument("--mesh", required=True, help="the directory written by `coop dev mesh`")
    client.add_argument("--node", default="cd-wuhou", help="the node to talk to (default cd-wuhou)")
    client.add_argument("--endpoint", help="the node's endpoint (default: from the staff client profile)")
    serve = sub.add_parser("serve", help="serve a few methods until standard input is closed")
    serve.add_argument("--client-key", help="CurveZMQ: admit only this client public key (base64, 32 bytes)")
    args = parser.parse_args(argv)
    if args.command == "client":
        return run_client(args)
    return run_server(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
