"""The host "board": start runtime/host_board for a model and talk to it over a pipe or PTY."""

from __future__ import annotations

import re
import select
import subprocess
import time

from utvm.device_text import printable
from utvm.errors import UtvmError
from utvm.host.build import build_host_board
from utvm.mlf.model import ModelLibrary
from utvm.transport import PtyTransport, SubprocessTransport, Transport

_PTY_LINE = re.compile(rb"pty (\S+)")


class HostBoardPty(PtyTransport):
    """A PTY transport that also owns the host board process behind it."""

    def __init__(self, path: str, proc: subprocess.Popen) -> None:
        super().__init__(path)
        self.proc = proc

    def close(self) -> None:
        super().close()
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)


def start_host_board(mlf: ModelLibrary, link: str = "pipe", sanitize: bool = False,
                     verbose: bool = False) -> Transport:
    """Builds (or reuses) the host board for `mlf` and starts it; returns the open link."""
    board = build_host_board(mlf, sanitize=sanitize, verbose=verbose)
    if link == "pipe":
        transport: Transport = SubprocessTransport([str(board)])
        transport.firmware = str(board)
        return transport
    if link != "pty":
        raise UtvmError(f"unknown host board link {link!r}: use 'pipe' or 'pty'")
    proc = subprocess.Popen([str(board), "--pty"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if ready:
            line = proc.stderr.readline()
            seen += line
            match = _PTY_LINE.search(line)
            if match:
                pty = HostBoardPty(match.group(1).decode(), proc)
                pty.firmware = str(board)
                return pty
        if proc.poll() is not None:
            break
    proc.kill()
    shown = printable(seen.decode(errors="replace"), multiline=True)
    raise UtvmError(f"the host board did not report its PTY: {shown}")
