"""A board that is a local process speaking the protocol on its stdin/stdout."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from utvm.transport.base import Transport
from utvm.transport.fd_io import read_fd, write_fd


class SubprocessTransport(Transport):
    def __init__(self, argv: Sequence[str]) -> None:
        self.proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, bufsize=0)
        self.name = f"{argv[0]} (pid {self.proc.pid})"
        self.hint = "did the process exit? its stderr is shown in the error"

    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        return read_fd(self, self.proc.stdout.fileno(), max_bytes, timeout)

    def write(self, data: bytes, timeout: float | None) -> None:
        write_fd(self, self.proc.stdin.fileno(), data, timeout)

    def stderr_text(self) -> str:
        if self.proc.poll() is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr, self.proc.stdin):
            if stream and not stream.closed:
                stream.close()
