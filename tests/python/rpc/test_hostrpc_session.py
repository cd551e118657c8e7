"""utvm.rpc.session: nonces, the §3.4 state machine, the host handshake, logs, resets,
timeouts."""

from __future__ import annotations

import logging
import time

import pytest
from hostrpc_fake_device import FakeDevice, LoopbackTransport

from utvm.rpc import RpcClient, Session, SessionError, SessionReset, TransportTimeout
from utvm.rpc.framing import Unframer, encode_frame
from utvm.rpc.session import (
    Delivered,
    Established,
    Ignored,
    Log,
    Lost,
    MessageType,
    SessionLayer,
    SessionMessage,
    SessionState,
    SessionStateMachine,
    Terminated,
    next_nonce,
    seed_for_nonce,
)
from utvm.transport.base import Transport, TransportTimeouts

FAST = TransportTimeouts(0.05, 0.3, 0.2)


def test_nonce_step_matches_the_doc() -> None:
    assert next_nonce(0x21) == 0x22 and next_nonce(0x3C) == 0x82 and next_nonce(0x00) == 0x01
    assert next_nonce(0xFF) != 0


def test_seed_for_nonce_inverts_the_step() -> None:
    for nonce in (0x01, 0x07, 0x25, 0x27, 0x63, 0x83, 0xE1):  # the recorded host nonces
        assert next_nonce(seed_for_nonce(nonce)) == nonce
    with pytest.raises(ValueError, match="never produced"):
        seed_for_nonce(0x09)  # 0x08 has bit 3 set: unreachable
    with pytest.raises(ValueError, match="not a live nonce"):
        seed_for_nonce(0)


def test_session_message_header() -> None:
    message = SessionMessage(0x8222, MessageType.NORMAL, b"body")
    assert message.encode() == b"\x22\x82\x10body"
    assert SessionMessage.decode(message.encode()) == message
    assert SessionMessage.decode(b"\x00\x00") is None


# -- the state machine, both roles ------------------------------------------------------------
class Pair:
    """Two state machines whose outgoing messages are collected, not delivered."""

    def __init__(self) -> None:
        self.out: dict[str, list[SessionMessage]] = {"host": [], "device": []}
        self.host = SessionStateMachine(self.out["host"].append)
        self.device = SessionStateMachine(self.out["device"].append)


def _payload(session_id: int, kind: int, body: bytes = b"") -> bytes:
    return SessionMessage(session_id, kind, body).encode()


def test_initiator_and_responder_agree_on_the_doc_session_id() -> None:
    pair = Pair()
    pair.host.initialize(0x21)
    pair.device.initialize(0x3C)
    pair.host.start_session()
    init = pair.out["host"][-1]
    assert init == SessionMessage(0x22, MessageType.START_SESSION_INIT, b"\x01")
    assert pair.device.handle(init.encode()) == Established(0x8222, by_peer=True)
    reply = pair.out["device"][-1]
    assert reply == SessionMessage(0x8222, MessageType.START_SESSION_REPLY, b"\x01")
    assert pair.host.handle(reply.encode()) == Established(0x8222, by_peer=False)
    assert pair.host.state == pair.device.state == SessionState.ESTABLISHED


def test_initialize_sends_terminate_with_id_zero() -> None:
    pair = Pair()
    pair.host.initialize(5)
    assert pair.out["host"] == [SessionMessage(0, MessageType.TERMINATE_SESSION)]
    assert pair.host.state == SessionState.NO_SESSION


def test_start_requires_initialize() -> None:
    with pytest.raises(SessionError, match="initialized"):
        Pair().host.start_session()


def test_inits_without_nonce_or_version_are_ignored() -> None:
    pair = Pair()
    pair.device.initialize(1)
    assert isinstance(pair.device.handle(_payload(0x00, 0, b"\x01")), Ignored)
    assert isinstance(pair.device.handle(_payload(0x05, 0)), Ignored)
    assert pair.device.state == SessionState.NO_SESSION


def test_simultaneous_init_lower_nonce_wins() -> None:
    pair = Pair()
    pair.host.initialize(0x21)
    pair.host.start_session()  # own nonce 0x22
    assert isinstance(pair.host.handle(_payload(0x30, 0, b"\x01")), Ignored)  # higher: ignored
    assert pair.host.handle(_payload(0x10, 0, b"\x01")) == \
        Established(0x10 | next_nonce(0x22) << 8, by_peer=True)


