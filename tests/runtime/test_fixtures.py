"""Real TVM 0.18 models on our runtime, on the host, under ASan and UBSan.

For every model and variant in ../shared/fixtures/tvm-0.18: compile the MLF's generated
code with our runtime (the host runner), feed input_<i>.npy and compare:
  * bit for bit with tvm_crt_output_<i>.npy (TVM's own C runtime ran the same generated
    code, so any difference is our bug);
  * within fixture.json's tolerance_vs_expected of expected_output_<i>.npy (the TFLite
    interpreter's or numpy's result), which shows the model is the right one.
The CMSIS-NN variants (../shared/fixtures/tvm-0.18-cmsis-nn) are compiled with CMSIS-NN's
portable C code from UTVM_CMSIS_NN_DIR (or ../shared/third_party/cmsis-nn-*), as their
tvm_crt_output_<i>.npy were.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from testsupport import (
    CMSIS_NN_FIXTURES_MISSING,
    FIXTURES_MISSING,
    cmsis_nn_dir,
    cmsis_nn_variants,
    fixture_variants,
)

VARIANTS = fixture_variants()
CMSIS_NN_VARIANTS = cmsis_nn_variants()


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.skipif(not VARIANTS, reason=FIXTURES_MISSING)
@pytest.mark.parametrize("variant", VARIANTS, ids=_id)
def test_fixture_runs_bit_exact(variant: Path, host_runner, tmp_path: Path) -> None:
    _run_bit_exact(variant, host_runner(variant), tmp_path)


@pytest.mark.skipif(not CMSIS_NN_VARIANTS, reason=CMSIS_NN_FIXTURES_MISSING)
@pytest.mark.parametrize("variant", CMSIS_NN_VARIANTS, ids=_id)
def test_cmsis_nn_fixture_runs_bit_exact(variant: Path, host_runner, tmp_path: Path) -> None:
    exe = host_runner(variant, cmsis_nn=cmsis_nn_dir())
    _run_bit_exact(variant, exe, tmp_path)


def _run_bit_exact(variant: Path, exe: Path, tmp_path: Path) -> None:
    spec = json.loads((variant / "fixture.json").read_text())

    args = [str(exe)]
    graph = variant / "executor-config" / "graph" / "default.graph"
    if graph.exists():
        args += ["--graph", str(graph)]
    if variant.name == "graph_params":
        # Parameters are not linked into this variant: upload them as TVM's host does.
        args += ["--params", str(variant / "parameters" / "default.params")]
    for i, name in enumerate(spec["inputs"]):
        x = np.load(variant / f"input_{i}.npy")
        shape, dtype = spec["inputs"][name]
        assert list(x.shape) == shape and str(x.dtype) == dtype
        path = tmp_path / f"input_{i}.bin"
        x.tofile(path)
        args += ["--input", f"{re.sub(r'[^A-Za-z0-9]', '_', name)}={path}"]
    expected_tvm = sorted(variant.glob("tvm_crt_output_*.npy"))
    assert expected_tvm, f"{variant} has no tvm_crt_output_*.npy"
    for i in range(len(expected_tvm)):
        args += ["--output", str(tmp_path / f"output_{i}.bin")]

    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"runner failed:\n{proc.stderr}"
    report = json.loads(proc.stdout)
    assert len(report["outputs"]) == len(expected_tvm)

    tolerances = spec["tolerance_vs_expected"]
    for i, tvm_file in enumerate(expected_tvm):
        tvm_out = np.load(tvm_file)
        got = np.fromfile(tmp_path / f"output_{i}.bin", dtype=tvm_out.dtype)
        assert got.size == tvm_out.size, f"output {i}: {got.size} elements, {tvm_out.size} expected"
        got = got.reshape(tvm_out.shape)
        if report["outputs"][i]["shape"] is not None:
            assert tuple(report["outputs"][i]["shape"]) == tvm_out.shape
        assert report["outputs"][i]["dtype"] in ("", str(tvm_out.dtype))
        mismatch = np.flatnonzero(got.view(np.uint8) != tvm_out.view(np.uint8))
        assert mismatch.size == 0, (
            f"output {i} differs from TVM's own runtime in {mismatch.size} bytes, "
            f"first at byte {mismatch[0]}"
        )
        reference = np.load(variant / f"expected_output_{i}.npy")
        diff = np.abs(got.astype(np.float64) - reference.astype(np.float64)).max()
        assert diff <= tolerances[i], (
            f"output {i}: max |ours - reference| = {diff} > {tolerances[i]}"
        )
