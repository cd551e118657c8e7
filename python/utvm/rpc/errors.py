"""Errors of the RPC stack, each saying what went wrong and what to check."""

from __future__ import annotations

from utvm.device_text import printable
from utvm.errors import UtvmError
from utvm.rpc.error_codes import explain
from utvm.transport.base import TransportClosed, TransportTimeout


class ProtocolError(UtvmError):
    """Bytes that do not follow the wire protocol (malformed packet, unexpected reply)."""


class RemoteError(UtvmError):
    """The device answered a request with an Exception; ``remote_message`` is its text."""

    def __init__(self, remote_message: str, request: str = "") -> None:
        self.remote_message = remote_message
        self.request = request
        where = f" during {request}" if request else ""
        # Shown escaped: the device's text must not drive the user's terminal.
        text = explain(printable(remote_message)) if remote_message else (
            "(the device gave no message)")
        super().__init__(f"the device reported an error{where}: {text}")


class FunctionNotFound(UtvmError):
    """The device has no function of that name (global, or in a module)."""


class SessionError(UtvmError):
    """No session could be established, or it is not usable."""


class SessionReset(SessionError):
    """The device dropped the session (it rebooted or was reset); open a new session."""


class DamagedReply(SessionError):
    """A frame failed its CRC check while a reply was awaited: the link damages bytes, and the
    reply is lost. Open a new session (``utvm.rpc.recovery`` does, and redoes the work)."""


class LinkFailed(SessionError):
    """The link kept failing: new sessions were tried as often as allowed, and did not help."""


__all__ = [
    "DamagedReply",
    "FunctionNotFound",
    "LinkFailed",
    "ProtocolError",
    "RemoteError",
    "SessionError",
    "SessionReset",
    "TransportClosed",
    "TransportTimeout",
]