def test_simultaneous_init_with_equal_nonce_restarts() -> None:
    pair = Pair()
    pair.host.initialize(0x21)
    pair.host.start_session()
    assert isinstance(pair.host.handle(_payload(0x22, 0, b"\x01")), Ignored)
    assert pair.out["host"][-1] == SessionMessage(next_nonce(0x22),
                                                  MessageType.START_SESSION_INIT, b"\x01")
    assert pair.host.state == SessionState.START_SENT


def _established() -> Pair:
    pair = Pair()
    pair.host.initialize(0x21)
    pair.host.start_session()
    pair.host.handle(_payload(0x8222, MessageType.START_SESSION_REPLY, b"\x01"))
    return pair


def test_reply_checks_nonce_and_version() -> None:
    pair = Pair()
    pair.host.initialize(0x21)
    pair.host.start_session()
    assert isinstance(pair.host.handle(_payload(0x8223, 1, b"\x01")), Ignored)  # other nonce
    assert isinstance(pair.host.handle(_payload(0x8222, 1, b"\x02")), Ignored)  # version 2
    assert isinstance(pair.host.handle(_payload(0x0022, 1, b"\x01")), Ignored)  # no responder
    assert pair.host.state == SessionState.START_SENT


def test_init_while_established_re_establishes() -> None:
    pair = _established()
    event = pair.host.handle(_payload(0x44, 0, b"\x01"))
    assert isinstance(event, Established) and event.renewed and event.by_peer
    assert pair.host.session_id & 0xFF == 0x44


def test_reply_while_established_loses_the_session() -> None:
    pair = _established()
    assert pair.host.handle(_payload(0x8222, 1, b"\x01")) == Lost()
    assert pair.host.state == SessionState.RESET


def test_terminate_only_matters_when_established() -> None:
    pair = _established()
    assert pair.host.handle(_payload(0, MessageType.TERMINATE_SESSION)) == Terminated()
    assert pair.host.state == SessionState.NO_SESSION
    assert isinstance(pair.host.handle(_payload(0, MessageType.TERMINATE_SESSION)), Ignored)


def test_logs_and_normal_messages_check_the_session_id() -> None:
    pair = _established()
    assert pair.host.handle(_payload(0, MessageType.LOG, b"hi")) == Log(b"hi")
    assert pair.host.handle(_payload(0x8222, MessageType.LOG, b"hi")) == Log(b"hi")
    assert isinstance(pair.host.handle(_payload(0x1234, MessageType.LOG, b"x")), Ignored)
    assert pair.host.handle(_payload(0x8222, 0x10, b"rpc")) == Delivered(0x10, b"rpc")
    assert isinstance(pair.host.handle(_payload(0x8223, 0x10, b"rpc")), Ignored)
    assert isinstance(pair.host.handle(b"\x00"), Ignored)


# -- the host session layer on a transport ---------------------------------------------------
def _open(device: FakeDevice, **kwargs: object) -> tuple[Session, LoopbackTransport]:
    link = LoopbackTransport(device)
    return Session(link, timeouts=FAST, seed=0x21, **kwargs).open(), link


def test_handshake_bytes_match_the_doc() -> None:
    session, link = _open(FakeDevice(seed=0x3C))
    assert session.session_id == 0x8222
    assert bytes(link.written) == bytes.fromhex(
        "fe ff fd 03 00 00 00 00 00 02 66 77 ff fd 04 00 00 00 22 00 00 01 0d 03")


def test_device_logs_reach_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    device = FakeDevice(boot_log="booted")
    with caplog.at_level(logging.INFO, logger="utvm.remote"):
        session, _ = _open(device)
        device.log("between calls")
        assert session.get_global_func("test.echo")(7) == 7
    assert [r.getMessage() for r in caplog.records] == ["remote: booted",
                                                        "remote: between calls"]


def test_log_callback_replaces_the_logger() -> None:
    lines: list[str] = []
    device = FakeDevice(boot_log="hello")
    session, _ = _open(device, on_log=lines.append)
    device.log("")  # empty logs are ignored, as in TVM
    session.get_global_func("test.echo")
    assert lines == ["hello"]


def test_retry_sends_a_new_terminate_and_nonce() -> None:
    device = FakeDevice(ignore_inits=1)
    session, link = _open(device)
    messages = [SessionMessage.decode(p) for p in Unframer().feed(bytes(link.written))]
    kinds = [m.message_type for m in messages]
    assert kinds == [MessageType.TERMINATE_SESSION, MessageType.START_SESSION_INIT] * 2
    first, second = messages[1].session_id, messages[3].session_id
    assert first == 0x22 and second == next_nonce(0x22)
    assert session.session_id & 0xFF == second


