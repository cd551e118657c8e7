"""Building and driving the host board (runtime/host_board) from tests."""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import subprocess
import time
from pathlib import Path

from wire_codec import MSG_LOG, Message, Unframer, frame

from testsupport import REPO_ROOT, cmake_build

HOST_BOARD_SOURCE = REPO_ROOT / "runtime" / "host_board"


def build_host_board(build_root: Path, mlf: Path, *, sanitize: bool = True,
                     max_packet: int = 2048, cmsis_nn: Path | None = None) -> Path:
    """Builds utvm_host_board for one MLF (once per MLF and options); returns its path.
    ``cmsis_nn``: the CMSIS-NN source tree, for models that call CMSIS-NN."""
    key = hashlib.sha256(
        f"{mlf.resolve()}:{sanitize}:{max_packet}:{cmsis_nn}".encode()).hexdigest()[:12]
    out = build_root / f"host-board-{mlf.parent.name}-{mlf.name}-{key}"
    exe = out / "utvm_host_board"
    if not exe.exists():
        cmake_build(
            HOST_BOARD_SOURCE,
            out,
            UTVM_MLF_DIR=str(mlf.resolve()),
            UTVM_SANITIZE="ON" if sanitize else "OFF",
            UTVM_RPC_MAX_PACKET_SIZE=str(max_packet),
            CMAKE_BUILD_TYPE="Release",
            **({} if cmsis_nn is None else {"UTVM_CMSIS_NN_DIR": str(cmsis_nn)}),
        )
    return exe


class Board:
    """A running host board over pipes: send frames, receive session messages."""

    def __init__(self, exe: Path) -> None:
        self.exe = exe  # its ELF holds the error messages the board sends by reference
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", UBSAN_OPTIONS="print_stacktrace=1")
        self.proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.unframer = Unframer()
        self.received = bytearray()  # every byte the board wrote, as it came
        self.pending: list[Message] = []
        self.logs: list[str] = []
        self._first = True

    def send(self, payload: bytes) -> None:
        """Frames a session payload (header included) and writes it."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(frame(payload, first_after_reset=self._first))
        self.proc.stdin.flush()
        self._first = False

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def receive(self, timeout: float = 60.0, skip_logs: bool = True) -> Message:
        """The next message from the board (logs are collected aside when skip_logs)."""
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            while self.pending:
                msg = self.pending.pop(0)
                if skip_logs and msg.type == MSG_LOG:
                    self.logs.append(msg.body.decode(errors="replace"))
                    continue
                return msg
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no message from the board in {timeout}s{self._stderr_tail()}")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            data = os.read(fd, 65536)
            if not data:
                raise EOFError(f"the board exited (status {self.proc.wait()}){self._stderr_tail()}")
            self.received.extend(data)
            self.pending.extend(self.unframer.feed(data))

    def silent_for(self, seconds: float) -> bool:
        """True when the board writes nothing (but logs) within `seconds`."""
        try:
            self.receive(timeout=seconds)
        except TimeoutError:
            return True
        return False

    def _stderr_tail(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return "\nboard stderr:\n" + self.proc.stderr.read().decode(errors="replace")[-3000:]

    def close(self) -> str:
        """Ends the board; returns its stderr."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
