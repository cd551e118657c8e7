"""utvm.mlf.metadata: metadata.json is validated per MLF version, errors name the field."""

from __future__ import annotations

import json

import pytest

from utvm.errors import UtvmError
from utvm.mlf import load_metadata, open_mlf


def write_metadata(folder, data):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "metadata.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


@pytest.fixture
def valid(kit):
    return kit.metadata_v7({"input_1": ("int8", 12)}, {"Identity": ("int8", 12)})


def main_entry(metadata):
    return metadata["modules"]["default"]["memory"]["functions"]["main"][0]


def test_valid_version_7_loads(tmp_path, valid):
    assert load_metadata(write_metadata(tmp_path, valid)) == valid


def test_missing_file_says_it_is_not_an_mlf(tmp_path):
    with pytest.raises(UtvmError, match=r"metadata\.json is missing"):
        load_metadata(tmp_path / "metadata.json")


def test_invalid_json_gives_line_and_column(tmp_path):
    path = write_metadata(tmp_path, '{\n  "version": 7,\n  oops\n}')
    with pytest.raises(UtvmError, match=r"not valid JSON: .* line 3, column 3"):
        load_metadata(path)


def test_a_json_list_is_not_metadata(tmp_path):
    with pytest.raises(UtvmError, match="JSON list, not an object"):
        load_metadata(write_metadata(tmp_path, [1, 2]))


def test_foreign_json_without_version(tmp_path):
    with pytest.raises(UtvmError, match="no 'version' field"):
        load_metadata(write_metadata(tmp_path, {"name": "something else"}))


@pytest.mark.parametrize("version", [3, 4, 8])
def test_unsupported_versions_are_named(tmp_path, valid, version):
    valid["version"] = version
    with pytest.raises(UtvmError, match=f"version {version} is not supported"):
        load_metadata(write_metadata(tmp_path, valid))


def test_version_must_be_an_integer(tmp_path, valid):
    valid["version"] = "7"
    with pytest.raises(UtvmError, match="'version' must be an integer"):
        load_metadata(write_metadata(tmp_path, valid))


def test_operator_style_export_is_explained(tmp_path):
    operator = {"version": 7, "model_name": "op", "style": "operator", "memory": {},
                "target": ["c"], "executors": []}
    with pytest.raises(UtvmError, match="operator-style export"):
        load_metadata(write_metadata(tmp_path, operator))


def test_two_executors_name_the_field(tmp_path, valid):
    valid["modules"]["default"]["executors"] = ["aot", "graph"]
    with pytest.raises(UtvmError, match=r"/modules/default/executors: .*max"):
        load_metadata(write_metadata(tmp_path, valid))


def test_unknown_executor_names_the_field(tmp_path, valid):
    valid["modules"]["default"]["executors"] = ["vm"]
    with pytest.raises(UtvmError, match=r"/modules/default/executors/0: Enum 'vm'"):
        load_metadata(write_metadata(tmp_path, valid))


def test_missing_required_field_is_named(tmp_path, valid):
    del main_entry(valid)["workspace_size_bytes"]
    path = write_metadata(tmp_path, valid)
    with pytest.raises(UtvmError) as caught:
        load_metadata(path)
    message = str(caught.value)
    assert str(path) in message
    assert (
        "/modules/default/memory/functions/main/0/workspace_size_bytes: required field is "
        "missing" in message
    )


def test_wrong_type_is_named_with_its_value(tmp_path, valid):
    main_entry(valid)["inputs"]["input_1"]["size"] = "twelve"
    with pytest.raises(UtvmError, match=r"/inputs/input_1/size: Value 'twelve' is not of type"):
        load_metadata(write_metadata(tmp_path, valid))


def test_negative_size_is_refused(tmp_path, valid):
    main_entry(valid)["outputs"]["Identity"]["size"] = -1
    with pytest.raises(UtvmError, match=r"/outputs/Identity/size: .*less than min limit"):
        load_metadata(write_metadata(tmp_path, valid))


def test_every_problem_is_listed_at_once(tmp_path, valid):
    module = valid["modules"]["default"]
    del module["model_name"]
    module["target"] = "c"
    with pytest.raises(UtvmError) as caught:
        load_metadata(write_metadata(tmp_path, valid))
    assert "/modules/default/model_name: required field is missing" in str(caught.value)
    assert "/modules/default/target: Value 'c' is not a list" in str(caught.value)


def test_extra_unknown_fields_are_tolerated(tmp_path, valid):
    valid["modules"]["default"]["future_field"] = {"anything": 1}
    valid["producer"] = "a newer exporter"
    assert load_metadata(write_metadata(tmp_path, valid))["producer"] == "a newer exporter"


def flat_metadata(version, target):
    return {
        "version": version,
        "model_name": "default",
        "style": "full-model",
        "executors": ["graph"],
        "export_datetime": "2021-08-01 10:00:00Z",
        "target": target,
        "memory": {
            "functions": {"main": [{"device": 1, "workspace_size_bytes": 64}]},
            "sids": [{"storage_id": 0, "size_bytes": 8, "input_binding": "x"}],
        },
    }


def test_version_6_has_a_target_list(tmp_path):
    load_metadata(write_metadata(tmp_path, flat_metadata(6, ["c -keys=cpu"])))
    with pytest.raises(UtvmError, match=r"/target: .*not a list"):
        load_metadata(write_metadata(tmp_path, flat_metadata(6, {"1": "c"})))


def test_version_5_has_a_target_map(tmp_path):
    load_metadata(write_metadata(tmp_path, flat_metadata(5, {"1": "c -keys=cpu"})))
    with pytest.raises(UtvmError, match=r"/target: .*not a dict"):
        load_metadata(write_metadata(tmp_path, flat_metadata(5, ["c"])))


def graph_json(input_shape, output_shape):
    return json.dumps({
        "nodes": [
            {"op": "null", "name": "x", "inputs": []},
            {"op": "tvm_op", "name": "f", "inputs": [[0, 0, 0]],
             "attrs": {"func_name": "f", "num_inputs": "1", "num_outputs": "1",
                       "flatten_data": "0"}},
        ],
        "arg_nodes": [0],
        "heads": [[1, 0, 0]],
        "node_row_ptr": [0, 1, 2],
        "attrs": {
            "dltype": ["list_str", ["float32", "float32"]],
            "storage_id": ["list_int", [0, 1]],
            "shape": ["list_shape", [input_shape, output_shape]],
        },
    })


@pytest.mark.parametrize(("version", "target"), [(5, {"1": "c"}), (6, ["c"])])
def test_flat_layouts_open_as_a_model(tmp_path, kit, version, target):
    folder = kit.write_tree(tmp_path / "old", {
        "metadata.json": json.dumps(flat_metadata(version, target)),
        "codegen/host/src/lib0.c": "int x;\n",
        "executor-config/graph/graph.json": graph_json([1, 2], [1, 3]),
        "parameters/default.params": kit.params_blob(),
        "src/relay.txt": "def @main(%x: Tensor[(1, 2), float32]) {\n}\n",
    })
    with open_mlf(folder) as mlf:
        assert mlf.mlf_version == version
        assert mlf.executor == "graph"
        assert mlf.targets == ("c",)
        assert mlf.graph_json_path.name == "graph.json"
        assert mlf.relay_path.name == "relay.txt"
        assert [(t.name, t.shape, t.size_bytes) for t in mlf.inputs] == [("x", (1, 2), 8)]
        assert [(t.name, t.shape, t.size_bytes) for t in mlf.outputs] == [
            ("output0", (1, 3), 12)
        ]
        assert mlf.tvm_version is None
