"""The host board as a process: boot messages, a whole AOT inference over RPC with the
bundled model, bad input on the wire, shutdown and end of input, PTY mode, big packets."""

from __future__ import annotations

import os
import select
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from board import Board, build_host_board
from rpc_client import Client, RemoteError
from wire_codec import (
    BOOL,
    DEVICE,
    DLTENSOR,
    INT,
    MODULE,
    MSG_LOG,
    MSG_NORMAL,
    MSG_TERMINATE,
    STR,
    Tensor,
    Unframer,
    frame,
    rpc_packet,
    session_message,
)

from testsupport import REPO_ROOT

BUNDLED_MODEL = REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "aot_packed"


def _bundled_model() -> Path:
    if not (BUNDLED_MODEL / "metadata.json").exists():
        pytest.skip(f"the bundled model {BUNDLED_MODEL.relative_to(REPO_ROOT)} is missing")
    return BUNDLED_MODEL


@pytest.fixture(scope="module")
def board_exe(build_root: Path) -> Path:
    return build_host_board(build_root, _bundled_model())


@pytest.fixture
def client(board_exe: Path):
    board = Board(board_exe)
    c = Client(board)
    yield c
    stderr = board.close()
    assert "AddressSanitizer" not in stderr and "runtime error" not in stderr, stderr


def test_boot_sends_terminate_then_a_log(board_exe: Path) -> None:
    board = Board(board_exe)
    try:
        assert board.receive(skip_logs=False).type == MSG_TERMINATE
        log = board.receive(skip_logs=False)
        assert log.type == MSG_LOG and log.session_id == 0
        assert log.body == b"utvm host board - running"
        # Byte-exact first frame (wire doc 3.5): the lone FE, then TerminateSession.
        assert board.received[:12] == bytes.fromhex("fefffd03000000000002" "6677")
    finally:
        board.close()


def _module_function(c: Client, module: int, name: str) -> int:
    mgf = c.get_global("tvm.rpc.server.ModuleGetFunction")
    return c.call_value(mgf, (MODULE, module), (STR, name), (BOOL, 1))


def test_aot_inference_over_rpc(client: Client) -> None:
    """tvm.micro's create_local_aot_executor flow, by hand: the output is a softmax."""
    c = client
    c.handshake()
    system_lib = c.call_value(c.get_global("runtime.SystemLib"))
    create = c.get_global("tvm.aot_executor.create")
    executor = c.call_value(create, (MODULE, system_lib), (DEVICE, (1, 0)), (STR, "default"))
    fn = {name: _module_function(c, executor, name)
          for name in ("get_input", "get_output", "run", "get_num_outputs", "get_input_name")}
    assert c.call_value(fn["get_num_outputs"]) == 1
    assert c.call_value(fn["get_input_name"], (INT, 0)) == b"input"
    reply = c.call(fn["get_input"], (INT, 0))
    assert [v.code for v in reply.values] == [INT, DLTENSOR, 3] and reply.values[0].value == 13
    tensor: Tensor = reply.values[1].value
    assert tensor.shape == [1, 3, 16, 16] and tensor.dtype == (2, 32, 1)
    data = np.random.default_rng(0).standard_normal(tensor.shape).astype(np.float32).tobytes()
    max_packet = c.call_value(c.get_global("tvm.rpc.server.GetCRTMaxPacketSize"))
    block = max_packet - (44 + 8 * tensor.ndim)
    for offset in range(0, len(data), block):
        chunk = data[offset : offset + block]
        c.copy_to(Tensor(tensor.data, (1, 0), 4, tensor.dtype, tensor.shape, offset), chunk)
    c.call(fn["run"])
    out: Tensor = c.call(fn["get_output"], (INT, 0)).values[1].value
    probs = np.frombuffer(c.copy_from(out, 40), dtype=np.float32)
    assert probs.shape == (10,) and (probs >= 0).all()
    assert abs(float(probs.sum()) - 1.0) < 1e-5
    # The output read back is stable, and reading past it is refused.
    assert np.frombuffer(c.copy_from(out, 40), dtype=np.float32).tolist() == probs.tolist()
    with pytest.raises(RemoteError, match="not in allocated memory"):
        c.copy_from(Tensor(out.data, (1, 0), 2, out.dtype, out.shape, 8), 40)


