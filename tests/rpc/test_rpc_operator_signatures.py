"""Generated operators only ever run on arguments they were compiled for (issue 11, R1/R2).

The host board is built without sanitizers, as users run it: there a wrong call into
generated code crashed the board (R1: SIGSEGV) or silently overwrote the memory after a
small tensor (R2), and the next request crashed it. Every such request must now get a
kException naming the problem, the board must keep serving, and its memory must be intact
(a full inference afterwards is still bit-exact).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from board import Board, build_host_board
from rpc_client import Client, RemoteError
from wire_codec import BOOL, BYTES, DLTENSOR, INT, MODULE, STR, Tensor

from testsupport import FIXTURES_MISSING, FIXTURES_ROOT, REPO_ROOT

BUNDLED_AOT = REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "aot_packed"
GRAPH = FIXTURES_ROOT / "tiny_conv_f32" / "graph_params"
MAX_PACKET = 65536
F32 = (2, 32, 1)


def _require(mlf: Path) -> Path:
    if not (mlf / "metadata.json").exists():
        pytest.skip(FIXTURES_MISSING if mlf == GRAPH else f"{mlf} is missing")
    return mlf


@pytest.fixture(scope="module")
def graph_board(build_root: Path) -> Path:
    return build_host_board(build_root, _require(GRAPH), sanitize=False, max_packet=MAX_PACKET)


@pytest.fixture(scope="module")
def aot_board(build_root: Path) -> Path:
    return build_host_board(build_root, _require(BUNDLED_AOT), sanitize=False,
                            max_packet=MAX_PACKET)


def _session(exe: Path) -> tuple[Board, Client]:
    board = Board(exe)
    client = Client(board)
    client.handshake()
    return board, client


def _close(board: Board) -> None:
    stderr = board.close()
    assert board.proc.returncode == 0, f"the board died ({board.proc.returncode}): {stderr}"


def _module_function(c: Client, module: int, name: str) -> int:
    mgf = c.get_global("tvm.rpc.server.ModuleGetFunction")
    return c.call_value(mgf, (MODULE, module), (STR, name), (BOOL, 1))


def _alloc(c: Client, nbytes: int) -> int:
    """DevAllocData(cpu(0), nbytes, alignment 64, uint8): a device pointer."""
    args = struct.pack("<iiiiiiiQQ", 4, 6, 0, 0, 5, 1, 0, nbytes, 64) + bytes([1, 8, 1, 0, 0, 0,
                                                                                  0, 0])
    return c.request(13, args).values[0].value


def _still_serving(c: Client) -> None:
    assert c.get_global("runtime.SystemLib") != 0


def _graph_inference(c: Client, graph: bytes) -> bytes:
    system_lib = c.call_value(c.get_global("runtime.SystemLib"))
    executor = c.call_value(c.get_global("tvm.graph_executor.create"), (STR, graph),
                            (MODULE, system_lib), (INT, 1), (INT, 0))
    params = (GRAPH / "parameters" / "default.params").read_bytes()
    c.call(_module_function(c, executor, "load_params"), (BYTES, params))
    data = np.load(GRAPH / "input_0.npy").astype(np.float32)
    inp: Tensor = c.call(_module_function(c, executor, "get_input"), (STR, "input")).values[1].value
    c.copy_to(inp, data.tobytes())
    c.call(_module_function(c, executor, "run"))
    out: Tensor = c.call(_module_function(c, executor, "get_output"), (INT, 0)).values[1].value
    return c.copy_from(out, 40)


@pytest.mark.parametrize("nargs", [0, 1])
def test_r1_aot_operator_called_with_too_few_arguments(aot_board: Path, nargs: int) -> None:
    """R1: an AOT operator (4 arguments, shapes only the generated main knows) is not callable."""
    board, c = _session(aot_board)
    try:
        lib = c.call_value(c.get_global("runtime.SystemLib"))
        softmax = _module_function(c, lib, "tvmgen_default_fused_nn_softmax")
        args = [(DLTENSOR, Tensor(_alloc(c, 40), (1, 0), 1, F32, [10], 0))][:nargs]
        with pytest.raises(RemoteError, match="no signature is known for this generated "
                                              "function"):
            c.call(softmax, *args)
        _still_serving(c)
    finally:
        _close(board)


@pytest.mark.parametrize("nargs", [0, 1])
def test_r1_graph_operator_called_with_too_few_arguments(graph_board: Path, nargs: int) -> None:
    board, c = _session(graph_board)
    try:
        lib = c.call_value(c.get_global("runtime.SystemLib"))
        softmax = _module_function(c, lib, "tvmgen_default_fused_nn_softmax")
        args = [(DLTENSOR, Tensor(_alloc(c, 40), (1, 0), 1, F32, [10], 0))][:nargs]
        with pytest.raises(RemoteError, match=f"compiled for 2 tensor arguments, {nargs} given"):
            c.call(softmax, *args)
        _still_serving(c)
    finally:
        _close(board)


def test_r2_small_tensors_cannot_reach_an_operator(graph_board: Path) -> None:
    """R2: layout_transform writes 3,072 bytes; a 64-byte destination is refused, and the
    allocations that follow it are intact (the inference after it is bit-exact)."""
    board, c = _session(graph_board)
    try:
        src, dst = _alloc(c, 64), _alloc(c, 64)
        neighbours = [_alloc(c, 64) for _ in range(8)]
        for n in neighbours:
            c.copy_to(Tensor(n, (1, 0), 1, (1, 8, 1), [64], 0), bytes(range(64)))
        lib = c.call_value(c.get_global("runtime.SystemLib"))
        op = _module_function(c, lib, "tvmgen_default_fused_layout_transform")
        with pytest.raises(RemoteError, match="argument 0 is float32 of 16 bytes, the operator "
                                              "was compiled for float32 of 3072 bytes"):
            c.call(op, (DLTENSOR, Tensor(src, (1, 0), 1, F32, [4], 0)),
                   (DLTENSOR, Tensor(dst, (1, 0), 1, F32, [4], 0)))
        for n in neighbours:
            assert c.copy_from(Tensor(n, (1, 0), 1, (1, 8, 1), [64], 0), 64) == bytes(range(64))
        graph = (GRAPH / "executor-config" / "graph" / "default.graph").read_bytes()
        expected = np.load(GRAPH / "tvm_crt_output_0.npy").tobytes()
        assert _graph_inference(c, graph) == expected
    finally:
        _close(board)


def test_r2_matching_arguments_still_reach_an_operator(graph_board: Path) -> None:
    """The check lets through exactly what the operator was compiled for: softmax of 10."""
    board, c = _session(graph_board)
    try:
        src, dst = _alloc(c, 40), _alloc(c, 40)
        c.copy_to(Tensor(src, (1, 0), 2, F32, [1, 10], 0), np.zeros(10, np.float32).tobytes())
        lib = c.call_value(c.get_global("runtime.SystemLib"))
        op = _module_function(c, lib, "tvmgen_default_fused_nn_softmax")
        c.call(op, (DLTENSOR, Tensor(src, (1, 0), 2, F32, [1, 10], 0)),
               (DLTENSOR, Tensor(dst, (1, 0), 2, F32, [1, 10], 0)))
        probs = np.frombuffer(c.copy_from(Tensor(dst, (1, 0), 2, F32, [1, 10], 0), 40), np.float32)
        assert np.allclose(probs, 0.1)
        # Same bytes, another dtype: refused.
        with pytest.raises(RemoteError, match="argument 1 is int32 of 40 bytes"):
            c.call(op, (DLTENSOR, Tensor(src, (1, 0), 2, F32, [1, 10], 0)),
                   (DLTENSOR, Tensor(dst, (1, 0), 2, (0, 32, 1), [1, 10], 0)))
    finally:
        _close(board)


def test_r2_graph_json_with_smaller_shapes_is_refused(graph_board: Path) -> None:
    """The same class through tvm.graph_executor.create: a JSON declaring smaller shapes than
    the compiled operators is refused when the executor is created, nothing is run."""
    graph_path = GRAPH / "executor-config" / "graph" / "default.graph"
    graph = json.loads(graph_path.read_text())
    shrunk = json.loads(json.dumps(graph))
    shrunk["attrs"]["shape"][1] = [[1, 4] for _ in shrunk["attrs"]["shape"][1]]
    board, c = _session(graph_board)
    try:
        lib = c.call_value(c.get_global("runtime.SystemLib"))
        create = c.get_global("tvm.graph_executor.create")
        with pytest.raises(RemoteError, match=r"graph node \d+: argument 0 is float32 of 16 "
                                              r"bytes, the operator was compiled for float32"):
            c.call(create, (STR, json.dumps(shrunk)), (MODULE, lib), (INT, 1), (INT, 0))
        # One output shape of one node shrunk is enough.
        one = json.loads(json.dumps(graph))
        last = len(one["attrs"]["shape"][1]) - 1
        one["attrs"]["shape"][1][last] = [1, 1]
        with pytest.raises(RemoteError, match=r"argument 1 is float32 of 4 bytes"):
            c.call(create, (STR, json.dumps(one)), (MODULE, lib), (INT, 1), (INT, 0))
        expected = np.load(GRAPH / "tvm_crt_output_0.npy").tobytes()
        assert _graph_inference(c, graph_path.read_bytes()) == expected
    finally:
        _close(board)


def test_time_evaluator_checks_the_same(graph_board: Path) -> None:
    board, c = _session(graph_board)
    try:
        lib = c.call_value(c.get_global("runtime.SystemLib"))
        create = c.get_global("runtime.RPCTimeEvaluator")
        timer = c.call_value(create, (MODULE, lib), (STR, "tvmgen_default_fused_layout_transform"),
                             (INT, 1), (INT, 0), (INT, 1), (INT, 1), (INT, 0), (INT, 100),
                             (INT, 0), (INT, 1), (INT, 0), (STR, ""))
        small = _alloc(c, 64)
        with pytest.raises(RemoteError, match="compiled for float32 of 3072 bytes"):
            c.call(timer, (DLTENSOR, Tensor(small, (1, 0), 1, F32, [4], 0)),
                   (DLTENSOR, Tensor(small, (1, 0), 1, F32, [4], 0)))
        _still_serving(c)
    finally:
        _close(board)
