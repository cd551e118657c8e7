"""A TCP socket (a board behind a serial-to-TCP bridge; loopback in tests)."""

from __future__ import annotations

import socket

from utvm.transport.base import Transport, TransportClosed


class TcpTransport(Transport):
    def __init__(self, host: str, port: int, connect_timeout: float = 5.0) -> None:
        try:
            self.sock = socket.create_connection((host, port), timeout=connect_timeout)
        except OSError as e:
            raise TransportClosed(f"cannot connect to {host}:{port}: {e.strerror or e}") from e
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.name = f"{host}:{port}"
        self.hint = "is the bridge or board listening there?"

    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(max_bytes)
        except TimeoutError as e:
            raise self.timeout_error("read", timeout or 0) from e
        except OSError as e:
            raise TransportClosed(f"{self.name}: {e.strerror or e}") from e
        if not data:
            raise TransportClosed(f"{self.name} closed the connection")
        return data

    def write(self, data: bytes, timeout: float | None) -> None:
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
        except TimeoutError as e:
            raise self.timeout_error("write", timeout or 0) from e
        except OSError as e:
            raise TransportClosed(f"{self.name}: {e.strerror or e}") from e

    def close(self) -> None:
        self.sock.close()
