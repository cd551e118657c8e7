"""Replaying a recorded TVM 0.18 host <-> device transcript against the host board.

A transcript (transcript.jsonl of a fixture) holds the bytes TVM's real host exchanged with
TVM's own server. We send the host's messages to our board, with the session id and every
handle or pointer rewritten to what our board handed out, and check each reply against the
recorded one: same reply kind, same type codes, same scalars, same tensor records and bytes.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

from board import Board
from wire_codec import (
    DLTENSOR,
    FUNC,
    HANDLE,
    MODULE,
    MSG_NORMAL,
    MSG_START_INIT,
    MSG_START_REPLY,
    MSG_TERMINATE,
    RPC_COPY_ACK,
    RPC_EXCEPTION,
    RPC_RETURN,
    RPC_SHUTDOWN,
    Message,
    Packet,
    Unframer,
    parse_packet,
    rpc_packet,
    session_message,
)

HANDLE_CODES = (HANDLE, MODULE, FUNC)


@dataclass
class Transcript:
    host: list[Message]    # what TVM's host sent, in order
    device: list[Message]  # what TVM's server sent, in order


def load_transcript(path: Path) -> Transcript:
    streams = {"host_to_device": bytearray(), "device_to_host": bytearray()}
    for line in path.read_text().splitlines():
        event = json.loads(line)
        if "dir" in event:
            streams[event["dir"]].extend(bytes.fromhex(event["hex"]))
    # The last host frame (kShutdown while the transport closes) may be cut short: an
    # incomplete frame simply yields no message.
    return Transcript(Unframer().feed(bytes(streams["host_to_device"])),
                      Unframer().feed(bytes(streams["device_to_host"])))


class HandleMap:
    """Recorded device handle/pointer values -> the values our board returned."""

    def __init__(self) -> None:
        self.values: dict[int, int] = {0: 0}

    def learn(self, recorded: int, ours: int, where: str) -> None:
        assert (recorded == 0) == (ours == 0), (
            f"{where}: TVM's device returned {recorded:#x}, ours {ours:#x} (null vs non-null)")
        self.values[recorded] = ours

    def rewrite(self, raw: bytes, positions: list[int], where: str) -> bytes:
        out = bytearray(raw)
        for pos in positions:
            recorded = struct.unpack_from("<Q", out, pos)[0]
            assert recorded in self.values, (
                f"{where}: the host sends {recorded:#x}, which the recorded device never returned")
            struct.pack_into("<Q", out, pos, self.values[recorded])
        return bytes(out)


def _describe(pkt: Packet) -> str:
    return f"code {pkt.code}, values {[(v.code, v.value) for v in pkt.values][:6]}"


def compare_reply(index: int, request: Packet, expected: Packet, actual: Packet,
                  handles: HandleMap) -> None:
    where = f"request #{index} (RPC code {request.code})"
    if actual.code == RPC_EXCEPTION and expected.code != RPC_EXCEPTION:
        message = actual.values[0].value if actual.values else b""
        raise AssertionError(f"{where}: our board raised {message!r}; TVM replied "
                             f"{_describe(expected)}")
    assert actual.code == expected.code, (
        f"{where}: reply code {actual.code}, TVM's was {expected.code}")
    if expected.code == RPC_COPY_ACK:
        assert actual.data == expected.data, (
            f"{where}: CopyFromRemote bytes differ from TVM's ({len(actual.data)} bytes)")
        return
    if expected.code != RPC_RETURN:
        return
    codes = [v.code for v in actual.values]
    assert codes == [v.code for v in expected.values], (
        f"{where}: return type codes {codes}, TVM's were {[v.code for v in expected.values]}")
    for i, (ev, av) in enumerate(zip(expected.values, actual.values, strict=True)):
        what = f"{where}, value {i}"
        if ev.code == DLTENSOR:
            e, a = ev.value, av.value
            assert (a.device, a.ndim, a.dtype, a.shape, a.byte_offset) == (
                e.device, e.ndim, e.dtype, e.shape, e.byte_offset), f"{what}: {a} != {e}"
            handles.learn(e.data, a.data, what)
        elif ev.code in HANDLE_CODES:
            handles.learn(ev.value, av.value, what)
        else:
            assert av.value == ev.value, f"{what}: {av.value!r}, TVM's was {ev.value!r}"


def replay(board: Board, transcript: Transcript) -> int:
    """Plays the host's side against the board; returns how many requests were checked."""
    boot = board.receive()
    assert boot.type == MSG_TERMINATE, f"the board's first message has type {boot.type}"
    session_id = None
    replies = iter(m for m in transcript.device if m.type == MSG_NORMAL)
    handles = HandleMap()
    checked = 0
    for msg in transcript.host:
        if msg.type in (MSG_TERMINATE, MSG_START_INIT):
            board.send(session_message(msg.session_id, msg.type, msg.body))
            if msg.type == MSG_START_INIT:
                reply = board.receive()
                assert reply.type == MSG_START_REPLY, f"handshake answered with type {reply.type}"
                assert reply.session_id & 0xFF == msg.session_id & 0xFF
                session_id = reply.session_id
            continue
        if msg.type != MSG_NORMAL:
            continue
        assert session_id is not None, "the transcript sends RPC before its handshake"
        length = struct.unpack_from("<Q", msg.body)[0]
        raw = msg.body[8:]
        assert length == len(raw), "the recorded request is not one whole RPC packet"
        request = parse_packet(raw)
        where = f"request #{checked} (RPC code {request.code})"
        rewritten = handles.rewrite(raw, request.handle_positions, where)
        board.send(session_message(session_id, MSG_NORMAL, rpc_packet(rewritten)))
        if request.code == RPC_SHUTDOWN:
            break
        expected = next(replies, None)
        assert expected is not None, f"{where}: the recording has no reply for it"
        actual = board.receive(timeout=300)
        assert actual.type == MSG_NORMAL and actual.session_id == session_id
        compare_reply(checked, request, parse_packet(expected.body[8:]),
                      parse_packet(actual.body[8:]), handles)
        checked += 1
    return checked
