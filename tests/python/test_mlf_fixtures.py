"""Every real TVM 0.18 fixture loads, and the typed model matches what produced it."""

from __future__ import annotations

import json

import numpy as np

from utvm.mlf import numpy_dtype, open_mlf

EXPECTED_KIND = {
    "aot_c_usmp": "aot_c",
    "aot_packed": "aot_packed",
    "graph": "graph",
    "graph_params": "graph",
    "cmsis_nn": "aot_c",
    "cmsis_nn_cortex_m4": "aot_c",
    "cmsis_nn_aot_packed": "aot_packed",
}


def test_fixture_loads_with_the_right_signature(fixture_dir):
    recipe = json.loads((fixture_dir / "fixture.json").read_text())
    with open_mlf(fixture_dir) as mlf:
        assert mlf.mlf_version == 7
        assert mlf.module_name == "default"
        assert mlf.executor_kind == EXPECTED_KIND[fixture_dir.name]
        # CMSIS-NN variants list two targets: c, then cmsis-nn.
        assert mlf.targets == tuple(recipe.get("targets", [recipe["target"]]))
        assert mlf.targets[0] == recipe["target"]
        # fixture.json lists the inputs in model order with shapes and dtypes.
        assert [(t.name, list(t.shape), t.dtype) for t in mlf.inputs] == [
            (name, shape, dtype) for name, (shape, dtype) in recipe["inputs"].items()
        ]
        for index, info in enumerate(mlf.inputs):
            sample = np.load(fixture_dir / f"input_{index}.npy")
            assert sample.nbytes == info.size_bytes
            assert sample.dtype == numpy_dtype(info.dtype)
        for index, info in enumerate(mlf.outputs):
            reference = np.load(fixture_dir / f"tvm_crt_output_{index}.npy")
            assert reference.nbytes == info.size_bytes
            assert reference.dtype == numpy_dtype(info.dtype)
            if info.shape is not None:
                assert info.shape == reference.shape
        assert len(mlf.outputs) == len(list(fixture_dir.glob("tvm_crt_output_*.npy")))
        assert mlf.c_sources and all(p.is_file() for p in mlf.c_sources)
        assert mlf.workspace_size_bytes > 0


def test_fixture_files_match_its_executor(fixture_dir):
    with open_mlf(fixture_dir) as mlf:
        if mlf.executor == "graph":
            assert mlf.graph_json_path is not None and mlf.graph_json_path.is_file()
            assert mlf.tvm_version is None  # no external_dependencies without AOT+CRT
            assert all(t.shape is not None for t in (*mlf.inputs, *mlf.outputs))
        else:
            assert mlf.graph_json_path is None
            assert mlf.tvm_version == "0.18.0"
        if fixture_dir.name == "aot_c_usmp":
            assert mlf.interface_header is not None
            assert all(t.shape is None for t in mlf.outputs)
        # Only the graph_params variant keeps parameters out of the generated code.
        assert mlf.has_params == (fixture_dir.name == "graph_params")


def test_fixture_as_gzip_archive_matches_the_folder(fixture_dir, kit, tmp_path):
    archive = tmp_path / "model.tar.gz"
    kit.tar_of_folder(fixture_dir, archive, compression="gz")
    with open_mlf(fixture_dir) as from_folder, open_mlf(archive) as from_archive:
        expected = from_folder.summary()
        actual = from_archive.summary()
        for summary in (expected, actual):
            summary.pop("source")
        assert actual == expected
