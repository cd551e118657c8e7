"""The CMSIS-NN fixtures (../shared/fixtures/tvm-0.18-cmsis-nn) on QEMU's mps2 boards, each bit
for bit its own tvm_crt_output_0.npy, with CMSIS-NN v4.1.0 given to Zephyr as its cmsis-nn
module:

- `cmsis_nn` (made without mcpu) through samples/aot_inference on mps2/an385 (Cortex-M3), and
  on the DSP cores mps2/an386 (Cortex-M4) and mps2/an521/cpu1 (Cortex-M33 with DSP), where it
  must get CMSIS-NN's portable code (the build's compile commands are checked too: with the
  DSP code it returns wrong outputs);
- `cmsis_nn_cortex_m4` on those two DSP cores, with CMSIS-NN's DSP code;
- `cmsis_nn_aot_packed` (kws) over RPC with `utvm run` on mps2/an385.

Needs ZEPHYR_BASE, qemu-system-arm, an Arm toolchain (ZEPHYR_TOOLCHAIN_VARIANT as for `west
build`, else arm-none-eabi-gcc on PATH) and a CMSIS-NN v4.1.0 tree (UTVM_CMSIS_NN_DIR, else
../shared/third_party/cmsis-nn-*); skips with a message otherwise. One aot_inference build per
board: the cases are ordered so that a model swap recompiles the model (and CMSIS-NN when its
code paths change), never Zephyr: every kernel group is enabled up front.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from westsupport import (
    arm_toolchain_env,
    cmsis_nn_modules,
    qemu_console_until_verdict,
    run_utvm,
    why_no_qemu_board,
)

from testsupport import (
    CMSIS_NN_FIXTURES_MISSING,
    CMSIS_NN_FIXTURES_ROOT,
    ZEPHYR_BUILD_REQUIREMENTS,
    cmsis_nn_dir,
    require_zephyr_python,
)

MODELS = ["kws_ref_model", "ad01_int8", "pretrainedResnet_quant", "vww_96_int8"]
M3, M4, M33_DSP = "mps2/an385", "mps2/an386", "mps2/an521/cpu1"
# (board, variant): the order keeps each board's build and swaps only models and code paths.
PLAN = [(M3, "cmsis_nn"), (M4, "cmsis_nn_cortex_m4"), (M4, "cmsis_nn"),
        (M33_DSP, "cmsis_nn_cortex_m4"), (M33_DSP, "cmsis_nn")]
CASES = [(board, variant, model) for board, variant in PLAN for model in MODELS]
# Every kernel group any of the models calls, so that a model swap changes no Kconfig value
# (which would recompile all of Zephyr). aot_inference's arena does not depend on the model
# (USMP's pools are in the generated code); the RPC server's is sized for kws.
SHARED_CONFIG = [f"-DCONFIG_CMSIS_NN_{group}=y" for group in (
    "CONVOLUTION", "FULLYCONNECTED", "NNSUPPORT", "POOLING", "SOFTMAX", "BASICMATH")]
# aot_inference's arena holds the input and output tensors: vww's input is 27,648 bytes, more
# than the sample's default; 64 KiB fits every model and the AN521 CPU1's 512 KiB of RAM.
SHARED_CONFIG.append("-DCONFIG_UTVM_ARENA_SIZE=65536")
RPC_SIZES = ["-DCONFIG_UTVM_ARENA_SIZE=524288", "-DCONFIG_UTVM_RPC_MAX_PACKET_SIZE=65536"]
BUILD_TIMEOUT_S = 1800
RUN_TIMEOUT_S = 600


_WHY_NOT = why_no_qemu_board("the CMSIS-NN board tests", CMSIS_NN_FIXTURES_ROOT,
                             CMSIS_NN_FIXTURES_MISSING)
pytestmark = pytest.mark.skipif(_WHY_NOT is not None, reason=str(_WHY_NOT))


utvm = run_utvm


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    require_zephyr_python(os.environ["ZEPHYR_BASE"], ZEPHYR_BUILD_REQUIREMENTS)
    folder = tmp_path_factory.mktemp("cmsis_nn_boards")
    yield folder
    for build in folder.glob("build-*"):  # a QEMU that flash left running
        utvm("flash", "-d", str(build), "--stop", check=False, timeout=60)


@pytest.fixture(scope="module")
def modules_arg(work: Path) -> str:
    modules = cmsis_nn_modules(work / "modules", cmsis_nn_dir(),
                               Path(os.environ["ZEPHYR_BASE"]))
    return "-DEXTRA_ZEPHYR_MODULES=" + ";".join(str(m) for m in modules)


def fixture(model: str, variant: str) -> Path:
    folder = CMSIS_NN_FIXTURES_ROOT / model / variant
    if not folder.is_dir():
        pytest.skip(f"no {variant} fixture of {model} in {CMSIS_NN_FIXTURES_ROOT}")
    return folder


def cmsis_nn_compile_commands(build_dir: Path) -> list[str]:
    """The compile commands of CMSIS-NN's kernels in this build."""
    entries = json.loads((build_dir / "compile_commands.json").read_text())
    return [entry["command"] for entry in entries
            if "/Source/ConvolutionFunctions/" in entry["file"]]


