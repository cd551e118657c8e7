"""Real models on a real-sized simulated Cortex-M: the MLPerf Tiny fixtures on mps2/an385
(Cortex-M3, 4 MiB) in QEMU, bit for bit TVM 0.18's own output. kws in every host-driven
variant (aot_packed, graph, graph_params) over RPC through QEMU's second UART; every model's
aot_c_usmp through samples/aot_inference, which ends QEMU with its result's status.

Needs ZEPHYR_BASE, qemu-system-arm and an Arm toolchain (ZEPHYR_TOOLCHAIN_VARIANT as for
`west build`, else arm-none-eabi-gcc on PATH as gnuarmemb); skips with a message otherwise.
`UTVM_QEMU_BOARDS="mps2/an385 mps2/an521/cpu0"` chooses the boards (space-separated).
Each app is built once per board and the models are swapped into it, which recompiles only
the model: all models share one arena and packet size, so their Kconfig is the same.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from westsupport import run_utvm, why_no_qemu_board

from testsupport import (
    FIXTURES_ROOT,
    ZEPHYR_BUILD_REQUIREMENTS,
    require_zephyr_python,
)

BOARDS = os.environ.get("UTVM_QEMU_BOARDS", "mps2/an385").replace(",", " ").split()
MODELS = ["kws_ref_model", "ad01_int8", "pretrainedResnet_quant", "vww_96_int8"]
HOST_DRIVEN = ["aot_packed", "graph", "graph_params"]
# Room for the largest fixture (vww graph: 300 KB of arena; kws graph_params: 57 KB of
# parameters in one request), so that swapping models changes no Kconfig value.
SHARED_SIZES = ["-DCONFIG_UTVM_ARENA_SIZE=524288", "-DCONFIG_UTVM_RPC_MAX_PACKET_SIZE=65536"]
BUILD_TIMEOUT_S = 1800


_WHY_NOT = why_no_qemu_board("the QEMU board tests")
pytestmark = pytest.mark.skipif(_WHY_NOT is not None, reason=str(_WHY_NOT))


utvm = run_utvm


def fixture(model: str, variant: str) -> Path:
    folder = FIXTURES_ROOT / model / variant
    if not folder.is_dir():
        pytest.skip(f"no {variant} fixture of {model} in {FIXTURES_ROOT}")
    return folder


@pytest.fixture(scope="module", params=BOARDS)
def board(request: pytest.FixtureRequest) -> str:
    require_zephyr_python(os.environ["ZEPHYR_BASE"], ZEPHYR_BUILD_REQUIREMENTS)
    return str(request.param)


@pytest.fixture(scope="module")
def build_dirs(board: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp(board.replace("/", "_"))
    yield folder
    for build in folder.iterdir():  # a QEMU that flash left running
        utvm("flash", "-d", str(build), "--stop", check=False, timeout=60)


def build(board: str, build_dir: Path, mlf: Path, *args: str) -> str:
    result = utvm("build", "-b", board, "-d", str(build_dir), "--mlf", str(mlf), *args,
                  "--", *SHARED_SIZES)
    return result.stdout + result.stderr


@pytest.mark.parametrize("variant", HOST_DRIVEN)
def test_kws_over_rpc_is_bit_exact(board: str, build_dirs: Path, variant: str,
                                   tmp_path: Path) -> None:
    """The RPC server on the board's second UART; `utvm run` starts QEMU for the run. The
    board's time is an instruction count (-icount shift=0): never more than the wall time
    the run took, which the board's own -icount shift=7 gave (3.9 s per kws inference)."""
    mlf = fixture("kws_ref_model", variant)
    build(board, build_dirs / "rpc_server", mlf)
    repeat = 3
    started = time.monotonic()
    result = utvm("run", "-d", str(build_dirs / "rpc_server"), "--input",
                  str(mlf / "input_0.npy"), "--output-dir", str(tmp_path), "--repeat",
                  str(repeat), timeout=600)
    wall = time.monotonic() - started
    output = np.load(tmp_path / "output_0.npy")
    assert output.tobytes() == np.load(mlf / "tvm_crt_output_0.npy").tobytes()
    timed = re.search(r"time per inference: ([\d.]+) (ms|s) ", result.stdout)
    assert timed, result.stdout
    seconds = float(timed.group(1)) / (1000 if timed.group(2) == "ms" else 1)
    assert 0 < seconds * repeat < wall, f"{seconds} s per inference, {wall:.2f} s of wall time"
    assert re.search(r"QEMU counts instructions \(-icount shift=0.*: [\d,]+ instructions per "
                     "inference", result.stderr), result.stderr


@pytest.mark.parametrize("model", MODELS)
def test_aot_c_usmp_standalone_is_bit_exact(board: str, build_dirs: Path, model: str) -> None:
    """samples/aot_inference with the fixture's input and TVM's output built in: the board
    compares, prints PASS and ends QEMU with status 0, which `utvm flash` passes on."""
    mlf = fixture(model, "aot_c_usmp")
    folder = build_dirs / "aot_inference"
    build(board, folder, mlf, "--app", "aot_inference", "--input", str(mlf / "input_0.npy"),
          "--expected", str(mlf / "tvm_crt_output_0.npy"))
    result = utvm("flash", "-d", str(folder), "--skip-rebuild", timeout=600)
    assert "expected output 0: bit-exact" in result.stdout, result.stdout[-3000:]
    assert "aot_inference: PASS" in result.stdout
    assert f"{board} exited with status 0" in result.stderr


def test_rpc_on_the_console_uart_is_refused_before_compiling(board: str,
                                                             tmp_path: Path) -> None:
    """Without the board's overlay, RPC would share the console with QEMU's monitor: the
    rpc_server app stops at configure time, naming the overlay to add."""
    if board == "mps2/an386":
        pytest.skip("Zephyr runs mps2/an386 in Arm's FVP, not QEMU: utvm's QEMU refuses a "
                    "console RPC UART when flash starts it")
    empty = tmp_path / "no_rpc_uart.overlay"
    empty.write_text("/* RPC on the console */\n")
    result = utvm("build", "-b", board, "-d", str(tmp_path / "build"), "--", "--",
                  f"-DDTC_OVERLAY_FILE={empty}", check=False)
    output = " ".join((result.stdout + result.stderr).split())  # CMake wraps its messages
    assert result.returncode != 0
    assert "RPC would use the console UART, which QEMU shares with its monitor" in output
    assert f"boards/{board.replace('/', '_')}.overlay" in output
    assert "Building C object" not in output  # nothing compiled
