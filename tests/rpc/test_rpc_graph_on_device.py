"""The graph executor running on the device, driven over RPC (tvm.graph_executor.create, which
TVM's Zephyr template leaves out): JSON and parameters travel as one request each, so the
board is built with large packets; the output must be TVM's bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from board import Board, build_host_board
from rpc_client import Client
from wire_codec import BOOL, BYTES, INT, MODULE, STR, Tensor

from testsupport import FIXTURES_MISSING, FIXTURES_ROOT

VARIANT = FIXTURES_ROOT / "tiny_conv_f32" / "graph_params"
MAX_PACKET = 65536


def _module_function(c: Client, module: int, name: str) -> int:
    mgf = c.get_global("tvm.rpc.server.ModuleGetFunction")
    return c.call_value(mgf, (MODULE, module), (STR, name), (BOOL, 1))


def test_graph_executor_on_device(build_root: Path) -> None:
    if not (VARIANT / "metadata.json").exists():
        pytest.skip(FIXTURES_MISSING)
    exe = build_host_board(build_root, VARIANT, max_packet=MAX_PACKET)
    board = Board(exe)
    try:
        c = Client(board)
        c.handshake()
        max_packet = c.call_value(c.get_global("utvm.rpc.GetMaxPacketSize"))
        assert max_packet == MAX_PACKET - 11
        graph = (VARIANT / "executor-config" / "graph" / "default.graph").read_bytes()
        params = (VARIANT / "parameters" / "default.params").read_bytes()
        system_lib = c.call_value(c.get_global("runtime.SystemLib"))
        executor = c.call_value(c.get_global("tvm.graph_executor.create"), (STR, graph),
                                (MODULE, system_lib), (INT, 1), (INT, 0))
        c.call(_module_function(c, executor, "load_params"), (BYTES, params))
        data = np.load(VARIANT / "input_0.npy")
        get_input = _module_function(c, executor, "get_input")
        inp: Tensor = c.call(get_input, (STR, "input")).values[1].value
        assert inp.shape == list(data.shape)
        c.copy_to(inp, data.astype(np.float32).tobytes())
        c.call(_module_function(c, executor, "run"))
        out: Tensor = c.call(_module_function(c, executor, "get_output"), (INT, 0)).values[1].value
        expected = np.load(VARIANT / "tvm_crt_output_0.npy")
        got = c.copy_from(out, expected.nbytes)
        assert got == expected.tobytes()
    finally:
        stderr = board.close()
    assert "AddressSanitizer" not in stderr and "runtime error" not in stderr, stderr