def run_standalone(board: str, build_dir: Path) -> str:
    """The board's console (and utvm's lines) up to the app's verdict."""
    if board == M33_DSP:
        # Zephyr runs the AN521's CPU1 in QEMU itself (`west build -t run`, after an empty
        # CPU0 image); aot_inference ends with its verdict line, not QEMU.
        return qemu_console_until_verdict(build_dir, arm_toolchain_env(), RUN_TIMEOUT_S)
    result = utvm("flash", "-d", str(build_dir), "--skip-rebuild", timeout=RUN_TIMEOUT_S)
    assert f"{board} exited with status 0" in result.stderr, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(("board", "variant", "model"), CASES,
                         ids=[f"{b}-{v}-{m}" for b, v, m in CASES])
def test_cmsis_nn_fixture_is_bit_exact_on_the_board(work: Path, modules_arg: str, board: str,
                                                    variant: str, model: str) -> None:
    mlf = fixture(model, variant)
    build_dir = work / f"build-{board.replace('/', '_')}"
    utvm("build", "-b", board, "-d", str(build_dir), "--app", "aot_inference", "--mlf",
         str(mlf), "--input", str(mlf / "input_0.npy"), "--expected",
         str(mlf / "tvm_crt_output_0.npy"), "--", *SHARED_CONFIG, modules_arg)
    # An MLF made without mcpu is right only with CMSIS-NN's portable code, on any core.
    portable_on_dsp = board != M3 and variant == "cmsis_nn"
    commands = cmsis_nn_compile_commands(build_dir)
    assert commands, "CMSIS-NN's convolutions are not part of the build"
    assert all(("-U__ARM_FEATURE_DSP" in c) == portable_on_dsp for c in commands), commands[0]
    console = run_standalone(board, build_dir)
    assert "expected output 0: bit-exact" in console, console[-3000:]
    assert "aot_inference: PASS" in console


def test_packed_cmsis_nn_kws_over_rpc_is_bit_exact(work: Path, modules_arg: str,
                                                   tmp_path: Path) -> None:
    """The host-driven export (packed API, system library) on the rpc_server app, run by
    `utvm run` through QEMU's second UART."""
    mlf = fixture("kws_ref_model", "cmsis_nn_aot_packed")
    build_dir = work / "build-rpc-mps2_an385"
    utvm("build", "-b", M3, "-d", str(build_dir), "--mlf", str(mlf), "--", *SHARED_CONFIG,
         *RPC_SIZES, modules_arg)
    utvm("run", "-d", str(build_dir), "--input", str(mlf / "input_0.npy"), "--output-dir",
         str(tmp_path), timeout=RUN_TIMEOUT_S)
    output = np.load(tmp_path / "output_0.npy")
    assert output.tobytes() == np.load(mlf / "tvm_crt_output_0.npy").tobytes()


def test_zephyrs_own_cmsis_nn_module_is_refused_at_configure_time(work: Path) -> None:
    """Zephyr 4.1's west.yml pins a CMSIS-NN (e9328d61, API V.18.0.0) that TVM 0.18's calls do
    not fit: the build stops before compiling anything and says which commit to pin."""
    from utvm.mlf.cmsis_nn import check_source_tree

    own = Path(os.environ["ZEPHYR_BASE"]).parent / "modules" / "lib" / "cmsis-nn"
    if not own.is_dir() or not check_source_tree(own):
        pytest.skip(f"the workspace's cmsis-nn module ({own}) is absent or already fits")
    dsp_only = [m for m in cmsis_nn_modules(work / "modules", cmsis_nn_dir(),
                                            Path(os.environ["ZEPHYR_BASE"]))
                if m.name != "cmsis-nn"]
    mlf = fixture("kws_ref_model", "cmsis_nn")
    extra = (["-DEXTRA_ZEPHYR_MODULES=" + ";".join(str(m) for m in dsp_only)]
             if dsp_only else [])
    result = utvm("build", "-b", M3, "-d", str(work / "own-module"), "--app", "aot_inference",
                  "--mlf", str(mlf), "--", *extra, check=False)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "Zephyr's cmsis-nn module" in output
    assert "do not fit TVM 0.18's generated calls" in output
    assert "revision v4.1.0 (commit 61d1bb6c4428ad730e525d0164e12df12b789985)" in output
    assert "Building C object" not in output
