"""utvm.mlf.runtime_memory and the RPC app's arena: every byte counted once.

AOT code built with USMP holds its workspace in a static buffer, so the arena must not hold
it again; code that calls TVMBackendAllocWorkspace takes it from the arena; the graph
executor's storage holds the parameters the host uploads.
"""

from __future__ import annotations

import json
from pathlib import Path

from utvm.board.apps import rpc_memory_for
from utvm.mlf import open_mlf
from utvm.mlf.runtime_memory import PAGE_BYTES, model_memory

GRAPH_PARAMS_JSON = {
    "nodes": [{"op": "null", "name": "input", "inputs": []},
              {"op": "null", "name": "p0", "inputs": []},
              {"op": "tvm_op", "name": "add", "inputs": [[0, 0, 0], [1, 0, 0]],
               "attrs": {"func_name": "tvmgen_default_add", "num_inputs": "2",
                         "num_outputs": "1", "flatten_data": "0"}}],
    "arg_nodes": [0, 1], "heads": [[2, 0, 0]], "node_row_ptr": [0, 1, 2, 3],
    "attrs": {"dltype": ["list_str", ["float32", "int8", "float32"]],
              "shape": ["list_shape", [[1, 768], [9000], [1, 768]]],
              "storage_id": ["list_int", [0, 1, 2]]},
}


def _arena(mlf_dir: Path) -> int:
    with open_mlf(mlf_dir) as mlf:
        return int(rpc_memory_for(mlf)["CONFIG_UTVM_ARENA_SIZE"])


def _aot_packed(tmp_path: Path, kit, source: str, workspace: int) -> Path:
    metadata = kit.metadata_v7({"input": ("int8", 490)}, {"output": ("int8", 12)})
    metadata["modules"]["default"]["memory"]["functions"]["main"][0][
        "workspace_size_bytes"] = workspace
    return kit.write_tree(tmp_path / "aot", {
        "metadata.json": json.dumps(metadata),
        "codegen/host/src/default_lib0.c": source,
    })


def test_aot_workspace_held_by_the_code_is_not_in_the_arena(tmp_path: Path, kit) -> None:
    model = _aot_packed(tmp_path, kit, "static uint8_t global_workspace[200000];\n", 200000)
    with open_mlf(model) as mlf:
        memory = model_memory(mlf)
    assert memory.static_workspace_bytes == 200000
    assert memory.runtime_workspace_bytes == 0
    assert _arena(model) < 200000 // 4


def test_aot_workspace_asked_of_the_runtime_is_in_the_arena(tmp_path: Path, kit) -> None:
    model = _aot_packed(tmp_path, kit, "void* p = TVMBackendAllocWorkspace(1, 0, "
                        "(uint64_t)200000, 0, 8);\n", 200000)
    with open_mlf(model) as mlf:
        memory = model_memory(mlf)
    assert memory.static_workspace_bytes == 0
    assert memory.runtime_workspace_bytes == 200000
    assert _arena(model) >= 200000 + 490 + 12


def test_graph_arena_holds_storage_uploaded_params_and_the_largest_operator(
        tmp_path: Path, kit) -> None:
    metadata = kit.metadata_v7({"input": ("float32", 3072)}, {"output": ("float32", 3072)},
                               executor="graph")
    metadata["modules"]["default"]["memory"]["functions"]["operator_functions"] = [
        {"function_name": "small", "workspace": [{"device": 1, "workspace_size_bytes": 100}]},
        {"function_name": "large", "workspace": [{"device": 1,
                                                  "workspace_size_bytes": 40000}]}]
    model = kit.write_tree(tmp_path / "graph", {
        "metadata.json": json.dumps(metadata),
        "codegen/host/src/default_lib1.c": "int op;\n",
        "executor-config/graph/default.graph": json.dumps(GRAPH_PARAMS_JSON),
        "parameters/default.params": kit.params_blob({"p0": bytes(9000)}),
    })
    with open_mlf(model) as mlf:
        memory = model_memory(mlf)
    assert memory.graph_storage_bytes == 3072 + 9000 + 3072
    assert memory.runtime_workspace_bytes == 40000  # one operator at a time
    assert memory.params_bytes > 9000
    # host tensors, three storage buffers, the largest workspace, each rounded to pages
    assert _arena(model) >= 2 * 3072 + 3072 + 9000 + 3072 + 40000 + 6 * PAGE_BYTES


def test_real_aot_model_arena_leaves_out_its_static_workspace(tvm_fixtures: Path) -> None:
    """kws aot_packed: 104,192 B of workspace in default_lib0.c; the arena was 110,592 B."""
    model = tvm_fixtures / "kws_ref_model" / "aot_packed"
    with open_mlf(model) as mlf:
        memory = model_memory(mlf)
        assert memory.static_workspace_bytes == mlf.workspace_size_bytes == 104192
    assert _arena(model) <= 8192


def test_real_graph_params_arena_holds_the_peak_seen_on_the_board(tvm_fixtures: Path) -> None:
    """kws graph_params on native_sim ran out of memory at its peak: 164,608 B in use
    (storage, tables, the operator's first 24,192 B) when 32,000 B more were asked, with
    an arena of 189,440 usable bytes. The arena's pages must hold that peak."""
    arena = _arena(tvm_fixtures / "kws_ref_model" / "graph_params")
    usable_pages = (arena - 64) // (PAGE_BYTES + 4)
    assert usable_pages * PAGE_BYTES >= 164608 + 32000