def test_bad_bytes_on_the_wire_are_survived(client: Client) -> None:
    c = client
    c.handshake()
    board = c.board
    board.send_raw(bytes(range(256)) * 4)  # line noise, including FF FD and bad escapes
    get_global = struct.pack("<iiiQ", 9, 1, 11, 3) + b"abc"
    request = session_message(c.session_id, MSG_NORMAL, rpc_packet(get_global))
    corrupt = bytearray(frame(request))
    corrupt[-3] ^= 0x10
    board.send_raw(b"\xfe" + bytes(corrupt))  # bad CRC: dropped, no reply
    assert board.silent_for(0.5)
    with pytest.raises(RemoteError, match="unknown RPC code 4"):
        c.request(4, b"")
    assert c.get_global("runtime.SystemLib") != 0


def test_shutdown_ends_the_board(board_exe: Path) -> None:
    board = Board(board_exe)
    c = Client(board)
    c.handshake()
    board.send(session_message(c.session_id, MSG_NORMAL, rpc_packet(struct.pack("<i", 1))))
    assert board.proc.wait(timeout=30) == 0
    board.close()


def test_end_of_input_ends_the_board(board_exe: Path) -> None:
    board = Board(board_exe)
    assert board.receive().type == MSG_TERMINATE
    assert board.proc.stdin is not None
    board.proc.stdin.close()
    assert board.proc.wait(timeout=30) == 0
    board.close()


def test_pty_mode(board_exe: Path) -> None:
    proc = subprocess.Popen([str(board_exe), "--pty"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()
        assert line.startswith("utvm_host_board: pty "), line
        fd = os.open(line.split("pty ", 1)[1].strip(), os.O_RDWR | os.O_NOCTTY)
        try:
            unframer = Unframer()
            os.write(fd, frame(session_message(0x0041, 0x00, b"\x01"), first_after_reset=True))
            deadline = time.monotonic() + 30
            reply = None
            while reply is None and time.monotonic() < deadline:
                if select.select([fd], [], [], 1.0)[0]:
                    for msg in unframer.feed(os.read(fd, 4096)):
                        if msg.type == 0x01:
                            reply = msg
            assert reply is not None and reply.session_id & 0xFF == 0x41
        finally:
            os.close(fd)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_bigger_packets_for_hosts_that_take_them(build_root: Path) -> None:
    exe = build_host_board(build_root, _bundled_model(), sanitize=False, max_packet=16384)
    board = Board(exe)
    try:
        c = Client(board)
        c.handshake()
        # TVM's host cannot take messages over 2048 bytes: GetCRTMaxPacketSize stays there.
        assert c.call_value(c.get_global("tvm.rpc.server.GetCRTMaxPacketSize")) == 2037
        assert c.call_value(c.get_global("utvm.rpc.GetMaxPacketSize")) == 16384 - 11
        # DevAllocData([6 cpu(0), 0 nbytes, 0 alignment, 5 uint8])
        uint8 = bytes([1, 8, 1, 0, 0, 0, 0, 0])
        args = struct.pack("<iiiiiiiQQ", 4, 6, 0, 0, 5, 1, 0, 16000, 64) + uint8
        alloc = c.request(13, args)
        ptr = alloc.values[0].value
        t = Tensor(ptr, (1, 0), 1, (1, 8, 1), [16000], 0)
        payload = bytes(i * 7 % 256 for i in range(16000))
        c.copy_to(t, payload)
        assert c.copy_from(t, 16000) == payload
    finally:
        board.close()
