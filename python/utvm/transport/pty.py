"""A pseudo-terminal path: a simulated board's UART (native_sim, QEMU ``-serial pty``)."""

from __future__ import annotations

import os
import tty

from utvm.transport.base import SIMULATOR_TIMEOUTS, Transport, TransportClosed
from utvm.transport.fd_io import FdChannel


class PtyTransport(Transport):
    timeouts = SIMULATOR_TIMEOUTS
    buffers_requests = True  # the kernel's buffer; the board reads it when ready

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = path
        self.hint = (f"is the simulated board still running, is {path} the UART it reported, and "
                     "does it run the RPC server app?")
        self.fd = -1
        self._channel: FdChannel | None = None

    def _open(self) -> None:
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as e:
            raise TransportClosed(f"cannot open {self.path}: {e.strerror}. Is the simulated "
                                  "board still running?") from e
        tty.setraw(self.fd)  # binary protocol: no echo, no line editing, no CR/LF mapping
        self._channel = FdChannel(self, self.fd, self.fd)

    def _close(self) -> None:
        fd, self.fd, self._channel = self.fd, -1, None
        os.close(fd)

    def _read(self, n: int, timeout: float | None) -> bytes:
        return self._channel.read(n, timeout)

    def _write(self, data: bytes, timeout: float | None) -> None:
        self._channel.write(data, timeout)
