"""The transport interface: a byte link to a board, with TVM's timeout conventions.

``read(n, timeout)`` returns between 1 and ``n`` bytes; ``write(data, timeout)`` sends all of
``data``. For both, ``timeout=None`` waits as long as it takes, ``0`` only takes what is
possible right now, and a positive number is a limit in seconds. Running out of time raises
``TransportTimeout``; a link whose other end went away raises ``TransportClosed``.

``TransportTimeouts`` are the session-level limits TVM's Project API attaches to a transport
(wire-protocol doc §3.8); there, 0 means "no limit".
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from utvm.errors import UtvmError


class TransportTimeout(UtvmError):
    """Nothing arrived (or could be sent) in time. The message names the link and what to check."""


class TransportClosed(UtvmError):
    """The link is gone: device unplugged, process exited, socket closed, or never opened."""


@dataclass(frozen=True)
class TransportTimeouts:
    """Seconds; 0 disables a limit (as in TVM's ``TransportTimeouts``)."""

    session_start_retry_timeout_sec: float = 2.0
    session_start_timeout_sec: float = 5.0
    session_established_timeout_sec: float = 5.0


# What TVM's Zephyr Project API server returns (doc §3.8).
SERIAL_TIMEOUTS = TransportTimeouts(2.0, 5.0, 5.0)
SIMULATOR_TIMEOUTS = TransportTimeouts(2.0, 10.0, 10.0)


class Transport(abc.ABC):
    """A byte link to a board. Subclasses implement the ``_open``/``_read``/``_write``/``_close``
    primitives; this class handles open state, timeout validation and messages."""

    #: What the link is called in messages, e.g. "/dev/ttyACM0" or "./board (pid 42)".
    name: str = "transport"
    #: What a user should check when the link stays silent.
    hint: str = "is the board running the RPC server?"
    #: Session-level timeouts suited to this kind of link.
    timeouts: TransportTimeouts = SERIAL_TIMEOUTS
    #: Whether the far end keeps bytes that arrive while it is busy (an OS pipe or PTY
    #: buffer), so a short request may follow another before its reply. A board polling a
    #: real UART would lose them, so links that may end in one keep this False.
    buffers_requests: bool = False
    #: The ELF of the firmware at the far end, when the link knows it: the session reads the
    #: board's error messages from it (utvm.rpc.messages).
    firmware: str | None = None

    _is_open: bool = False

    @property
    def is_open(self) -> bool:
        return self._is_open

    def open(self) -> None:
        """Opens the link; opening an open transport does nothing."""
        if not self._is_open:
            self._open()
            self._is_open = True

    def close(self) -> None:
        """Releases the link; safe to call at any time, any number of times."""
        if self._is_open:
            self._is_open = False
            self._close()

    def read(self, n: int, timeout: float | None) -> bytes:
        """Between 1 and ``n`` bytes, waiting up to ``timeout`` seconds for the first one."""
        if not self._is_open:
            self._require_open()
        if n < 1:
            raise ValueError(f"read size must be at least 1, not {n}")
        if timeout is not None and not (type(timeout) is float and timeout >= 0.0):
            timeout = _checked(timeout)  # ints, negatives, NaN (most calls skip this)
        return self._read(n, timeout)

    def write(self, data: bytes, timeout: float | None) -> None:
        """All of ``data``, within ``timeout`` seconds in total."""
        if not self._is_open:
            self._require_open()
        if data:
            if timeout is not None and not (type(timeout) is float and timeout >= 0.0):
                timeout = _checked(timeout)
            # bytes pass through as they are: a copy per frame is measurable on fast links.
            self._write(data if type(data) is bytes else bytes(data), timeout)

    def timeout_error(self, what: str, timeout: float | None) -> TransportTimeout:
        limit = "at once" if not timeout else f"within {timeout:g} s"
        return TransportTimeout(f"{what}: nothing from {self.name} {limit}. Check: {self.hint}")

    def _require_open(self) -> None:
        if not self._is_open:
            raise TransportClosed(f"{self.name} is not open: call open() first (or use the "
                                  "transport as a context manager)")

    def __enter__(self) -> Transport:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self._is_open else "closed"
        return f"<{type(self).__name__} {self.name} ({state})>"

    @abc.abstractmethod
    def _open(self) -> None: ...

    @abc.abstractmethod
    def _close(self) -> None: ...

    @abc.abstractmethod
    def _read(self, n: int, timeout: float | None) -> bytes: ...

    @abc.abstractmethod
    def _write(self, data: bytes, timeout: float | None) -> None: ...


def _checked(timeout: float | None) -> float | None:
    if timeout is None:
        return None
    if timeout != timeout:  # NaN
        raise ValueError("timeout is NaN")
    return max(0.0, float(timeout))
