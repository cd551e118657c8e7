"""A noisy link: the fault-injecting transport, and the client recovering over it (a request
sent again, a new session and the run redone), first against the in-process fake device,
then against utvm's real RPC server (the host board) over a pipe and a PTY."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hostrpc_fake_device import FakeDevice, LoopbackTransport
from hostrpc_transcripts import REPO_ROOT

from utvm.rpc import Session
from utvm.rpc.errors import DamagedReply, LinkFailed
from utvm.rpc.framing import encode_frame
from utvm.rpc.model_run import run_model
from utvm.rpc.recovery import run_with_recovery
from utvm.rpc.retry_policy import RetryPolicy, RetryState
from utvm.transport import Transport
from utvm.transport.base import TransportTimeouts
from utvm.transport.faulty import FaultyTransport

BUNDLED = REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "aot_packed"
BUNDLED_DATA = BUNDLED.parent / "test_data"
FAST = TransportTimeouts(0.05, 1.0, 0.05)  # the fake device answers at once
BOARD_TIMEOUTS = TransportTimeouts(0.5, 10.0, 1.0)  # the host board, on a busy machine


class _Sink(Transport):
    """Keeps what is written; reads return a fixed pattern."""

    def __init__(self) -> None:
        self.written = bytearray()

    def _open(self) -> None:
        pass

    def _close(self) -> None:
        pass

    def _read(self, n: int, timeout: float | None) -> bytes:
        return bytes(range(256))[:n]

    def _write(self, data: bytes, timeout: float | None) -> None:
        self.written += data


def _damage(rate: float, seed: int, kinds: tuple[str, ...], data: bytes) -> tuple[bytes, Any]:
    link = FaultyTransport(_Sink(), rate, seed=seed, kinds=kinds)
    with link:
        for start in range(0, len(data), 1000):  # in pieces, as frames go out
            link.write(data[start:start + 1000], None)
    return bytes(link.inner.written), link.counts["to_board"]  # type: ignore[attr-defined]


DATA = bytes(np.random.default_rng(5).integers(0, 256, 100_000, dtype=np.uint8))


def test_a_clean_link_passes_bytes_as_they_are() -> None:
    assert _damage(0.0, 1, ("flip", "drop", "duplicate"), DATA)[0] == DATA


def test_the_same_seed_does_the_same_damage_and_another_seed_other_damage() -> None:
    first = _damage(1e-2, 7, ("flip", "drop", "duplicate"), DATA)[0]
    assert first == _damage(1e-2, 7, ("flip", "drop", "duplicate"), DATA)[0]
    assert first != _damage(1e-2, 8, ("flip", "drop", "duplicate"), DATA)[0]
    assert first != DATA


def test_flips_change_one_bit_of_as_many_bytes_as_counted() -> None:
    out, counts = _damage(1e-2, 3, ("flip",), DATA)
    assert len(out) == len(DATA) and counts.bytes == len(DATA)
    changed = [a ^ b for a, b in zip(out, DATA, strict=True) if a != b]
    assert len(changed) == counts.flip and all(bin(x).count("1") == 1 for x in changed)
    assert 800 < counts.flip < 1200  # 1e-2 of 100,000 bytes


def test_drops_and_duplicates_change_the_length_by_their_count() -> None:
    out, counts = _damage(1e-2, 3, ("drop",), DATA)
    assert len(out) == len(DATA) - counts.drop and counts.drop > 0
    out, counts = _damage(1e-2, 3, ("duplicate",), DATA)
    assert len(out) == len(DATA) + counts.duplicate and counts.duplicate > 0


def test_bad_rates_and_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="probability"):
        FaultyTransport(_Sink(), 1.5)
    with pytest.raises(ValueError, match="fault kinds"):
        FaultyTransport(_Sink(), 0.1, kinds=("melt",))


# -- the client over damage, against the fake device -------------------------------------

def _fake_session(rate: float, seed: int, **kwargs: Any) -> tuple[Session, FaultyTransport]:
    link = FaultyTransport(LoopbackTransport(FakeDevice()), 0.0, seed=seed, **kwargs)
    session = Session(link, timeouts=FAST, seed=0x21).open()
    link.rate = rate  # the handshake is clean, the work is not
    return session, link


class _CrcFlipper(LoopbackTransport):
    """Once ``armed``, replies arrive with their last byte (the CRC's) changed."""

    armed = False

    def _read(self, n: int, timeout: float | None) -> bytes:
        data = super()._read(n, timeout)
        return data[:-1] + bytes((data[-1] ^ 0x01,)) if self.armed else data


def test_a_reply_that_fails_its_crc_check_is_reported_at_once() -> None:
    link = _CrcFlipper(FakeDevice())
    session = Session(link, timeouts=TransportTimeouts(1.0, 5.0, 60.0), seed=0x21).open()
    link.armed = True
    with pytest.raises(DamagedReply, match="failed its CRC check"):  # not after 60 s
        session.get_global_func("runtime.SystemLib")
    assert session.layer.unframer.stats.bad_crc == 1


def test_lost_replies_are_asked_for_again_and_the_work_goes_on() -> None:
    lines: list[str] = []
    session, link = _fake_session(5e-3, 11)
    state = RetryState(report=lines.append)
    data = np.arange(4, dtype=np.float32).reshape(1, 4)

    def work(client: Any) -> np.ndarray:
        from utvm.rpc.executor import create_aot_executor

        with create_aot_executor(client) as executor:
            executor.set_input(0, data)
            executor.run()
            return executor.get_output(0)

    result = run_with_recovery(session, work, state)
    assert result.tobytes() == (data + 1).tobytes()
    assert state.resends > 0 and len(lines) == state.used
    assert all(line.startswith("link: ") and "(retry " in line for line in lines)
    assert link.counts["to_board"].faults + link.counts["from_board"].faults > 0


def test_repeated_failures_make_copies_smaller() -> None:
    state = RetryState(report=lambda _: None)  # the defaults the README states
    assert state.failed(2037) == ""  # one failure: the same packets again
    assert state.failed(2037) == ", copies now in packets of 512 bytes"
    assert state.failed(2037) == ", copies now in packets of 256 bytes"
    assert state.failed(2037) == "" and state.copy_packet_limit == 256  # the smallest
    state.succeeded()
    assert state.failed(2037) == "" and state.copy_packet_limit == 256  # and it stays


def test_copies_use_the_smaller_packets() -> None:
    session, _ = _fake_session(0.0, 1)
    device = session.transport.inner.device  # type: ignore[attr-defined]
    state = RetryState(report=lambda _: None)
    state.copy_packet_limit = 256
    session.client.retry = state
    with session.empty((1000,), "uint8") as tensor:
        tensor.copyfrom(np.arange(1000, dtype=np.uint8))
        assert tensor.numpy().tolist() == np.arange(1000, dtype=np.uint8).tolist()
    copies = [r for r in device.requests if type(r).__name__ in ("CopyToRemote",
                                                                 "CopyFromRemote")]
    assert len(copies) == 2 * 5  # 1000 bytes in 256 - 52 = 204-byte pieces, each way


# -- the real server: the host board ------------------------------------------------------

def _require_tools() -> None:
    if shutil.which("cmake") is None or shutil.which("cc") is None:
        pytest.skip("cmake and a C compiler are needed to build the host board")


@pytest.fixture
def mlf() -> Iterator[Any]:
    _require_tools()
    from utvm.mlf import open_mlf

    with open_mlf(BUNDLED) as model:
        yield model


def _board(mlf: Any, link: str) -> Transport:
    from utvm.host.board import start_host_board

    return start_host_board(mlf, link)


def _run(session: Session, mlf: Any, state: RetryState) -> bytes:
    data = np.load(BUNDLED_DATA / "input_0.npy")
    result = run_with_recovery(
        session, lambda client: run_model(client, mlf, [data], timeout=5.0), state)
    return result.outputs[0].tobytes()


EXPECTED = BUNDLED_DATA / "tvm_crt_output_0.npy"


@pytest.mark.parametrize(("link", "seed"), [("pipe", 2), ("pty", 5)])
def test_the_host_board_gives_bit_exact_outputs_over_a_noisy_link(mlf: Any, link: str,
                                                                  seed: int) -> None:
    lines: list[str] = []
    noisy = FaultyTransport(_board(mlf, link), 1e-3, seed=seed)
    with Session(noisy, timeouts=BOARD_TIMEOUTS, seed=0x21) as session:
        state = RetryState(report=lines.append)
        assert _run(session, mlf, state) == np.load(EXPECTED).tobytes()
    faults = sum(c.faults for c in noisy.counts.values())
    assert faults > 0 and lines, "the seed should have damaged this run"
    assert state.used == len(lines) <= state.policy.budget


class _ResetOnce(Transport):
    """Passes bytes through; once ``after`` reads went by, the board 'reboots': a
    TerminateSession arrives, as a real board sends when it starts."""

    def __init__(self, inner: Transport, after: int) -> None:
        self.inner, self.after = inner, after
        self.name, self.hint, self.timeouts = inner.name, inner.hint, inner.timeouts

    def _open(self) -> None:
        self.inner.open()

    def _close(self) -> None:
        self.inner.close()

    def _read(self, n: int, timeout: float | None) -> bytes:
        self.after -= 1
        if self.after == 0:
            return encode_frame(b"\x00\x00\x02", lead_nop=True)
        return self.inner.read(n, timeout)

    def _write(self, data: bytes, timeout: float | None) -> None:
        self.inner.write(data, timeout)


def test_a_session_reset_by_the_board_is_followed_by_a_new_session_and_the_run(mlf: Any
                                                                               ) -> None:
    lines: list[str] = []
    link = _ResetOnce(_board(mlf, "pipe"), after=12)
    with Session(link, timeouts=BOARD_TIMEOUTS) as session:
        state = RetryState(report=lines.append)
        assert _run(session, mlf, state) == np.load(EXPECTED).tobytes()
    assert state.restarts == 1
    assert lines == ["link: session reset by the board, session restarted (retry 1/3)"]


def test_a_hopeless_link_ends_with_a_clear_error_after_a_bounded_number_of_tries(
        mlf: Any) -> None:
    lines: list[str] = []
    noisy = FaultyTransport(_board(mlf, "pipe"), 0.0, seed=4)
    policy = RetryPolicy(resends=2, restarts=2, budget=8)
    with Session(noisy, timeouts=BOARD_TIMEOUTS, seed=0x21) as session:
        noisy.rate = 0.05  # after a clean handshake: every request is hit
        state = RetryState(policy, report=lines.append)
        with pytest.raises(LinkFailed) as info:
            _run(session, mlf, state)
    message = str(info.value)
    assert "kept failing" in message or "did not answer a new session start" in message
    assert state.resends <= policy.budget and state.restarts <= policy.restarts
    assert state.used == len(lines) <= policy.budget


@pytest.mark.parametrize("garbage", [
    b"\xff\xfd\xff\xff\xff\x7f" + bytes(range(256)),  # a frame of 2 GiB, cut short
    b"\xff\xfd\x40\x00\x00\x00\x12\xff",  # a frame cut after an escape byte
    b"\xff\xfd\x10\x00\xff\x00\xff",  # a bad escape, then a dangling FF
])
def test_the_board_resyncs_after_garbage(mlf: Any, garbage: bytes) -> None:
    """Garbage on the board's input costs at most the session, never the board: after a new
    session (which starts with the lone FE, then TerminateSession, StartSessionInit) the
    board answers again."""
    with Session(_board(mlf, "pipe"), timeouts=BOARD_TIMEOUTS) as session:
        session.get_system_lib()
        session.transport.write(garbage, 1.0)
        session.restart()
        assert session.get_global_func("runtime.SystemLib") is not None
