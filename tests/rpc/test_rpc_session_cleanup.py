"""A failed session must not leave the board unusable (issue 11): when a session ends — a new
session starts, the host sends TerminateSession, or kShutdown — everything the host made is
freed (executors with their loaded parameters, arrays handed out, DevAllocData memory, time
evaluators), so the heap is back at its start level.

Reproduced as reported (KWS with graph_params: three failing runs grew the arena until the
board was unusable) on the host board, which reports its heap through
utvm.host_board.MemoryInUse.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from board import Board, build_host_board
from rpc_client import Client, RemoteError
from wire_codec import BOOL, BYTES, DEVICE, INT, MODULE, MSG_TERMINATE, STR, Tensor

from testsupport import FIXTURES_MISSING, FIXTURES_ROOT, REPO_ROOT

KWS = FIXTURES_ROOT / "kws_ref_model" / "graph_params"
BUNDLED_AOT = REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "aot_packed"
MAX_PACKET = 65536


@pytest.fixture(scope="module")
def kws_board(build_root: Path) -> Path:
    if not (KWS / "metadata.json").exists():
        pytest.skip(FIXTURES_MISSING)
    return build_host_board(build_root, KWS, sanitize=False, max_packet=MAX_PACKET)


@pytest.fixture(scope="module")
def aot_board(build_root: Path) -> Path:
    if not (BUNDLED_AOT / "metadata.json").exists():
        pytest.skip(f"the bundled model {BUNDLED_AOT} is missing")
    return build_host_board(build_root, BUNDLED_AOT, sanitize=False, max_packet=MAX_PACKET)


def _memory(c: Client) -> int:
    return c.call_value(c.get_global("utvm.host_board.MemoryInUse"))


def _module_function(c: Client, module: int, name: str) -> int:
    mgf = c.get_global("tvm.rpc.server.ModuleGetFunction")
    return c.call_value(mgf, (MODULE, module), (STR, name), (BOOL, 1))


def _alloc(c: Client, nbytes: int) -> int:
    args = struct.pack("<iiiiiiiQQ", 4, 6, 0, 0, 5, 1, 0, nbytes, 64) + bytes([1, 8, 1, 0, 0, 0,
                                                                                  0, 0])
    return c.request(13, args).values[0].value


def _failing_graph_run(c: Client) -> int:
    """What a run that fails half-way leaves: executor with params, arrays held, an input
    buffer, a time evaluator; then an error. Returns the executor's handle."""
    lib = c.call_value(c.get_global("runtime.SystemLib"))
    graph = (KWS / "executor-config" / "graph" / "default.graph").read_bytes()
    executor = c.call_value(c.get_global("tvm.graph_executor.create"), (STR, graph),
                            (MODULE, lib), (INT, 1), (INT, 0))
    c.call(_module_function(c, executor, "load_params"),
           (BYTES, (KWS / "parameters" / "default.params").read_bytes()))
    c.call(_module_function(c, executor, "get_input"), (INT, 0))
    c.call(_module_function(c, executor, "get_output"), (INT, 0))
    _alloc(c, 4000)
    c.call_value(c.get_global("runtime.RPCTimeEvaluator"), (MODULE, executor), (STR, "run"),
                 (INT, 1), (INT, 0), (INT, 1), (INT, 1), (INT, 0), (INT, 100), (INT, 0),
                 (INT, 1), (INT, 0), (STR, ""))
    with pytest.raises(RemoteError):
        c.call(_module_function(c, executor, "get_output"), (INT, 99))
    return executor


def _inference(c: Client) -> bytes:
    lib = c.call_value(c.get_global("runtime.SystemLib"))
    graph = (KWS / "executor-config" / "graph" / "default.graph").read_bytes()
    executor = c.call_value(c.get_global("tvm.graph_executor.create"), (STR, graph),
                            (MODULE, lib), (INT, 1), (INT, 0))
    c.call(_module_function(c, executor, "load_params"),
           (BYTES, (KWS / "parameters" / "default.params").read_bytes()))
    data = np.load(KWS / "input_0.npy")
    inp: Tensor = c.call(_module_function(c, executor, "get_input"), (INT, 0)).values[1].value
    c.copy_to(inp, data.tobytes())
    c.call(_module_function(c, executor, "run"))
    out: Tensor = c.call(_module_function(c, executor, "get_output"), (INT, 0)).values[1].value
    expected = np.load(KWS / "tvm_crt_output_0.npy")
    return c.copy_from(out, expected.nbytes)


def test_new_sessions_after_failed_runs_start_from_a_clean_heap(kws_board: Path) -> None:
    board = Board(kws_board)
    c = Client(board)
    try:
        c.handshake(0x21)
        start = _memory(c)
        for run in range(3):
            c.handshake(0x22 + run)
            assert _memory(c) == start, f"session {run} started with memory left behind"
            executor = _failing_graph_run(c)
            assert _memory(c) > start
        c.handshake(0x30)
        assert _memory(c) == start
        # The old session's executor is gone, not reachable through a stale handle.
        with pytest.raises(RemoteError, match=r"not a live handle|unregistered module"):
            _module_function(c, executor, "run")
        expected = np.load(KWS / "tvm_crt_output_0.npy").tobytes()
        assert _inference(c) == expected
    finally:
        board.close()


def test_terminate_session_frees_what_the_host_made(kws_board: Path) -> None:
    board = Board(kws_board)
    c = Client(board)
    try:
        c.handshake(0x21)
        start = _memory(c)
        _failing_graph_run(c)
        board.send(struct.pack("<HB", c.session_id, MSG_TERMINATE))
        c.handshake(0x22)  # its own TerminateSession finds no session: nothing more to free
        assert _memory(c) == start
    finally:
        board.close()


def test_aot_executor_and_its_arrays_are_freed_too(aot_board: Path) -> None:
    board = Board(aot_board)
    c = Client(board)
    try:
        c.handshake(0x21)
        start = _memory(c)
        lib = c.call_value(c.get_global("runtime.SystemLib"))
        create = c.get_global("tvm.aot_executor.create")
        executor = c.call_value(create, (MODULE, lib), (DEVICE, (1, 0)), (STR, "default"))
        out: Tensor = c.call(_module_function(c, executor, "get_output"), (INT, 0)).values[1].value
        # A new executor replaces the first; the host still holds the first one's output.
        c.call_value(create, (MODULE, lib), (DEVICE, (1, 0)), (STR, "default"))
        assert c.copy_from(out, 40) == bytes(40)
        c.handshake(0x22)
        assert _memory(c) == start
    finally:
        board.close()
