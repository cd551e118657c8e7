"""Session layer of the microTVM wire protocol (wire-protocol doc §3).

Every framed payload starts with a 3-byte header: ``u16 LE session_id | u8 message_type``.
The session id is ``initiator_nonce | responder_nonce << 8``. ``SessionStateMachine`` is the
state machine of §3.4, the same on both sides and free of I/O; ``SessionLayer`` is the host
side on a transport: handshake with TVM's retry rules (§3.6), timeouts (§3.8), device logs to
the ``utvm.remote`` logger, and a clear ``SessionReset`` when the device drops the session.
"""

from __future__ import annotations

import logging
import os
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from utvm.device_text import printable
from utvm.rpc.errors import DamagedReply, SessionError, SessionReset
from utvm.rpc.framing import Framer, Unframer
from utvm.transport.base import Transport, TransportTimeout, TransportTimeouts

VERSION = 1  # Session::kVersion
HEADER = struct.Struct("<HB")
DEFAULT_MAX_PAYLOAD = 1 << 24  # far above any real message; bounds what a bad length can cost
READ_SIZE = 1 << 16  # bytes asked of the transport per read: a pipe's whole buffer
REMOTE_LOG = logging.getLogger("utvm.remote")
_LOG = logging.getLogger(__name__)


class MessageType(IntEnum):
    START_SESSION_INIT = 0x00
    START_SESSION_REPLY = 0x01
    TERMINATE_SESSION = 0x02
    LOG = 0x03
    NORMAL = 0x10


class SessionState(IntEnum):
    RESET = 0
    NO_SESSION = 1
    START_SENT = 2
    ESTABLISHED = 3


# Plain ints for the hot path (comparing with an IntEnum member costs a lookup each time).
_NORMAL = int(MessageType.NORMAL)
_ESTABLISHED = int(SessionState.ESTABLISHED)


def next_nonce(nonce: int) -> int:
    """TVM's nonce step, in 8-bit arithmetic: ((n << 5) | (n >> 5)) + 1, and never 0."""
    value = ((((nonce << 5) & 0xFF) | (nonce >> 5)) + 1) & 0xFF
    return value or 1


def seed_for_nonce(nonce: int) -> int:
    """A seed whose next nonce is ``nonce`` (to reproduce a recorded session id).

    The step drops bits 3 and 4 of its input, so only nonces whose ``nonce - 1`` has those
    bits clear (and 1) are reachable.
    """
    if not 1 <= nonce <= 0xFF:
        raise ValueError(f"nonce {nonce} is not a live nonce (1..255)")
    for seed in range(256):
        if next_nonce(seed) == nonce:
            return seed
    raise ValueError(f"nonce 0x{nonce:02x} is never produced by TVM's nonce step")


@dataclass(frozen=True)
class SessionMessage:
    session_id: int
    message_type: int
    body: bytes = b""

    def encode(self) -> bytes:
        return HEADER.pack(self.session_id, self.message_type) + self.body

    @classmethod
    def decode(cls, payload: bytes) -> SessionMessage | None:
        """None for payloads shorter than the header (TVM drops them silently)."""
        if len(payload) < HEADER.size:
            return None
        session_id, message_type = HEADER.unpack_from(payload)
        return cls(session_id, _message_type(message_type), payload[HEADER.size:])


def _message_type(value: int) -> int:
    try:
        return MessageType(value)
    except ValueError:
        return value


# -- events of the state machine ------------------------------------------------------------
@dataclass(frozen=True)
class Established:
    session_id: int
    by_peer: bool  # the peer sent the StartSessionInit and this side replied
    renewed: bool = False  # a session was already established (the peer started over)


@dataclass(frozen=True)
class Terminated:
    """The peer sent TerminateSession while a session was established."""


@dataclass(frozen=True)
class Lost:
    """A StartSessionReply arrived while established: TVM drops to the reset state."""


@dataclass(frozen=True)
class Log:
    text: bytes


