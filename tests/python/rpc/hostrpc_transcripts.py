"""Reading the recorded TVM 0.18 sessions (transcript.jsonl) and replaying them to the client.

A transcript line is ``{"dir": "host_to_device" | "device_to_host", "hex": ..., "t": ...}``
or an event marker ``{"ev": "open" | "close"}``. TVM's host closes the transport before it
tries to send kShutdown, so the bytes after "close" are a shutdown frame cut short.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from utvm.rpc import codec
from utvm.rpc.framing import Unframer
from utvm.rpc.session import MessageType, SessionMessage
from utvm.transport.base import Transport

REPO_ROOT = Path(__file__).resolve().parents[3]
FIXTURES = REPO_ROOT / ".." / "shared" / "fixtures" / "tvm-0.18"
FIXTURES_MISSING = ("TVM 0.18 fixtures not found at ../shared/fixtures/tvm-0.18 next to the "
                    "repository; the recorded-session tests only run in the project workspace")
HOST, DEVICE = "host_to_device", "device_to_host"


def transcript_dirs() -> list[Path]:
    if not FIXTURES.is_dir():
        return []
    return sorted(p.parent for p in FIXTURES.glob("*/*/transcript.jsonl"))


def variant_params(kind: str | None = None) -> list[Any]:
    """pytest parameters: one per recorded session (optionally only "aot" or "graph")."""
    dirs = [d for d in transcript_dirs()
            if kind is None or (d.name == "aot_packed") == (kind == "aot")]
    if not dirs:
        return [pytest.param(None, marks=pytest.mark.skip(reason=FIXTURES_MISSING))]
    return [pytest.param(d, id=f"{d.parent.name}/{d.name}") for d in dirs]


@dataclass
class Transcript:
    chunks: list[tuple[str, bytes]]  # (direction, bytes) up to the "close" marker
    after_close: list[tuple[str, bytes]] = field(default_factory=list)

    def stream(self, direction: str) -> bytes:
        return b"".join(data for d, data in self.chunks if d == direction)


def load_transcript(path: Path) -> Transcript:
    transcript = Transcript([])
    target = transcript.chunks
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("ev") == "close":
            target = transcript.after_close
        elif "dir" in entry:
            target.append((entry["dir"], bytes.fromhex(entry["hex"])))
    return transcript


@dataclass
class Decoded:
    """One session message of a stream, with its RPC packet decoded when it carries one."""

    message: SessionMessage
    rpc: Any = None


def decode_stream(data: bytes) -> tuple[list[Decoded], Unframer]:
    unframer = Unframer()
    out = []
    for payload in unframer.feed(data):
        message = SessionMessage.decode(payload)
        assert message is not None, f"payload {payload.hex()} is shorter than a session header"
        rpc = None
        if message.message_type == MessageType.NORMAL:
            rpc = codec.decode_packet(message.body)
        out.append(Decoded(message, rpc))
    return out, unframer


class ReplayMismatch(AssertionError):
    """The client wrote bytes that differ from what TVM's host wrote."""


class ReplayTransport(Transport):
    """Plays the recorded device: serves its bytes once the host has written what preceded
    them in the recording.

    ``strict``: every host byte must equal the recording, and device bytes wait for the same
    number of host bytes. Otherwise host bytes are only recorded (for a later comparison of
    their meaning) and device bytes wait for the same number of complete host frames.
    """

    def __init__(self, transcript: Transcript, strict: bool = True,
                 name: str = "replayed-device") -> None:
        self.name, self.hint = name, "the replayed device only answers recorded requests"
        self.strict = strict
        self.expected = transcript.stream(HOST)
        self.written = bytearray()
        self._written_frames = Unframer()
        self._device: list[tuple[int, bytes]] = []  # (host bytes/frames needed first, bytes)
        host_so_far, frames = 0, Unframer()
        for direction, data in transcript.chunks:
            if direction == HOST:
                host_so_far += len(data)
                frames.feed(data)
            else:
                self._device.append((host_so_far if strict else frames.stats.frames, data))
        self._pending = bytearray()

    def _open(self) -> None:
        pass

    def _close(self) -> None:
        pass

    def _progress(self) -> int:
        return len(self.written) if self.strict else self._written_frames.stats.frames

    def _read(self, n: int, timeout: float | None) -> bytes:
        while self._device and self._device[0][0] <= self._progress():
            self._pending += self._device.pop(0)[1]
        if not self._pending:
            raise self.timeout_error("read (the recording has nothing more to say yet)", timeout)
        out = bytes(self._pending[:n])
        del self._pending[:n]
        return out

    def _write(self, data: bytes, timeout: float | None) -> None:
        start = len(self.written)
        self.written += data
        self._written_frames.feed(data)
        if self.strict and self.expected[start:len(self.written)] != bytes(data):
            offset = next(i for i in range(len(data))
                          if start + i >= len(self.expected) or
                          self.expected[start + i] != data[i])
            raise ReplayMismatch(_mismatch_report(self.expected, bytes(self.written),
                                                  start + offset))

    @property
    def device_bytes_left(self) -> int:
        return len(self._pending) + sum(len(d) for _, d in self._device)


def _mismatch_report(expected: bytes, written: bytes, offset: int) -> str:
    mine, _ = decode_stream(written)
    theirs, _ = decode_stream(expected[:len(written) + 4096])
    index = len(mine) - 1
    def show(items: list[Decoded]) -> str:
        if index >= len(items):
            return "(nothing)"
        item = items[index]
        return codec.describe(item.rpc) if item.rpc is not None else repr(item.message)
    return (f"host bytes differ from TVM's at stream offset {offset}: message #{index}: "
            f"ours {show(mine)} / TVM {show(theirs)}\n"
            f"ours {written[offset:offset + 24].hex()}\nTVM  {expected[offset:offset + 24].hex()}")
