"""--cmsis-nn end to end with a real TVM 0.18 (found through TVM_HOME): the model is partitioned
for CMSIS-NN, its MLF calls CMSIS-NN and records the mcpu, and it runs bit for bit like TVM's
own run of the same model: on the host runner, with `west utvm build` + `flash` + `run` on
native_sim (CMSIS-NN's portable code compiled with the image), through aot_inference on
mps2/an385 under QEMU, and, compiled with mcpu=cortex-m33, with CMSIS-NN's DSP code on
mps2/an521/cpu1 (the AN521 core Zephyr configures with the DSP extension).

The reference is ../shared/fixtures/tvm-0.18-cmsis-nn/<model>/cmsis_nn: TVM 0.18 compiled the
same .tflite with the same options, and its tvm_crt_output_0.npy is TVM's own host run of that
code with CMSIS-NN v4.1.0's portable C (which the DSP code matches bit for bit).

Needs TVM_HOME (a built TVM 0.18; UTVM_TVM_PYTHON names the Python with TVM's requirements
when this one lacks them) and UTVM_TEST_TFLITE (one of MLPerf Tiny's int8 .tflite files, e.g.
kws_ref_model.tflite); the board tests also need ZEPHYR_BASE, an Arm toolchain and
qemu-system-arm. Each skips with a message without them.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from westsupport import (
    PROJECT_WEST_COMMANDS,
    cmsis_nn_modules,
    module_repo,
    project_entry,
    qemu_console_until_verdict,
    west,
    workspace,
)

from testsupport import (
    CMSIS_NN_FIXTURES_ROOT,
    ZEPHYR_BUILD_REQUIREMENTS,
    cmsis_nn_dir,
    native_sim_toolchain,
    require_zephyr_python,
)
from utvm.board.tvm_compile import CompileOptions, compile_model
from utvm.mlf import open_mlf
from utvm.mlf.cmsis_nn import detect, detect_in_mlf

BUILD_TIMEOUT_S = 3600
RUN_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def real_tvm_model() -> Path:
    if not os.environ.get("TVM_HOME"):
        pytest.skip("TVM_HOME is not set: the --cmsis-nn end-to-end test needs a built TVM 0.18")
    model = os.environ.get("UTVM_TEST_TFLITE")
    if not model or not Path(model).is_file():
        pytest.skip("UTVM_TEST_TFLITE does not name an int8 .tflite model (e.g. MLPerf Tiny's "
                    "kws_ref_model.tflite)")
    return Path(model)


@pytest.fixture(scope="module")
def reference(real_tvm_model: Path) -> Path:
    """TVM 0.18's own compile and host run of the same model (the fixture of its name)."""
    folder = CMSIS_NN_FIXTURES_ROOT / real_tvm_model.stem / "cmsis_nn"
    if not (folder / "tvm_crt_output_0.npy").is_file():
        pytest.skip(f"no reference for {real_tvm_model.name}: {folder} holds TVM's own run of "
                    "the MLPerf Tiny models only")
    return folder


def same_as_reference(output: np.ndarray, reference: Path) -> None:
    expected = np.load(reference / "tvm_crt_output_0.npy")
    assert output.dtype == expected.dtype and output.tobytes() == expected.tobytes(), \
        f"max diff {np.abs(output.astype(int) - expected.astype(int)).max()}"