@dataclass(frozen=True)
class Delivered:
    message_type: int
    body: bytes


@dataclass(frozen=True)
class Ignored:
    reason: str


Event = Established | Terminated | Lost | Log | Delivered | Ignored


class SessionStateMachine:
    """§3.4 for either side. Outgoing messages go to ``send``; ``handle`` returns one event."""

    def __init__(self, send: Callable[[SessionMessage], None]) -> None:
        self._send = send
        self.state = SessionState.RESET
        self.session_id = 0
        self.local_nonce = 0

    def initialize(self, seed: int) -> None:
        """Takes a nonce seed and announces a clean slate (TerminateSession, id 0)."""
        self.local_nonce = seed & 0xFF
        self.terminate_session()

    def terminate_session(self) -> None:
        self.session_id = 0
        self.state = SessionState.NO_SESSION
        self._send(SessionMessage(0, MessageType.TERMINATE_SESSION))

    def start_session(self) -> None:
        """Initiator: new nonce, StartSessionInit with id = nonce."""
        if self.state == SessionState.RESET:
            raise SessionError("the session layer must be initialized before starting a session")
        self.local_nonce = next_nonce(self.local_nonce)
        self.session_id = self.local_nonce
        self._send(SessionMessage(self.session_id, MessageType.START_SESSION_INIT,
                                  bytes((VERSION,))))
        self.state = SessionState.START_SENT

    def _reply(self, initiator: int) -> None:
        self.local_nonce = next_nonce(self.local_nonce)
        self.session_id = initiator | self.local_nonce << 8
        self._send(SessionMessage(self.session_id, MessageType.START_SESSION_REPLY,
                                  bytes((VERSION,))))

    def handle(self, payload: bytes) -> Event:
        msg = SessionMessage.decode(payload)
        if msg is None:
            return Ignored(f"payload of {len(payload)} bytes is shorter than the session header")
        kind = msg.message_type
        if kind == MessageType.START_SESSION_INIT:
            return self._on_init(msg)
        if kind == MessageType.START_SESSION_REPLY:
            return self._on_reply(msg)
        if kind == MessageType.TERMINATE_SESSION:
            if self.state == SessionState.ESTABLISHED:
                self.state = SessionState.NO_SESSION
                return Terminated()
            return Ignored("TerminateSession outside a session")
        if kind == MessageType.LOG:
            if msg.session_id in (0, self.session_id):
                return Log(msg.body)
            return Ignored(f"log with foreign session id 0x{msg.session_id:04x}")
        if self.state == SessionState.ESTABLISHED and msg.session_id == self.session_id:
            return Delivered(kind, msg.body)
        return Ignored(f"message type 0x{int(kind):02x} for session 0x{msg.session_id:04x} "
                       f"(state {self.state.name}, session 0x{self.session_id:04x})")

    def _on_init(self, msg: SessionMessage) -> Event:
        initiator = msg.session_id & 0xFF
        if initiator == 0 or not msg.body:
            return Ignored("StartSessionInit without an initiator nonce or version")
        if self.state in (SessionState.RESET, SessionState.NO_SESSION):
            self._reply(initiator)
            self.state = SessionState.ESTABLISHED
            return Established(self.session_id, by_peer=True)
        if self.state == SessionState.START_SENT:  # both sides initiated: lower nonce wins
            if initiator < self.local_nonce and msg.body[0] == VERSION:
                self._reply(initiator)
                self.state = SessionState.ESTABLISHED
                return Established(self.session_id, by_peer=True)
            if initiator == self.local_nonce:
                self.start_session()
                return Ignored("simultaneous StartSessionInit with the same nonce; restarted")
            return Ignored("simultaneous StartSessionInit with a higher nonce")
        self._reply(initiator)
        return Established(self.session_id, by_peer=True, renewed=True)

    def _on_reply(self, msg: SessionMessage) -> Event:
        initiator, responder = msg.session_id & 0xFF, msg.session_id >> 8
        if responder == 0 or not msg.body:
            return Ignored("StartSessionReply without a responder nonce or version")
        if self.state == SessionState.START_SENT:
            if initiator == self.local_nonce and msg.body[0] == VERSION:
                self.session_id = msg.session_id
                self.state = SessionState.ESTABLISHED
                return Established(self.session_id, by_peer=False)
            return Ignored(f"StartSessionReply for nonce 0x{initiator:02x}, version "
                           f"{msg.body[0]} (expected 0x{self.local_nonce:02x}, version {VERSION})")
        if self.state == SessionState.ESTABLISHED:
            self.state = SessionState.RESET
            return Lost()
        return Ignored("StartSessionReply without a pending StartSessionInit")


