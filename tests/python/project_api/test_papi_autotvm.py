"""With a full TVM 0.18 (TVM_HOME, TVM_PY) and a Zephyr tree: TVM's own micro AutoTVM recipe
through the template tunes one conv2d with 5 trials on native_sim (every trial built and
flashed) and on mps2/an385 in QEMU (every candidate loaded into one running firmware). Every
cost must be > 0, different configurations must cost differently, the best configuration
applied must give the host LLVM result, and no simulator may be left running."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from apiclient import TEMPLATE_DIR
from tvm_python_path import server_packages

from testsupport import ZEPHYR_BUILD_REQUIREMENTS, native_sim_toolchain, require_zephyr_python

DRIVER = Path(__file__).with_name("tvm_autotvm_run.py")
TRIALS = 5

if not os.environ.get("TVM_HOME") or not os.environ.get("TVM_PY"):
    pytest.skip("TVM_HOME / TVM_PY are not set: the AutoTVM test needs a full TVM 0.18 (e.g. "
                "built with ../shared/tools/tvm-0.18-build.sh)", allow_module_level=True)
if not os.environ.get("ZEPHYR_BASE"):
    pytest.skip("ZEPHYR_BASE is not set: the AutoTVM test needs a Zephyr tree",
                allow_module_level=True)
pytest.importorskip("west", reason="west is not installed (pip install west)")


def simulators(marker: str) -> set[int]:
    """native_sim and QEMU processes started for this test: their environment (inherited
    from the Project API server) holds ``marker``; other programs' boards do not count."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")[0]
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if command.endswith((b"zephyr.exe", b"qemu-system-arm")) and \
                    marker.encode() in environ:
                found.add(int(entry.name))
    return found


def tune(board: str, tmp_path: Path, toolchain: dict[str, str]) -> dict:
    require_zephyr_python(os.environ["ZEPHYR_BASE"], ZEPHYR_BUILD_REQUIREMENTS)
    env = dict(os.environ, **toolchain, TOPHUB_LOCATION="NONE",
               UTVM_TRIAL_FIRMWARE_DIR=str(tmp_path / "trial-firmware"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(os.environ["TVM_HOME"]) / "python"), str(server_packages(tmp_path / "libs"))])
    out = tmp_path / "result.json"
    result = subprocess.run(
        [os.environ["TVM_PY"], str(DRIVER), "--template-dir", str(TEMPLATE_DIR), "--board",
         board, "--trials", str(TRIALS), "--work-dir", str(tmp_path / "work"), "--out",
         str(out)], env=env, capture_output=True, text=True, timeout=3000, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    # Boards are stopped by their watchers once the tuning run's processes are gone.
    deadline = time.monotonic() + 30
    marker = env["UTVM_TRIAL_FIRMWARE_DIR"]
    while simulators(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not simulators(marker), "simulators left running after tuning"
    return json.loads(out.read_text())


def check_tuning(result: dict) -> None:
    trials = result["trials"]
    assert len(trials) == TRIALS, trials
    assert all(t["error_no"] == 0 for t in trials), [t["error"] for t in trials]
    costs = [t["costs"][0] for t in trials]
    assert all(c > 0 for c in costs), costs
    assert len({t["config"] for t in trials}) == TRIALS
    assert len(set(costs)) > 1, costs
    tuned = np.array(result["tuned"]["output"], dtype=result["tuned"]["dtype"])
    np.testing.assert_allclose(tuned, np.array(result["reference"], dtype=tuned.dtype),
                               rtol=1e-4, atol=1e-4)


def test_conv2d_tunes_on_native_sim(tmp_path: Path) -> None:
    result = tune("native_sim", tmp_path, {"ZEPHYR_TOOLCHAIN_VARIANT": native_sim_toolchain()})
    check_tuning(result)


def test_conv2d_tunes_on_mps2_an385_loading_each_candidate(tmp_path: Path) -> None:
    if shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("qemu-system-arm and arm-none-eabi-gcc are needed for mps2/an385")
    gcc = Path(shutil.which("arm-none-eabi-gcc") or "").resolve()
    toolchain = {"ZEPHYR_TOOLCHAIN_VARIANT": "gnuarmemb",
                 "GNUARMEMB_TOOLCHAIN_PATH": str(gcc.parent.parent)}
    result = tune("mps2/an385", tmp_path, toolchain)
    check_tuning(result)
    # One firmware for every trial: built once, each candidate loaded into it.
    firmware = list((tmp_path / "trial-firmware").iterdir())
    assert len(firmware) == 1 and (firmware[0] / "built").is_file()
