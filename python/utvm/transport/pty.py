"""A pseudo-terminal path (a simulated board's UART, e.g. native_sim's /dev/pts/N)."""

from __future__ import annotations

import os
import tty

from utvm.transport.base import Transport, TransportClosed
from utvm.transport.fd_io import read_fd, write_fd


class PtyTransport(Transport):
    def __init__(self, path: str) -> None:
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        except OSError as e:
            raise TransportClosed(f"cannot open {path}: {e.strerror}. Is the simulated board "
                                  "still running?") from e
        tty.setraw(self.fd)  # no echo, no line discipline: the protocol is binary
        self.name = path
        self.hint = "is the simulated board still running, and is it the RPC server app?"

    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        return read_fd(self, self.fd, max_bytes, timeout)

    def write(self, data: bytes, timeout: float | None) -> None:
        write_fd(self, self.fd, data, timeout)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