@pytest.mark.slow
@pytest.mark.parametrize("mcpu", [None, "cortex-m33"], ids=["no-mcpu", "cortex-m33"])
def test_cmsis_nn_compile_and_run_on_the_host(real_tvm_model: Path, reference: Path,
                                              tmp_path: Path, mcpu: str | None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from utvm.host import run_on_host

    options = CompileOptions("aot", "c", cmsis_nn=True, cmsis_nn_mcpu=mcpu)
    compiled = compile_model(real_tvm_model, tmp_path / "out", options, progress=io.StringIO())
    with open_mlf(compiled.archive) as mlf:
        assert mlf.targets[0].startswith("c ") and mlf.targets[1].startswith("cmsis-nn")
        use = detect(mlf.c_sources, mlf.targets)
        assert use is not None and use.mcpu == mcpu
        assert any(f.startswith("arm_") for f in use.functions)
        monkeypatch.setenv("UTVM_CMSIS_NN_DIR", str(cmsis_nn_dir()))
        result = run_on_host(compiled.archive, [np.load(reference / "input_0.npy")])
    (output,) = result.outputs
    same_as_reference(np.asarray(output), reference)


# --- On Zephyr boards, through the west extension ---------------------------------------------


def _arm_toolchain_missing() -> str | None:
    if os.environ.get("ZEPHYR_TOOLCHAIN_VARIANT") in (None, "", "host", "llvm"):
        return ("set ZEPHYR_TOOLCHAIN_VARIANT (and its path) to an Arm toolchain to build for "
                "the mps2 boards")
    if shutil.which("qemu-system-arm") is None:
        return "qemu-system-arm not found (apt-get install qemu-system-arm)"
    return None


@pytest.fixture(scope="module")
def top(real_tvm_model: Path, reference: Path,
        tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A west workspace with this module's west extension (and the Zephyr of ZEPHYR_BASE)."""
    if not os.environ.get("ZEPHYR_BASE"):
        pytest.skip("ZEPHYR_BASE is not set: building for boards needs a Zephyr tree")
    pytest.importorskip("west", reason="west is not installed (pip install west)")
    require_zephyr_python(os.environ["ZEPHYR_BASE"], ZEPHYR_BUILD_REQUIREMENTS)
    tmp_path = tmp_path_factory.mktemp("cmsis_nn_tvm")
    return workspace(tmp_path, project_entry(module_repo(tmp_path), PROJECT_WEST_COMMANDS))


@pytest.fixture(scope="module")
def modules_arg(top: Path) -> str:
    """CMSIS-NN v4.1.0 as the cmsis-nn module (Zephyr 4.1's own does not fit TVM 0.18)."""
    modules = cmsis_nn_modules(top.parent / "modules", cmsis_nn_dir(),
                               Path(os.environ["ZEPHYR_BASE"]))
    return "-DEXTRA_ZEPHYR_MODULES=" + ";".join(str(m) for m in modules)


def cmsis_nn_compile_commands(build_dir: Path) -> list[str]:
    entries = json.loads((build_dir / "compile_commands.json").read_text())
    return [e["command"] for e in entries if "/Source/ConvolutionFunctions/" in e["file"]]


@pytest.mark.slow
def test_west_utvm_build_cmsis_nn_on_native_sim(top: Path, real_tvm_model: Path,
                                                reference: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """rpc_server with the packed export; Zephyr's CMSIS-NN module needs a Cortex-M, so the
    image compiles CMSIS-NN's portable code from UTVM_CMSIS_NN_DIR."""
    monkeypatch.setenv("ZEPHYR_TOOLCHAIN_VARIANT", native_sim_toolchain())
    monkeypatch.setenv("UTVM_CMSIS_NN_DIR", str(cmsis_nn_dir()))
    build_dir = top.parent / "build-native_sim"
    built = west(top, "utvm", "build", "-b", "native_sim", "-d", str(build_dir), "--model",
                 str(real_tvm_model), "--cmsis-nn", zephyr=True, timeout=BUILD_TIMEOUT_S)
    assert "CMSIS-NN: portable C code on the host" in built.stdout + built.stderr
    try:
        west(top, "utvm", "flash", "-d", str(build_dir), zephyr=True)
        west(top, "utvm", "run", "-d", str(build_dir), "--input",
             str(reference / "input_0.npy"), "--output-dir", str(tmp_path), zephyr=True,
             timeout=RUN_TIMEOUT_S)
    finally:
        west(top, "utvm", "flash", "-d", str(build_dir), "--stop", zephyr=True, check=False)
    same_as_reference(np.load(tmp_path / "output_0.npy"), reference)


@pytest.mark.slow
def test_west_utvm_build_cmsis_nn_on_mps2_an385(top: Path, modules_arg: str,
                                                real_tvm_model: Path, reference: Path) -> None:
    """aot_inference (C interface) on a Cortex-M3 in QEMU: the board compares its output with
    the reference and ends QEMU with its status."""
    missing = _arm_toolchain_missing()
    if missing:
        pytest.skip(missing)
    build_dir = top.parent / "build-mps2_an385"
    west(top, "utvm", "build", "-b", "mps2/an385", "-d", str(build_dir), "--app",
         "aot_inference", "--model", str(real_tvm_model), "--cmsis-nn", "--input",
         str(reference / "input_0.npy"), "--expected", str(reference / "tvm_crt_output_0.npy"),
         "--", modules_arg, zephyr=True, timeout=BUILD_TIMEOUT_S)
    flashed = west(top, "utvm", "flash", "-d", str(build_dir), "--skip-rebuild", zephyr=True,
                   timeout=RUN_TIMEOUT_S)
    assert "expected output 0: bit-exact" in flashed.stdout, flashed.stdout[-3000:]
    assert "aot_inference: PASS" in flashed.stdout
    assert "mps2/an385 exited with status 0" in flashed.stderr


@pytest.mark.slow
def test_cortex_m33_compile_runs_cmsis_nn_dsp_code_on_an521_cpu1(
        top: Path, modules_arg: str, real_tvm_model: Path, reference: Path) -> None:
    """--cmsis-nn-mcpu cortex-m33: TVM sizes CMSIS-NN's buffers for the DSP code, which the
    AN521's CPU1 (a Cortex-M33 with DSP) runs; bit for bit TVM's own (portable) run."""
    missing = _arm_toolchain_missing()
    if missing:
        pytest.skip(missing)
    build_dir = top.parent / "build-mps2_an521_cpu1"
    built = west(top, "utvm", "build", "-b", "mps2/an521/cpu1", "-d", str(build_dir), "--app",
                 "aot_inference", "--model", str(real_tvm_model), "--cmsis-nn-mcpu",
                 "cortex-m33", "--input", str(reference / "input_0.npy"), "--expected",
                 str(reference / "tvm_crt_output_0.npy"), "--", modules_arg, zephyr=True,
                 timeout=BUILD_TIMEOUT_S)
    assert "CMSIS-NN: DSP-extension code on cortex-m33" in built.stdout + built.stderr
    use = detect_in_mlf(build_dir / "utvm" / "model")
    assert use is not None and use.mcpu == "cortex-m33" and use.paths == "dsp"
    commands = cmsis_nn_compile_commands(build_dir)
    assert commands and not any("-U__ARM_FEATURE_DSP" in c for c in commands)
    assert all("nodsp" not in c for c in commands), commands[0]
    console = qemu_console_until_verdict(build_dir, timeout=RUN_TIMEOUT_S)
    assert "expected output 0: bit-exact" in console, console[-3000:]
    assert "aot_inference: PASS" in console