def test_handshake_timeout_names_the_link_and_what_to_check() -> None:
    link = LoopbackTransport(FakeDevice(ignore_inits=1_000), name="/dev/ttyFAKE")
    session = Session(link, timeouts=FAST)
    with pytest.raises(TransportTimeout) as info:
        session.open()
    text = str(info.value)
    assert "session start handshake with /dev/ttyFAKE failed" in text
    assert link.hint in text
    attempts = Unframer().feed(bytes(link.written))
    assert len(attempts) >= 4  # at least two Terminate + Init attempts


class SilentTransport(Transport):
    """A link on which nothing ever arrives (board off, wrong port)."""

    name = "/dev/ttySILENT"
    hint = "is the board powered, is this its port, is the RPC server firmware flashed?"

    def _open(self) -> None:
        self.written = bytearray()

    def _close(self) -> None:
        pass

    def _read(self, n: int, timeout: float | None) -> bytes:
        time.sleep(timeout or 0)
        raise self.timeout_error("read", timeout)

    def _write(self, data: bytes, timeout: float | None) -> None:
        self.written += data


def test_a_board_that_never_answers_times_out_clearly() -> None:
    link = SilentTransport()
    with pytest.raises(TransportTimeout, match=r"/dev/ttySILENT.*board powered"):
        Session(link, timeouts=TransportTimeouts(0.02, 0.05, 0.05)).open()


def test_reply_timeout_names_the_request() -> None:
    device = FakeDevice()
    session, _ = _open(device)
    device.hang = True
    with pytest.raises(TransportTimeout, match=r"waiting for the reply to GET_GLOBAL_FUNC\("
                                               r"'runtime.SystemLib'\).*fake device"):
        session.get_system_lib()
    # A late reply could be mistaken for the next one's: the session refuses further requests.
    device.hang = False
    with pytest.raises(SessionError, match=r"timed out.*open a new session"):
        session.get_system_lib()
    session.open()
    assert session.get_system_lib().handle == 0x8000


def test_send_before_the_handshake_is_refused() -> None:
    layer = SessionLayer(LoopbackTransport(FakeDevice()))
    with pytest.raises(SessionError, match="call start"):
        layer.send(b"\x00" * 8)


def test_device_reboot_mid_session_raises_session_reset() -> None:
    device = FakeDevice()
    session, _ = _open(device)
    echo = session.get_global_func("test.echo")
    device.boot()  # sends TerminateSession like a rebooted TVM device
    with pytest.raises(SessionReset, match=r"rebooted or was reset.*Open a new session"):
        echo(1)
    with pytest.raises(SessionReset):  # and stays refused until a new handshake
        echo(1)
    session.open()
    assert session.get_global_func("test.echo")(3) == 3


def test_device_starting_its_own_session_raises_session_reset() -> None:
    device = FakeDevice()
    session, _ = _open(device)
    device.start_own_session()
    with pytest.raises(SessionReset, match="started a new session"):
        session.get_global_func("test.echo")


def test_stray_session_reply_loses_the_session() -> None:
    device = FakeDevice()
    session, _ = _open(device)
    device.outbox += encode_frame(SessionMessage(session.session_id,
                                                 MessageType.START_SESSION_REPLY,
                                                 b"\x01").encode())
    with pytest.raises(SessionReset, match="lost"):
        session.get_global_func("test.echo")


def test_foreign_session_messages_are_dropped() -> None:
    device = FakeDevice()
    session, _ = _open(device)
    before = session.layer.ignored_messages  # the device's boot TerminateSession, for one
    device.outbox += encode_frame(SessionMessage(0x1111, MessageType.NORMAL, b"junk").encode())
    assert session.get_global_func("test.echo")("x") == "x"
    assert session.layer.ignored_messages == before + 1


class FailingOnceTransport(LoopbackTransport):
    def __init__(self, device: FakeDevice) -> None:
        super().__init__(device)
        self.fail_next = False

    def _write(self, data: bytes, timeout: float | None) -> None:
        if self.fail_next:
            self.fail_next = False
            raise OSError("write failed")
        super()._write(data, timeout)


def test_framer_restarts_with_lone_fe_after_a_failed_write() -> None:
    device = FakeDevice()
    link = FailingOnceTransport(device)
    session = Session(link, timeouts=FAST, seed=0x21).open()
    link.fail_next = True
    with pytest.raises(OSError):
        session.get_global_func("test.echo")
    before = len(link.written)
    assert session.get_global_func("test.echo")(5) == 5
    assert link.written[before] == 0xFE


def test_rpc_client_accepts_the_session_or_its_layer() -> None:
    session, _ = _open(FakeDevice())
    assert RpcClient(session).session is session.layer
    assert RpcClient(session.layer).get_global("no.such.function") is None
