"""open/read/write/close_transport on top of utvm's transports, with TVM's timeout rules.

TVM's session layer calls ``read_transport(n, timeout_sec)`` (1..n bytes; ``None`` blocks,
``0`` only takes what is there, else seconds) and ``write_transport(data, timeout_sec)``
(all of it, or an error). "Nothing in time" must be ``IoTimeoutError`` (TVM treats it as
"no data yet" and retries) and a gone or unopened link ``TransportClosedError``; those are
exactly utvm's ``TransportTimeout`` and ``TransportClosed``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack

from utvm.errors import UtvmError
from utvm.project_api.jsonrpc import IoTimeoutError, TransportClosedError
from utvm.transport import Transport, TransportClosed, TransportTimeout, TransportTimeouts


class TransportBridge:
    """Holds at most one open transport (and whatever keeps it alive, e.g. a simulator)."""

    def __init__(self) -> None:
        self._stack: ExitStack | None = None
        self._transport: Transport | None = None

    @property
    def is_open(self) -> bool:
        return self._transport is not None

    def open(self, link: AbstractContextManager[Transport]) -> TransportTimeouts:
        """Enters ``link`` (a context manager yielding an open transport); closes any
        transport opened before, as TVM opens a new one per session."""
        self.close()
        stack = ExitStack()
        try:
            transport = stack.enter_context(link)
        except BaseException:
            stack.close()
            raise
        self._stack, self._transport = stack, transport
        return transport.timeouts

    def close(self) -> None:
        stack, self._stack, self._transport = self._stack, None, None
        if stack is not None:
            stack.close()

    def read(self, n: int, timeout_sec: float | None) -> str:
        if n < 1:
            raise UtvmError(f"read_transport: n must be at least 1, not {n}")
        with self._translated("read_transport") as transport:
            data = transport.read(n, _timeout(timeout_sec))
        return base64.b85encode(data).decode("ascii")

    def write(self, data: str, timeout_sec: float | None) -> None:
        try:
            raw = base64.b85decode(data.encode("ascii"))
        except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
            raise UtvmError(f"write_transport: data is not base85 text ({exc})") from exc
        with self._translated("write_transport") as transport:
            transport.write(raw, _timeout(timeout_sec))

    @contextlib.contextmanager
    def _translated(self, method: str) -> Iterator[Transport]:
        if self._transport is None:
            raise TransportClosedError(f"{method}: no transport is open; call "
                                       "open_transport first")
        try:
            yield self._transport
        except TransportTimeout as exc:
            raise IoTimeoutError(str(exc)) from exc
        except TransportClosed as exc:
            self.close()  # the link is gone: the next session opens a new one
            raise TransportClosedError(str(exc)) from exc


def _timeout(timeout_sec: float | None) -> float | None:
    if timeout_sec is not None and timeout_sec < 0:
        raise UtvmError(f"timeout_sec must be null or at least 0, not {timeout_sec}")
    return timeout_sec
