"""--cmsis-nn end to end with a real TVM 0.18 (found through TVM_HOME): the model is partitioned
for CMSIS-NN, its MLF calls CMSIS-NN and records the mcpu, and it runs on the host runner with
CMSIS-NN's portable code. Needs TVM_HOME (a built TVM 0.18 with its Python requirements) and
UTVM_TEST_TFLITE (an int8 .tflite, e.g. MLPerf Tiny's kws_ref_model.tflite); skips without."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from utvm.board.tvm_compile import CompileOptions, compile_model
from utvm.mlf import open_mlf
from utvm.mlf.cmsis_nn import detect


@pytest.fixture
def real_tvm_model() -> Path:
    if not os.environ.get("TVM_HOME"):
        pytest.skip("TVM_HOME is not set: the --cmsis-nn end-to-end test needs a built TVM 0.18")
    model = os.environ.get("UTVM_TEST_TFLITE")
    if not model or not Path(model).is_file():
        pytest.skip("UTVM_TEST_TFLITE does not name an int8 .tflite model (e.g. MLPerf Tiny's "
                    "kws_ref_model.tflite)")
    return Path(model)


@pytest.mark.slow
@pytest.mark.parametrize("mcpu", [None, "cortex-m33"], ids=["no-mcpu", "cortex-m33"])
def test_cmsis_nn_compile_and_run(real_tvm_model: Path, tmp_path: Path, mcpu: str | None,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from testsupport import cmsis_nn_dir
    from utvm.host import run_on_host

    options = CompileOptions("aot", "c", cmsis_nn=True, cmsis_nn_mcpu=mcpu)
    compiled = compile_model(real_tvm_model, tmp_path / "out", options, progress=io.StringIO())
    with open_mlf(compiled.archive) as mlf:
        assert mlf.targets[0].startswith("c ") and mlf.targets[1].startswith("cmsis-nn")
        use = detect(mlf.c_sources, mlf.targets)
        assert use is not None and use.mcpu == mcpu
        assert any(f.startswith("arm_") for f in use.functions)
        monkeypatch.setenv("UTVM_CMSIS_NN_DIR", str(cmsis_nn_dir()))
        inputs = [np.zeros(t.shape or (t.size_bytes,), dtype=np.int8) for t in mlf.inputs]
        result = run_on_host(compiled.archive, inputs)
    assert len(result.outputs) == len(mlf.outputs)
