"""The transport interface: bytes in and out with timeouts, and a name for messages."""

from __future__ import annotations

import abc

from utvm.errors import UtvmError


class TransportTimeout(UtvmError):
    """Nothing arrived (or could be sent) in time."""


class TransportClosed(UtvmError):
    """The other end went away: device unplugged, process exited, socket closed."""


class Transport(abc.ABC):
    """A byte link to a board. `read` returns at least one byte or raises."""

    #: What to call the link in messages, e.g. "/dev/ttyACM0" or "host board (pid 42)".
    name: str = "transport"
    #: What a user should check when the link is silent.
    hint: str = "is the board running the utvm RPC server?"

    @abc.abstractmethod
    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        """Up to max_bytes; raises TransportTimeout after `timeout` seconds (None: wait)."""

    @abc.abstractmethod
    def write(self, data: bytes, timeout: float | None) -> None:
        """All of data, or raises."""

    @abc.abstractmethod
    def close(self) -> None:
        """Releases the link; safe to call twice."""

    def timeout_error(self, what: str, seconds: float) -> TransportTimeout:
        return TransportTimeout(f"{what}: no answer from {self.name} after {seconds:g} s. "
                                f"Check: {self.hint}")

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
