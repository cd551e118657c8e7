"""MLFs other people exported with their own TVM (../shared/fixtures/foreign, README there).

Each runs bit for bit like the C runtime of the TVM that made it, through ``utvm run`` (the
host runner: these are C-interface models) and a plain CMake app with ``utvm_add_model()``;
code generated for an Arm DSP core is refused on this computer with the place it runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mlfsupport import APP, run_app

from testsupport import REPO_ROOT, cmake_exe

FOREIGN = REPO_ROOT.parent / "shared" / "fixtures" / "foreign"
pytestmark = pytest.mark.skipif(
    not FOREIGN.is_dir(), reason="foreign MLF fixtures not found at ../shared/fixtures/foreign"
)

# name -> (MLF version, TVM version metadata.json names, output shape as the model has it)
PORTABLE = {
    "sine_aot": (5, None, (1,)),  # TVM 0.8 records no output shape: kept flat
    "esp32_QDQ_project": (7, "0.14.dev0", (1, 10)),
}


def utvm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "utvm", *args], capture_output=True, text=True,
                          check=False, timeout=900)


@pytest.mark.parametrize("name", PORTABLE)
def test_utvm_run_is_bit_exact(name: str, tmp_path: Path) -> None:
    folder = FOREIGN / name
    proc = utvm("run", str(folder / "model.tar.gz"), "--input", str(folder / "input_0.npy"),
                "--output-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    got = np.load(tmp_path / "output_0.npy")
    expected = np.load(folder / "tvm_crt_output_0.npy")
    assert got.shape == PORTABLE[name][2]
    assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("name", PORTABLE)
def test_utvm_info(name: str) -> None:
    proc = utvm("info", "--json", str(FOREIGN / name / "model.tar.gz"))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    version, tvm, shape = PORTABLE[name]
    assert (info["mlf_version"], info["tvm_version"]) == (version, tvm)
    assert info["outputs"][0]["dtype"] == str(np.load(FOREIGN / name / "tvm_crt_output_0.npy")
                                              .dtype)
    assert info["outputs"][0]["shape"] == (None if version == 5 else list(shape))


@pytest.mark.parametrize("name", PORTABLE)
def test_add_model_app_is_bit_exact(name: str, tmp_path: Path) -> None:
    folder = FOREIGN / name
    (out,) = run_app(folder / "model.tar.gz", tmp_path / "build",
                     [np.load(folder / "input_0.npy")], 1)
    assert out == np.load(folder / "tvm_crt_output_0.npy").tobytes()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_arm_dsp_code_is_refused_with_where_it_runs(tmp_path: Path) -> None:
    folder = FOREIGN / "letscope"
    proc = utvm("run", str(folder / "model.tar.gz"), "--input", str(folder / "input_0.npy"),
                "--output-dir", str(tmp_path))
    assert proc.returncode != 0
    (error,) = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: the model's generated code is for an Arm Cortex-M "
                            "core with the DSP extension (target -mcpu=cortex-m7)")
    assert "#include <arm_acle.h>" in error and "__smlad" in error
    assert f"west utvm build -b mps2/an521/cpu1 --app aot_inference --mlf {folder}" in error
    assert "Traceback" not in proc.stderr and "arm_acle.h: No such file" not in proc.stderr
    assert not (tmp_path / "output_0.npy").exists()


def test_arm_dsp_code_is_refused_by_add_model_for_another_core(tmp_path: Path) -> None:
    proc = subprocess.run(
        [cmake_exe(), "-S", str(APP), "-B", str(tmp_path / "build"),
         f"-DUTVM_TEST_MLF={FOREIGN / 'letscope' / 'model.tar.gz'}",
         f"-DPython3_EXECUTABLE={sys.executable}"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode != 0
    message = _one_line(proc.stderr)
    assert "utvm_add_model(app): the model's generated code is for an Arm Cortex-M core" in message
    assert "It does not compile for this compiler's target" in message
    assert "mps2/an521/cpu1" in message


def test_arm_code_is_described_for_cmake(tmp_path: Path) -> None:
    """What utvm_add_model() learns: the reason (empty for portable code)."""
    from utvm.mlf.describe import describe

    for name, expected in (("letscope", "Arm Cortex-M core"), ("sine_aot", None)):
        fragment = describe(FOREIGN / name / "model.tar.gz", None, tmp_path / name)
        reason = next(line for line in fragment.read_text().splitlines()
                      if line.startswith("set(UTVM_DESCRIBED_ARM_CODE_REASON "))
        assert (expected in reason) if expected else reason.endswith("[=[]=])")


def test_info_says_where_arm_dsp_code_runs() -> None:
    proc = utvm("info", str(FOREIGN / "letscope" / "model.tar.gz"))
    assert proc.returncode == 0, proc.stderr
    assert ("runs on:     an Arm Cortex-M core with the DSP extension only, e.g. "
            "mps2/an521/cpu1") in proc.stdout
    assert "[0] StatefulPartitionedCall_0: int8, shape unknown, 1 B" in proc.stdout
