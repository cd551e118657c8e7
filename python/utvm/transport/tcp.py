"""A TCP socket: a board behind a serial-to-TCP bridge, or a loopback peer in tests."""

from __future__ import annotations

import socket
import time

from utvm.transport.base import SIMULATOR_TIMEOUTS, Transport, TransportClosed


class TcpTransport(Transport):
    timeouts = SIMULATOR_TIMEOUTS

    def __init__(self, host: str, port: int, connect_timeout: float = 5.0) -> None:
        self.host, self.port, self.connect_timeout = host, port, connect_timeout
        self.name = f"tcp://{host}:{port}"
        self.hint = f"is the bridge or board listening on {host}:{port}, and is it the RPC server?"
        self.sock: socket.socket | None = None

    def _open(self) -> None:
        try:
            self.sock = socket.create_connection((self.host, self.port),
                                                 timeout=self.connect_timeout)
        except OSError as e:
            raise TransportClosed(f"cannot connect to {self.name}: {e.strerror or e}. "
                                  f"Check: {self.hint}") from e
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _close(self) -> None:
        sock, self.sock = self.sock, None
        sock.close()

    def _read(self, n: int, timeout: float | None) -> bytes:
        assert self.sock is not None
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(n)
        except (TimeoutError, BlockingIOError) as e:
            raise self.timeout_error("read", timeout) from e
        except OSError as e:
            raise TransportClosed(f"{self.name}: {e.strerror or e}") from e
        if not data:
            raise TransportClosed(f"{self.name} closed the connection")
        return data

    def _write(self, data: bytes, timeout: float | None) -> None:
        assert self.sock is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        view = memoryview(data)
        while view:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            self.sock.settimeout(left)
            try:
                view = view[self.sock.send(view):]
            except (TimeoutError, BlockingIOError) as e:
                raise self.timeout_error(f"write ({len(data) - len(view)} of {len(data)} "
                                         "bytes sent)", timeout) from e
            except OSError as e:
                raise TransportClosed(f"{self.name}: {e.strerror or e}") from e
