"""utvm.transport: serial (pyserial loop://), PTY, subprocess stdio and TCP loopback, alone and
under a whole session with the fake device on the other end."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hostrpc_device_main import serve_socket

from utvm.rpc import Session
from utvm.transport import (
    PtyTransport,
    SerialTransport,
    SubprocessTransport,
    TcpTransport,
    TransportClosed,
    TransportTimeout,
    TransportTimeouts,
)

DEVICE_MAIN = Path(__file__).resolve().parent / "hostrpc_device_main.py"
SLOW_START = TransportTimeouts(5.0, 30.0, 10.0)  # a Python child may take seconds to start


def _read_exactly(link: object, n: int) -> bytes:
    out = b""
    while len(out) < n:
        out += link.read(n - len(out), 2.0)  # type: ignore[attr-defined]
    return out


def _check_session(session: Session) -> None:
    """A little of everything: a call, a chunked copy both ways, the executor."""
    assert session.get_global_func("test.echo")("over the link") == "over the link"
    data = np.arange(3000, dtype=np.int32)
    with session.array(data) as tensor:
        assert np.array_equal(tensor.numpy(), data)
    executor = session.create_aot_executor()
    executor.set_input(0, np.ones((1, 4), np.float32))
    executor.run()
    assert np.array_equal(executor.get_output(0), np.full((1, 4), 2, np.float32))


# -- not opened -------------------------------------------------------------------------------
def test_reading_an_unopened_transport_says_to_open_it() -> None:
    with pytest.raises(TransportClosed, match="not open: call open"):
        TcpTransport("127.0.0.1", 1).read(1, 0)


# -- serial (pyserial's loop:// stands in for a UART) ----------------------------------------
def test_serial_loopback_read_write_and_timeout() -> None:
    with SerialTransport("loop://", baudrate=115200) as link:
        link.write(b"\xff\xfd\x00hello", 1.0)
        assert _read_exactly(link, 8) == b"\xff\xfd\x00hello"
        with pytest.raises(TransportTimeout, match=r"loop://.*flashed with the RPC server"):
            link.read(1, 0.05)
        with pytest.raises(TransportTimeout):
            link.read(1, 0)


def test_serial_port_that_does_not_exist() -> None:
    link = SerialTransport("/nonexistent/ttyUSB9")
    with pytest.raises(TransportClosed, match=r"cannot open serial port.*right port"):
        link.open()
    link.close()  # harmless


# -- PTY ----------------------------------------------------------------------------------------
@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    yield master, path
    os.close(master)
    os.close(slave)


def test_pty_is_raw_and_binary(pty_pair: tuple[int, str]) -> None:
    master, path = pty_pair
    with PtyTransport(path) as link:
        payload = bytes(range(256))  # includes \r, \n, ^C, ^D: no line discipline may touch them
        link.write(payload, 1.0)
        got = b""
        while len(got) < 256:
            got += os.read(master, 256)
        assert got == payload
        os.write(master, b"\r\n\x03\x04")
        assert _read_exactly(link, 4) == b"\r\n\x03\x04"
        with pytest.raises(TransportTimeout, match=path):
            link.read(1, 0.05)


def test_pty_path_that_does_not_exist() -> None:
    with pytest.raises(TransportClosed, match="still running"):
        PtyTransport("/dev/pts/999999").open()


# -- subprocess over stdin/stdout ---------------------------------------------------------------
def _device_process(*extra: str) -> SubprocessTransport:
    return SubprocessTransport([sys.executable, str(DEVICE_MAIN), *extra])


def test_whole_session_over_a_subprocess() -> None:
    link = _device_process()
    with Session(link, timeouts=SLOW_START) as session:
        _check_session(session)
    assert link.returncode == 0  # stdin closed: the board process ends


def test_crashed_process_is_reported_with_status_and_stderr() -> None:
    link = _device_process("--die-after", "2")
    session = Session(link, timeouts=SLOW_START)
    with pytest.raises(TransportClosed, match=r"(?s)exit status 3.*simulated crash"):
        session.open()
        session.get_global_func("test.echo")
    session.close()


def test_program_that_cannot_start() -> None:
    with pytest.raises(TransportClosed, match="cannot start"):
        SubprocessTransport(["/nonexistent/board"]).open()


def test_subprocess_read_timeout() -> None:
    sleeper = SubprocessTransport([sys.executable, "-c", "import sys; sys.stdin.read()"])
    with sleeper as link, pytest.raises(TransportTimeout, match="read: nothing from python"):
        link.read(1, 0.05)


# -- TCP loopback ---------------------------------------------------------------------------
@pytest.fixture
def device_server() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def accept() -> None:
        connection, _ = server.accept()
        serve_socket(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield port
    server.close()
    thread.join(timeout=5)


def test_whole_session_over_tcp(device_server: int) -> None:
    with Session(TcpTransport("127.0.0.1", device_server), timeouts=SLOW_START) as session:
        _check_session(session)


def test_tcp_timeout_and_peer_close() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    with TcpTransport("127.0.0.1", port) as link:
        peer, _ = server.accept()
        with pytest.raises(TransportTimeout, match=f"127.0.0.1:{port}"):
            link.read(1, 0.05)
        peer.sendall(b"abc")
        assert _read_exactly(link, 3) == b"abc"
        peer.close()
        with pytest.raises(TransportClosed, match="closed the connection"):
            link.read(1, 1.0)
    server.close()


def test_tcp_connection_refused() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()
    with pytest.raises(TransportClosed, match=f"cannot connect to tcp://127.0.0.1:{port}"):
        TcpTransport("127.0.0.1", port).open()
