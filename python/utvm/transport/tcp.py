"""A TCP socket: a board serving RPC over TCP (CONFIG_UTVM_RPC_TCP), a board behind a
serial-to-TCP bridge, or a loopback peer in tests."""

from __future__ import annotations

import select
import socket
import time

from utvm.transport.base import SIMULATOR_TIMEOUTS, Transport, TransportClosed

_RETRY_PAUSE_S = 0.2
# How long a fresh connection is watched for being closed at once (a forwarder such as
# QEMU's user networking accepts it, then closes it when the board does not listen yet).
_SETTLE_S = 0.3


class TcpTransport(Transport):
    timeouts = SIMULATOR_TIMEOUTS

    def __init__(self, host: str, port: int, connect_timeout: float = 5.0,
                 boot_wait: float = 0.0) -> None:
        """``boot_wait``: seconds to keep trying while the connection is refused or closed at
        once (a board still booting); 0 tries once."""
        self.host, self.port, self.connect_timeout = host, port, connect_timeout
        self.boot_wait = boot_wait
        self.name = f"tcp://{host}:{port}"
        self.hint = f"is the bridge or board listening on {host}:{port}, and is it the RPC server?"
        self.sock: socket.socket | None = None

    def _open(self) -> None:
        deadline = time.monotonic() + self.boot_wait
        attempts = 0
        while True:
            attempts += 1
            failure = self._try_connect()
            if failure is None:
                return
            if time.monotonic() + _RETRY_PAUSE_S > deadline:
                waited = f" after {attempts} attempts in {self.boot_wait:g} s" \
                    if self.boot_wait else ""
                raise TransportClosed(f"cannot connect to {self.name}{waited}: {failure}. "
                                      f"Check: {self.hint}")
            time.sleep(_RETRY_PAUSE_S)

    def _try_connect(self) -> str | None:
        """Connects; None on success, else why not."""
        try:
            sock = socket.create_connection((self.host, self.port),
                                            timeout=self.connect_timeout)
        except OSError as e:
            return str(e.strerror or e)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.boot_wait and _closed_at_once(sock):
            sock.close()
            return "the connection was closed at once (is the board still starting?)"
        self.sock = sock
        return None

    def _close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
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


def _closed_at_once(sock: socket.socket) -> bool:
    """True when the peer closes (or resets) a new connection within a moment; bytes it sends
    meanwhile stay unread."""
    readable, _, _ = select.select([sock], [], [], _SETTLE_S)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True
