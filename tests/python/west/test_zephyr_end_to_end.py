"""With a Zephyr tree (ZEPHYR_BASE): `west utvm build -b native_sim` then `west utvm run`,
through real west in a temporary workspace that has this module as a project. The board's
result must be TVM 0.18's own, bit for bit; rebuilding with the same model must not
reconfigure, and a changed model must recompile only what changed."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from westsupport import (
    BUNDLED_DATA,
    BUNDLED_MODEL,
    PROJECT_WEST_COMMANDS,
    REPO_ROOT,
    module_repo,
    project_entry,
    west,
    workspace,
)

from testsupport import ZEPHYR_BUILD_REQUIREMENTS, native_sim_toolchain, require_zephyr_python
from utvm.board.zephyr_env import find_zephyr

pytest.importorskip("west", reason="west is not installed (pip install west)")
if not os.environ.get("ZEPHYR_BASE"):
    pytest.skip("ZEPHYR_BASE is not set: the end-to-end west build test needs a Zephyr tree",
                allow_module_level=True)
if shutil.which("git") is None:
    pytest.skip("git is needed for west workspaces", allow_module_level=True)

INPUT = BUNDLED_DATA / "input_0.npy"
EXPECTED = BUNDLED_DATA / "tvm_crt_output_0.npy"
GRAPH_FIXTURE = REPO_ROOT.parent / "shared" / "fixtures" / "tvm-0.18" / "tiny_conv_f32" / \
    "graph_params"


@pytest.fixture(scope="module")
def native_sim_build(tmp_path_factory: pytest.TempPathFactory):
    """A workspace with the module, and one native_sim build of the bundled model in it."""
    if find_zephyr() is None:
        pytest.skip("ZEPHYR_BASE does not point at a Zephyr tree")
    require_zephyr_python(os.environ["ZEPHYR_BASE"], ZEPHYR_BUILD_REQUIREMENTS)
    with pytest.MonkeyPatch.context() as env:  # west runs with this module's environment
        env.setenv("ZEPHYR_TOOLCHAIN_VARIANT", native_sim_toolchain())
        tmp_path = tmp_path_factory.mktemp("e2e")
        top = workspace(tmp_path, project_entry(module_repo(tmp_path), PROJECT_WEST_COMMANDS))
        build_dir = tmp_path / "build"
        result = west(top, "utvm", "build", "-b", "native_sim", "-d", str(build_dir), "--mlf",
                      str(BUNDLED_MODEL), zephyr=True, timeout=1800)
        assert "configured and built rpc_server for native_sim" in result.stderr
        yield top, build_dir, tmp_path


def run_on_board(top: Path, build_dir: Path, out: Path, *extra: str) -> str:
    result = west(top, "utvm", "run", "-d", str(build_dir), "--input", str(INPUT),
                  "--output-dir", str(out), *extra, zephyr=True, timeout=300)
    return result.stdout + result.stderr


def test_build_then_run_is_bit_exact(native_sim_build) -> None:
    top, build_dir, tmp_path = native_sim_build
    output = run_on_board(top, build_dir, tmp_path / "out", "--repeat", "3")
    assert re.search(r"time per inference: .* \(native_sim over /dev/pts/\d+", output)
    # Timed with this computer's clock (CONFIG_UTVM_TIMER_HOST_CLOCK, on by default), which
    # moves while the model runs: a time above 0, and the note that says which time it is.
    assert not re.search(r"time per inference: 0\.0 µs", output), output
    assert "note: times are this computer's monotonic clock" in output
    assert np.load(tmp_path / "out" / "output_0.npy").tobytes() == np.load(EXPECTED).tobytes()


def test_same_model_again_does_not_reconfigure(native_sim_build) -> None:
    top, build_dir, _ = native_sim_build
    cache_time = (build_dir / "CMakeCache.txt").stat().st_mtime_ns
    result = west(top, "utvm", "build", "-d", str(build_dir), "--mlf", str(BUNDLED_MODEL),
                  zephyr=True)
    assert "built (no reconfigure needed)" in result.stderr
    assert "Configuring done" not in result.stdout
    assert "Building C object" not in result.stdout
    assert (build_dir / "CMakeCache.txt").stat().st_mtime_ns == cache_time


def test_changed_model_recompiles_only_what_changed(native_sim_build) -> None:
    top, build_dir, tmp_path = native_sim_build
    model = tmp_path / "retuned"
    shutil.copytree(BUNDLED_MODEL, model)
    with open(model / "codegen" / "host" / "src" / "default_lib2.c", "a") as handle:
        handle.write("\n/* retuned: same operators */\n")
    result = west(top, "utvm", "build", "-d", str(build_dir), "--mlf", str(model),
                  zephyr=True)
    compiled = re.findall(r"Building C object (\S+)", result.stdout)
    assert compiled and all("default_lib2.c" in path for path in compiled), compiled
    output = run_on_board(top, build_dir, tmp_path / "out2")
    assert "native_sim" in output
    assert np.load(tmp_path / "out2" / "output_0.npy").tobytes() == \
        np.load(EXPECTED).tobytes()


def test_flash_keeps_native_sim_running(native_sim_build) -> None:
    top, build_dir, tmp_path = native_sim_build
    flashed = west(top, "utvm", "flash", "-d", str(build_dir), "--skip-rebuild", zephyr=True)
    assert re.search(r"its RPC is on /dev/pts/\d+", flashed.stderr)
    try:
        output = run_on_board(top, build_dir, tmp_path / "out3")
        assert "using the native_sim board started by flash" in output
    finally:
        west(top, "utvm", "flash", "-d", str(build_dir), "--stop", zephyr=True)


def test_footprint_of_the_build(native_sim_build) -> None:
    top, build_dir, _ = native_sim_build
    report = json.loads(west(top, "utvm", "footprint", "-d", str(build_dir), "--json",
                             zephyr=True).stdout)
    parts = report["parts"]
    assert parts["runtime"]["rom"] > 0 and parts["runtime"]["ram"] > 0
    assert parts["model"]["rom"] > 0 and parts["model"]["ram"] > 0  # workspace
    assert parts["zephyr"]["rom"] > 0
    assert sum(p["rom"] for p in parts.values()) == report["total"]["rom"]


def test_unknown_board_reports_zephyrs_message(native_sim_build) -> None:
    top, _, tmp_path = native_sim_build
    result = west(top, "utvm", "build", "-b", "no_such_board_xyz", "-d",
                  str(tmp_path / "bad"), "--mlf", str(BUNDLED_MODEL), zephyr=True, check=False)
    assert result.returncode == 2
    assert "No board named 'no_such_board_xyz' found" in result.stderr


def test_graph_model_with_uploaded_params(native_sim_build) -> None:
    """Another model in the same build: the graph executor, parameters uploaded by the host."""
    if not GRAPH_FIXTURE.is_dir():
        pytest.skip("TVM 0.18 fixtures not found at ../shared/fixtures (relative to the repo)")
    top, build_dir, tmp_path = native_sim_build
    west(top, "utvm", "build", "-d", str(build_dir), "--mlf", str(GRAPH_FIXTURE), zephyr=True)
    output = run_on_board(top, build_dir, tmp_path / "out4")
    assert "graph" in output
    assert np.load(tmp_path / "out4" / "output_0.npy").tobytes() == \
        np.load(GRAPH_FIXTURE / "tvm_crt_output_0.npy").tobytes()
