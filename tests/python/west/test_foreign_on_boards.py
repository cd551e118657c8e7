"""With a Zephyr tree (ZEPHYR_BASE): other people's MLFs (../shared/fixtures/foreign) built with
`west utvm build --app aot_inference` and run on a board: native_sim for portable C, bit for
bit like the C runtime of the TVM that made them; QEMU's Cortex-M33 with DSP for code
generated for an Arm DSP core (letscope), which must give the class its project expects.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from westsupport import (
    PROJECT_WEST_COMMANDS,
    console_until_verdict,
    module_repo,
    project_entry,
    west,
    workspace,
)

from testsupport import (
    REPO_ROOT,
    ZEPHYR_BUILD_REQUIREMENTS,
    native_sim_toolchain,
    require_zephyr_python,
)
from utvm.board.zephyr_env import West

pytest.importorskip("west", reason="west is not installed (pip install west)")
if not os.environ.get("ZEPHYR_BASE"):
    pytest.skip("ZEPHYR_BASE is not set: building foreign MLFs for boards needs a Zephyr tree",
                allow_module_level=True)
FOREIGN = REPO_ROOT.parent / "shared" / "fixtures" / "foreign"
if not FOREIGN.is_dir():
    pytest.skip("foreign MLF fixtures not found at ../shared/fixtures/foreign",
                allow_module_level=True)

# Zephyr's mps2/an521 CPU1 is the Cortex-M33 it configures with the DSP extension (CPU0 has
# none); QEMU runs it after an empty CPU0 image.
DSP_BOARD = "mps2/an521/cpu1"
RUN_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def top(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_zephyr_python(os.environ["ZEPHYR_BASE"], ZEPHYR_BUILD_REQUIREMENTS)
    tmp_path = tmp_path_factory.mktemp("foreign")
    return workspace(tmp_path, project_entry(module_repo(tmp_path), PROJECT_WEST_COMMANDS))


def build(top: Path, board: str, name: str, expected: Path) -> Path:
    folder = FOREIGN / name
    build_dir = top.parent / f"build-{name}"
    west(top, "utvm", "build", "-b", board, "-d", str(build_dir), "--app", "aot_inference",
         "--mlf", str(folder / "model.tar.gz"), "--input", str(folder / "input_0.npy"),
         "--expected", str(expected), zephyr=True, timeout=3600)
    return build_dir


@pytest.mark.parametrize("name", ["sine_aot", "esp32_QDQ_project"])
def test_portable_export_is_bit_exact_on_native_sim(top: Path, name: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEPHYR_TOOLCHAIN_VARIANT", native_sim_toolchain())
    build_dir = build(top, "native_sim", name, FOREIGN / name / "tvm_crt_output_0.npy")
    console = console_until_verdict([str(build_dir / "zephyr" / "zephyr.exe")], top,
                                    timeout=RUN_TIMEOUT_S)
    assert "expected output 0: bit-exact" in console, console
    assert "aot_inference: PASS" in console


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not found")
@pytest.mark.skipif(os.environ.get("ZEPHYR_TOOLCHAIN_VARIANT") in (None, "host", "llvm"),
                    reason="set ZEPHYR_TOOLCHAIN_VARIANT (and its path) to an Arm toolchain "
                           "to build for the Cortex-M33")
def test_arm_dsp_export_gives_its_class_on_a_cortex_m33_with_dsp(top: Path) -> None:
    expected = top.parent / "letscope_expected.npy"
    np.save(expected, np.array([72], dtype=np.int8))  # the project's expected_output.h
    build_dir = build(top, DSP_BOARD, "letscope", expected)
    # QEMU runs through the Zephyr workspace's `west build -t run`, as `west utvm flash` does.
    zephyr_west = West.for_zephyr(Path(os.environ["ZEPHYR_BASE"]))
    console = console_until_verdict(
        zephyr_west.command("build", "-d", str(build_dir), "-t", "run"),
        zephyr_west.cwd or top, zephyr_west.env, RUN_TIMEOUT_S)
    assert "expected output 0: bit-exact" in console, console
    assert "aot_inference: PASS" in console


@pytest.mark.skipif(os.environ.get("ZEPHYR_TOOLCHAIN_VARIANT") in (None, "host", "llvm"),
                    reason="set ZEPHYR_TOOLCHAIN_VARIANT (and its path) to an Arm toolchain "
                           "to configure for a Cortex-M33")
def test_arm_dsp_export_is_refused_for_a_core_without_dsp(top: Path) -> None:
    """Zephyr configures mps2/an521's CPU0 without DSP: the configure step says so."""
    folder = FOREIGN / "letscope"
    result = west(top, "utvm", "build", "-b", "mps2/an521/cpu0", "-d",
                  str(top.parent / "build-letscope-cpu0"), "--app", "aot_inference", "--mlf",
                  str(folder / "model.tar.gz"), "--input", str(folder / "input_0.npy"),
                  zephyr=True, check=False, timeout=1800)
    assert result.returncode != 0
    message = " ".join((result.stdout + result.stderr).split())
    assert "the model's generated code is for an Arm Cortex-M core with the DSP extension" \
        in message
    assert "It does not compile for board mps2/an521/cpu0" in message
    assert f"west utvm build -b {DSP_BOARD}" in message
