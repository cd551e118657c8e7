"""utvm.mlf.open_mlf: the typed model (order, shapes, files) from synthetic MLFs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from testsupport import REPO_ROOT
from utvm.errors import UtvmError
from utvm.mlf import numpy_dtype, open_mlf, tensor_bytes

PACKED_METADATA_C = """\
#include <tvm/runtime/metadata_types.h>
static const int64_t kTvmgenMetadata_inputs_0_shape[2] = {
1L,
4L};
static const int64_t kTvmgenMetadata_inputs_1_shape[1] = {
3L};
static const struct TVMTensorInfo kTvmgenMetadata_inputs[2] = {
{
"zeta" /* name*/,
kTvmgenMetadata_inputs_0_shape,
2L /* num_shape*/,
{2, 32, 1} /* dtype*/}
,
{
"alpha" /* name*/,
kTvmgenMetadata_inputs_1_shape,
1L /* num_shape*/,
{1, 8, 1} /* dtype*/}
};
static const int64_t kTvmgenMetadata_outputs_0_shape[2] = {
1L,
5L};
static const struct TVMTensorInfo kTvmgenMetadata_outputs[1] = {
{
"output0" /* name*/,
kTvmgenMetadata_outputs_0_shape,
2L /* num_shape*/,
{0, 16, 1} /* dtype*/}
};
"""


def test_c_interface_order_follows_the_header_not_the_alphabet(tmp_path, kit):
    metadata = kit.metadata_v7(
        {"zeta": ("float32", 16), "alpha:0": ("uint8", 3)}, {"out": ("int8", 2)}
    )
    folder = kit.write_tree(tmp_path / "m", {
        "metadata.json": json.dumps(metadata),
        "codegen/host/include/tvmgen_default.h": kit.interface_header(
            "default", ["zeta", "alpha_0"], ["out"]),
        "codegen/host/src/default_lib0.c": "",
        "parameters/default.params": kit.params_blob(),
        "src/default.relay": "def @main(%zeta: Tensor[(1, 4), float32], "
                             '%"alpha:0": Tensor[(3), uint8]) {\n}\n',
    })
    with open_mlf(folder) as mlf:
        assert mlf.executor_kind == "aot_c"
        assert mlf.interface_header.name == "tvmgen_default.h"
        assert [(t.name, t.dtype, t.shape) for t in mlf.inputs] == [
            ("zeta", "float32", (1, 4)),
            ("alpha:0", "uint8", (3,)),
        ]
        assert [(t.name, t.size_bytes, t.shape) for t in mlf.outputs] == [("out", 2, None)]
        assert mlf.order_source == "codegen/host/include/tvmgen_default.h"
        assert mlf.tvm_version == "0.18.0"
        assert (mlf.workspace_size_bytes, mlf.constants_size_bytes) == (256, 16)
        assert not mlf.has_params


def test_packed_interface_reads_the_generated_metadata_tables(tmp_path, kit):
    metadata = kit.metadata_v7(
        {"zeta": ("float32", 16), "alpha": ("uint8", 3)}, {"Identity": ("int16", 10)}
    )
    folder = kit.write_tree(tmp_path / "m", {
        "metadata.json": json.dumps(metadata),
        "codegen/host/src/default_lib0.c": "int registry;\n",
        "codegen/host/src/default_lib1.c": PACKED_METADATA_C,
        "parameters/default.params": kit.params_blob(),
    })
    with open_mlf(folder) as mlf:
        assert mlf.executor_kind == "aot_packed"
        assert [(t.name, t.dtype, t.shape) for t in mlf.inputs] == [
            ("zeta", "float32", (1, 4)),
            ("alpha", "uint8", (3,)),
        ]
        assert [(t.name, t.dtype, t.shape, t.size_bytes) for t in mlf.outputs] == [
            ("Identity", "int16", (1, 5), 10)
        ]
        assert mlf.order_source == "codegen/host/src/default_lib1.c"
        assert [p.name for p in mlf.c_sources] == ["default_lib0.c", "default_lib1.c"]


def test_packed_shapes_that_contradict_metadata_are_reported(tmp_path, kit):
    metadata = kit.metadata_v7(
        {"zeta": ("float32", 20), "alpha": ("uint8", 3)}, {"Identity": ("int16", 10)}
    )
    folder = kit.write_tree(tmp_path / "m", {
        "metadata.json": json.dumps(metadata),
        "codegen/host/src/default_lib1.c": PACKED_METADATA_C,
    })
    with pytest.raises(UtvmError, match=r"input 'zeta' is 20 bytes in metadata.json but shape"):
        open_mlf(folder)


def graph_with_params():
    return {
        "nodes": [
            {"op": "null", "name": "data", "inputs": []},
            {"op": "null", "name": "p0", "inputs": []},
            {"op": "tvm_op", "name": "f", "inputs": [[0, 0, 0], [1, 0, 0]],
             "attrs": {"func_name": "f", "num_inputs": "2", "num_outputs": "1",
                       "flatten_data": "0"}},
        ],
        "arg_nodes": [0, 1],
        "heads": [[2, 0, 0]],
        "node_row_ptr": [0, 1, 2, 3],
        "attrs": {
            "dltype": ["list_str", ["int8", "int8", "int32"]],
            "storage_id": ["list_int", [0, 1, 2]],
            "shape": ["list_shape", [[1, 8], [8], [1, 2]]],
        },
    }


def test_graph_executor_inputs_skip_parameters(tmp_path, kit):
    metadata = kit.metadata_v7({"data": ("int8", 8)}, {"scores": ("int32", 8)}, executor="graph")
    folder = kit.write_tree(tmp_path / "m", {
        "metadata.json": json.dumps(metadata),
        "codegen/host/src/default_lib0.c": "",
        "executor-config/graph/default.graph": json.dumps(graph_with_params()),
        "parameters/default.params": kit.params_blob({"p0": bytes(8)}),
    })
    with open_mlf(folder) as mlf:
        assert mlf.executor_kind == "graph"
        assert mlf.interface == "packed"
        assert mlf.has_params and mlf.param_names == ("p0",)
        assert [(t.name, t.shape) for t in mlf.inputs] == [("data", (1, 8))]
        assert [(t.name, t.dtype, t.shape) for t in mlf.outputs] == [("scores", "int32", (1, 2))]
        summary = mlf.summary()
        assert summary["files"]["graph_json"] == "executor-config/graph/default.graph"
        assert summary["params"] == ["p0"]


def test_graph_executor_without_graph_json_is_incomplete(tmp_path, kit):
    metadata = kit.metadata_v7({"data": ("int8", 8)}, {"scores": ("int32", 8)}, executor="graph")
    folder = kit.write_tree(tmp_path / "m", {
        "metadata.json": json.dumps(metadata),
        "codegen/host/src/default_lib0.c": "",
    })
    with pytest.raises(UtvmError, match=r"no executor-config/graph/default\.graph"):
        open_mlf(folder)


def test_missing_generated_code_is_reported(tmp_path, kit):
    metadata = kit.metadata_v7({"x": ("int8", 1)}, {"y": ("int8", 1)})
    folder = kit.write_tree(tmp_path / "m", {"metadata.json": json.dumps(metadata)})
    with pytest.raises(UtvmError, match="no generated code for module 'default'"):
        open_mlf(folder)


def test_header_and_metadata_disagreeing_on_inputs_is_reported(aot_c_mlf, kit):
    header = aot_c_mlf / "codegen/host/include/tvmgen_default.h"
    header.write_text(kit.interface_header("default", ["input_1", "extra"], ["Identity"]))
    with pytest.raises(UtvmError, match=r"metadata.json lists 1 inputs .* declares 2"):
        open_mlf(aot_c_mlf)


def test_corrupt_params_file_is_reported(aot_c_mlf):
    (aot_c_mlf / "parameters/default.params").write_bytes(b"not a params file at all......")
    with pytest.raises(UtvmError, match="not a TVM parameter file"):
        open_mlf(aot_c_mlf)


def test_folder_without_metadata_says_what_to_do(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "other").mkdir()
    with pytest.raises(UtvmError, match=r"no metadata.json .* --output-format mlf"):
        open_mlf(tmp_path)


def test_generated_project_points_to_its_model_tar(tmp_path):
    (tmp_path / "model.tar").write_bytes(b"")
    (tmp_path / "src").mkdir()
    with pytest.raises(UtvmError, match=r"Give .*model\.tar instead"):
        open_mlf(tmp_path)


def two_module_mlf(tmp_path, kit):
    first = kit.metadata_v7({"a": ("int8", 1)}, {"b": ("int8", 1)}, module="first")
    second = kit.metadata_v7({"c": ("int8", 2)}, {"d": ("int8", 2)}, module="second")
    first["modules"].update(second["modules"])
    return kit.write_tree(tmp_path / "m", {
        "metadata.json": json.dumps(first),
        "codegen/host/include/tvmgen_first.h": kit.interface_header("first", ["a"], ["b"]),
        "codegen/host/include/tvmgen_second.h": kit.interface_header("second", ["c"], ["d"]),
        "codegen/host/src/first_lib0.c": "",
        "codegen/host/src/second_lib0.c": "",
        "codegen/host/src/second_lib1.c": "",
    })


def test_several_modules_need_a_choice(tmp_path, kit):
    folder = two_module_mlf(tmp_path, kit)
    with pytest.raises(UtvmError, match=r"several modules \(first, second\).*--module"):
        open_mlf(folder)
    with pytest.raises(UtvmError, match="no module 'third'"):
        open_mlf(folder, module="third")


def test_chosen_module_gets_only_its_own_files(tmp_path, kit):
    with open_mlf(two_module_mlf(tmp_path, kit), module="second") as mlf:
        assert mlf.module_name == "second"
        assert mlf.module_names == ("first", "second")
        assert [p.name for p in mlf.c_sources] == ["second_lib0.c", "second_lib1.c"]
        assert [t.name for t in mlf.inputs] == ["c"]


@pytest.mark.parametrize(
    ("dtype", "shape", "expected"),
    [("int8", (1, 12), 12), ("float32", (2, 3), 24), ("bool", (10,), 2), ("float32x4", (2,), 32)],
)
def test_tensor_bytes(dtype, shape, expected):
    assert tensor_bytes(dtype, shape) == expected


def test_numpy_dtype_is_little_endian_and_rejects_unsupported_types():
    assert numpy_dtype("int16") == np.dtype("<i2")
    assert numpy_dtype("bool") == np.dtype(bool)
    with pytest.raises(UtvmError, match="bfloat16"):
        numpy_dtype("bfloat16")
    with pytest.raises(UtvmError, match="unknown tensor dtype 'complex'"):
        tensor_bytes("complex", (1,))


def test_a_folder_of_several_exports_names_them() -> None:
    """samples/models/tiny_conv_f32 holds aot_packed/ and aot_c/: the error says which to give."""
    bundled = REPO_ROOT / "samples" / "models" / "tiny_conv_f32"
    with pytest.raises(UtvmError, match="holds several Model Library Formats") as caught:
        open_mlf(bundled)
    assert str(bundled / "aot_packed") in str(caught.value)
    assert str(bundled / "aot_c") in str(caught.value)
