"""Session layer, initiator side: u16 session id | u8 type | body over framing.

The host starts a session (Terminate, then StartSessionInit with its nonce) and retries
until the device replies; afterwards each Normal message carries one RPC packet. Device
logs (type 3) may arrive at any time and go to the `utvm.remote` logger.
"""

from __future__ import annotations

import logging
import os
import struct
import time

from utvm.errors import UtvmError
from utvm.rpc.framing import Unframer, encode_frame
from utvm.transport.base import Transport, TransportTimeout

START_INIT, START_REPLY, TERMINATE, LOG, NORMAL = 0x00, 0x01, 0x02, 0x03, 0x10
VERSION = 1
REMOTE_LOG = logging.getLogger("utvm.remote")


class SessionError(UtvmError):
    """The session could not be established or was lost."""


class SessionReset(SessionError):
    """The device terminated the session: it rebooted or was reset."""


def next_nonce(n: int) -> int:
    """TVM's nonce step: rotate left by 5 (8 bits), add one, never zero."""
    v = ((n << 5) | (n >> 5)) + 1 & 0xFF
    return v or 1


class Session:
    def __init__(self, transport: Transport, nonce: int | None = None,
                 max_payload: int = 1 << 24) -> None:
        self.transport = transport
        self.nonce = nonce if nonce is not None else (os.urandom(1)[0] or 1)
        self.session_id = 0
        self.established = False
        self.unframer = Unframer(max_payload)
        self._pending: list[bytes] = []
        self._first_frame = True

    # -- sending ---------------------------------------------------------------------------
    def _send(self, session_id: int, msg_type: int, body: bytes, timeout: float | None) -> None:
        frame = encode_frame(struct.pack("<HB", session_id, msg_type) + body, self._first_frame)
        self._first_frame = False
        self.transport.write(frame, timeout)

    def send(self, packet: bytes, timeout: float | None = 10.0) -> None:
        if not self.established:
            raise SessionError("no session: call start() first")
        self._send(self.session_id, NORMAL, packet, timeout)

    # -- receiving -------------------------------------------------------------------------
    def _next_message(self, deadline: float | None) -> tuple[int, int, bytes]:
        while not self._pending:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise self.transport.timeout_error("waiting for the device", 0)
            self._pending.extend(self.unframer.feed(self.transport.read(1 << 16, left)))
        payload = self._pending.pop(0)
        if len(payload) < 3:
            return -1, -1, b""
        session_id, msg_type = struct.unpack_from("<HB", payload)
        return session_id, msg_type, payload[3:]

    def _log(self, body: bytes) -> None:
        if body:
            REMOTE_LOG.info("remote: %s", body.decode(errors="replace"))

    def receive(self, timeout: float | None = 10.0) -> bytes:
        """The next RPC packet of this session; logs are logged on the way."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                session_id, msg_type, body = self._next_message(deadline)
            except TransportTimeout as e:
                raise type(e)(f"no reply within {timeout:g} s from {self.transport.name}. "
                              f"Check: {self.transport.hint}") from e
            if msg_type == LOG:
                self._log(body)
            elif msg_type == TERMINATE and self.established:
                self.established = False
                raise SessionReset(f"{self.transport.name} terminated the session: the device "
                                   "reset or rebooted. Open a new session to continue.")
            elif msg_type == NORMAL and session_id == self.session_id and self.established:
                return body

    # -- handshake -------------------------------------------------------------------------
    def start(self, retry_timeout: float = 2.0, start_timeout: float = 10.0) -> None:
        """Terminate + StartSessionInit, retried every retry_timeout until start_timeout."""
        begin = time.monotonic()
        while True:
            self._send(0, TERMINATE, b"", retry_timeout)
            self.nonce = next_nonce(self.nonce)
            self._send(self.nonce, START_INIT, bytes((VERSION,)), retry_timeout)
            deadline = min(time.monotonic() + retry_timeout, begin + start_timeout)
            try:
                while True:
                    session_id, msg_type, body = self._next_message(deadline)
                    if msg_type == LOG:
                        self._log(body)
                    elif (msg_type == START_REPLY and session_id & 0xFF == self.nonce
                          and session_id >> 8 and body[:1] == bytes((VERSION,))):
                        self.session_id = session_id
                        self.established = True
                        return
            except TransportTimeout:
                if time.monotonic() - begin >= start_timeout:
                    raise TransportTimeout(
                        f"session start handshake with {self.transport.name} failed after "
                        f"{start_timeout:g} s. Check: {self.transport.hint}") from None