def _limit(seconds: float | None) -> float | None:
    """TVM's convention for session timeouts: 0 (or None) means no limit."""
    return seconds if seconds else None


def _random_seed() -> int:
    return os.urandom(1)[0] or 1


class SessionLayer:
    """The host end of a session over a transport; RPC packets in, RPC packets out.

    ``seed`` fixes the nonce seed of the first attempt (an int, e.g. ``seed_for_nonce(0x27)``
    to reproduce a recorded session) or supplies every seed (a callable); by default seeds are
    random like TVM's. ``timeouts`` defaults to the transport's.
    """

    def __init__(self, transport: Transport, *, timeouts: TransportTimeouts | None = None,
                 seed: int | Callable[[], int] | None = None,
                 max_payload: int = DEFAULT_MAX_PAYLOAD,
                 on_log: Callable[[str], None] | None = None) -> None:
        self.transport = transport
        self.timeouts = timeouts or transport.timeouts
        self.framer = Framer()
        self.unframer = Unframer(max_payload)
        self.machine = SessionStateMachine(self._write_message)
        self.ignored_messages = 0
        self._seed = seed
        self._on_log = on_log
        # Events, or (the common case, kept cheap) the body of a Normal message of this session.
        self._events: deque[Event | bytes] = deque()
        self._reset_reason = ""  # why the device dropped the session, once it has
        self._desync_reason = ""  # why requests and replies may no longer pair up

    # -- state ------------------------------------------------------------------------------
    @property
    def session_id(self) -> int:
        return self.machine.session_id if self.established else 0

    @property
    def established(self) -> bool:
        return (self.machine.state == SessionState.ESTABLISHED and not self._reset_reason
                and not self._desync_reason)

    @property
    def name(self) -> str:
        return self.transport.name

    # -- handshake --------------------------------------------------------------------------
    def start(self, retry_timeout: float | None = None, start_timeout: float | None = None
              ) -> None:
        """Opens the transport and establishes a session (Terminate + StartSessionInit).

        Each attempt waits ``retry_timeout`` s for the device's reply, then starts over with a
        new nonce; after an attempt that ends ``start_timeout`` s or more after the first began,
        ``TransportTimeout`` is raised. 0 disables either limit (defaults: the transport's).
        """
        retry = _limit(self.timeouts.session_start_retry_timeout_sec
                       if retry_timeout is None else retry_timeout)
        overall = _limit(self.timeouts.session_start_timeout_sec
                         if start_timeout is None else start_timeout)
        self.transport.open()
        self._events.clear()
        self._reset_reason = self._desync_reason = ""
        begin = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            self.machine.initialize(self._next_seed(attempts))
            self.machine.start_session()
            window = retry if retry is not None else overall
            window_end = None if window is None else time.monotonic() + window
            if self._await_established(window_end):
                return
            if overall is not None and window_end - begin >= overall:
                raise TransportTimeout(
                    f"session start handshake with {self.name} failed after "
                    f"{time.monotonic() - begin:.1f} s ({attempts} attempts, no valid "
                    f"StartSessionReply). Check: {self.transport.hint}")

    def _next_seed(self, attempt: int) -> int:
        if callable(self._seed):
            return self._seed() & 0xFF
        if self._seed is not None:
            # A fixed seed makes retries deterministic too: they continue the nonce sequence.
            return self._seed if attempt == 1 else self.machine.local_nonce
        return _random_seed()

    def _await_established(self, deadline: float | None) -> bool:
        while True:
            while self._events:
                event = self._events.popleft()
                if isinstance(event, Established):
                    return True
                self._note(event)
            try:
                self._pump(deadline)
            except TransportTimeout:
                return False  # this attempt's window is over

    # -- RPC packets ------------------------------------------------------------------------
    def send(self, packet: bytes | tuple[bytes, ...], timeout: float | None = None) -> None:
        """Sends one RPC packet as a Normal message (timeout: the established timeout).

        A packet may come in parts (e.g. a copy's head and data), so big data is copied once,
        into the frame."""
        machine = self.machine
        if machine.state != _ESTABLISHED or self._reset_reason or self._desync_reason:
            self._require_session()  # raises, saying why
        if timeout is None:
            timeout = self.timeouts.session_established_timeout_sec or None
        header = HEADER.pack(machine.session_id, _NORMAL)
        parts = (header, *packet) if type(packet) is tuple else (header, packet)
        self._write(self.framer.frame(parts), timeout)

    def receive(self, timeout: float | None = None,
                waiting_for: str | Callable[[], str] = "a reply") -> bytes:
        """The next RPC packet of this session, logs handled on the way.

        ``timeout`` bounds the whole wait (default: the established timeout; 0 waits forever),
        as in TVM: device logs arriving meanwhile do not extend it. ``waiting_for`` names the
        awaited reply in a timeout's message (a callable is only called then).
        """
        if self.machine.state != _ESTABLISHED or self._reset_reason or self._desync_reason:
            self._require_session()  # raises, saying why
        events = self._events
        if events and type(events[0]) is bytes:
            return events.popleft()  # already here
        seconds = self.timeouts.session_established_timeout_sec if timeout is None else timeout
        limit = _limit(seconds)
        deadline = None if limit is None else time.monotonic() + limit
        stats = self.unframer.stats
        damaged = stats.bad_crc
        while True:
            while events:
                event = events.popleft()
                if type(event) is bytes:
                    return event
                if isinstance(event, Delivered):
                    if event.message_type == MessageType.NORMAL:
                        return event.body
                    self.ignored_messages += 1
                    continue
                self._note(event)
                if self._reset_reason:
                    raise SessionReset(self._reset_reason)
            if stats.bad_crc != damaged:
                # The device sends nothing unasked but logs: the damaged frame was most
                # likely the reply, which will not come again. Say so now, not at the timeout.
                if callable(waiting_for):
                    waiting_for = waiting_for()
                self._desync_reason = (
                    f"a frame from {self.name} failed its CRC check while waiting for "
                    f"{waiting_for}, so replies can no longer be matched to requests: open a "
                    "new session")
                raise DamagedReply(
                    f"a frame from {self.name} failed its CRC check while waiting for "
                    f"{waiting_for}: the link damages bytes (noise, a loose cable, a wrong "
                    "baud rate?)")
            try:
                self._pump(deadline)
            except TransportTimeout as e:
                if callable(waiting_for):
                    waiting_for = waiting_for()
                within = f" within {limit:g} s" if limit is not None else ""
                # A late reply would be taken for the next request's: no more requests.
                self._desync_reason = (
                    f"an earlier request to {self.name} timed out ({waiting_for}), so replies "
                    "can no longer be matched to requests: open a new session")
                raise TransportTimeout(
                    f"no reply from {self.name}{within} while waiting for {waiting_for}. "
                    f"Check: {self.transport.hint} (if the device is merely slow, raise the "
                    "established-session timeout)") from e

    def resync(self, quiet: float, longest: float = 5.0) -> int:
        """After a lost request or reply: lets requests go again on this session.

        Whatever arrives until the link has been silent for ``quiet`` s (at most ``longest``
        s) is dropped: a late or repeated reply must not be taken for the next request's.
        The next frame starts with the lone FE, which cancels an escape byte the device may
        hold from a cut frame. Returns the replies dropped; raises ``SessionReset`` if the
        device reset the session meanwhile (then only a new session helps).
        """
        dropped = 0
        end = time.monotonic() + longest
        while time.monotonic() < end:
            try:
                self._pump(min(end, time.monotonic() + quiet))
            except TransportTimeout:
                break
        while self._events:
            event = self._events.popleft()
            if type(event) is bytes or isinstance(event, Delivered):
                dropped += 1
            else:
                self._note(event)
        if self._reset_reason:
            raise SessionReset(self._reset_reason)
        self._desync_reason = ""
        self.framer.reset()
        return dropped

    def close(self) -> None:
        """Closes the transport (TVM sends nothing at session end)."""
        self.transport.close()

    # -- internals --------------------------------------------------------------------------
    def _require_session(self) -> None:
        if self._reset_reason:
            raise SessionReset(self._reset_reason)
        if self._desync_reason:
            raise SessionError(self._desync_reason)
        if self.machine.state != SessionState.ESTABLISHED:
            raise SessionError(f"no session with {self.name}: call start() (or "
                               "utvm.rpc.Session.open()) first")

    def _note(self, event: Event) -> None:
        """Handles an event that is not the awaited one: logs, resets, dropped messages."""
        if isinstance(event, Log):
            self._log(event.text)
        elif isinstance(event, Terminated):
            self._reset_reason = (f"{self.name} terminated the session: the device rebooted or "
                                  "was reset (its handles and tensors are gone). Open a new "
                                  "session to continue.")
        elif isinstance(event, Lost):
            self._reset_reason = (f"{self.name} answered a session start that this host did not "
                                  "send; the session is lost. Open a new session.")
        elif isinstance(event, Established):  # only reachable while established
            self._reset_reason = (f"{self.name} started a new session on its own: the device "
                                  "rebooted or was reset (its handles and tensors are gone). "
                                  "Open a new session to continue.")
        elif isinstance(event, Ignored):
            self.ignored_messages += 1
            _LOG.debug("%s: ignored %s", self.name, event.reason)
        elif isinstance(event, Delivered | bytes):
            self.ignored_messages += 1

    def _log(self, text: bytes) -> None:
        if not text:
            return
        line = printable(text.decode("utf-8", "surrogateescape"))  # no raw ESC, BEL, ...
        if self._on_log is not None:
            self._on_log(line)
        else:
            REMOTE_LOG.info("remote: %s", line)

    def _pump(self, deadline: float | None) -> None:
        """One transport read; complete messages become events."""
        left = None
        if deadline is not None:
            left = deadline - time.monotonic()
            if left < 0:
                left = 0.0
        data = self.transport.read(READ_SIZE, left)
        machine = self.machine
        for payload in self.unframer.feed(data):
            # A Normal message of the established session is what the state machine would
            # deliver as is; skipping it (and its event objects) saves time on every reply.
            if (len(payload) >= 3 and payload[2] == _NORMAL and machine.state == _ESTABLISHED
                    and payload[0] | payload[1] << 8 == machine.session_id):
                self._events.append(payload[3:])
            else:
                self._events.append(machine.handle(payload))

    def _write_message(self, message: SessionMessage) -> None:
        """The state machine's own messages (handshake) use the session-start timeout."""
        self._write(self.framer.frame(message.encode()),
                    _limit(self.timeouts.session_start_timeout_sec))

    def _write(self, data: bytes, timeout: float | None) -> None:
        try:
            self.transport.write(data, timeout)
        except Exception:
            self.framer.reset()  # TVM's framer re-sends its lone FE after a failed write
            raise
