"""A pseudo-terminal path: a simulated board's UART (native_sim, QEMU ``-serial pty``)."""

from __future__ import annotations

import os
import tty

from utvm.transport.base import SIMULATOR_TIMEOUTS, Transport, TransportClosed
from utvm.transport.fd_io import read_fd, write_fd


class PtyTransport(Transport):
    timeouts = SIMULATOR_TIMEOUTS

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = path
        self.hint = (f"is the simulated board still running, is {path} the UART it reported, and "
                     "does it run the RPC server app?")
        self.fd = -1

    def _open(self) -> None:
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as e:
            raise TransportClosed(f"cannot open {self.path}: {e.strerror}. Is the simulated "
                                  "board still running?") from e
        tty.setraw(self.fd)  # binary protocol: no echo, no line editing, no CR/LF mapping

    def _close(self) -> None:
        fd, self.fd = self.fd, -1
        os.close(fd)

    def _read(self, n: int, timeout: float | None) -> bytes:
        return read_fd(self, self.fd, n, timeout)

    def _write(self, data: bytes, timeout: float | None) -> None:
        write_fd(self, self.fd, data, timeout)
