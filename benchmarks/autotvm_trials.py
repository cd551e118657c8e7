#!/usr/bin/env python3
"""AutoTVM through the template on mps2/an385 in QEMU (issue 14): seconds per trial when
every candidate is built and flashed as a firmware of its own (reuse_firmware=false, the
baseline) against loading every candidate into one running firmware (the default there),
both measured in this run; then the tuned kws_ref_model against the untuned one in
instructions per inference.

TVM 0.18's own micro AutoTVM recipe runs (tests/python/project_api/tvm_autotvm_run.py under
TVM's Python, grid search, LocalRunner number=1 repeat=1):
  * one float32 conv2d (NCHW, 8->16 channels, 16x16, 3x3), --trials candidates each way.
    Seconds per trial are AutoTVM's own all_cost per trial (wall clock on this machine: build
    of the candidate, firmware build or .llext, flash or load, session, measurement). The
    first trial of the loading way also builds the shared firmware, once; it is shown apart
    and the per-trial figure is the median of the others (the baseline's median over all);
  * kws_ref_model (int8; every tunable task gets --kws-trials candidates, loading), then the
    untuned and the tuned model built into firmware and run on the board: time per inference
    from the board's time evaluator, which on QEMU counts instructions (-icount): the figure
    is instructions per inference, not cycles or wall time.
Prints a table with the ratios (goal: at least 5x fewer seconds per trial with loading).

    TVM_HOME=... TVM_PY=... ZEPHYR_BASE=... python3 benchmarks/autotvm_trials.py \
        --kws /path/to/kws_ref_model.tflite [--trials 4] [--kws-trials 2] [--work DIR] [--json]

Needs a full TVM 0.18 (TVM_HOME and TVM_PY, the Python TVM runs with), ZEPHYR_BASE,
arm-none-eabi-gcc and qemu-system-arm.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))
DRIVER = REPO / "tests" / "python" / "project_api" / "tvm_autotvm_run.py"
TEMPLATE = REPO / "template_project"
BOARD = "mps2/an385"
GOAL_RATIO = 5.0
# utvm's requirements, which the Project API server (run by TVM's Python) imports.
SERVER_PACKAGES = ("yaml", "serial", "elftools", "pykwalify", "docopt", "dateutil", "ruamel",
                   "six")


def server_packages(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in SERVER_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.origin is None:  # a namespace package (ruamel)
            source = Path(next(iter(spec.submodule_search_locations or [])))
        else:
            origin = Path(spec.origin)
            source = origin.parent if origin.name == "__init__.py" else origin
        link = folder / source.name
        if not link.exists():
            link.symlink_to(source)
    return folder


def driver_env(work: Path) -> dict[str, str]:
    gcc = Path(shutil.which("arm-none-eabi-gcc") or "").resolve()
    env = dict(os.environ, TOPHUB_LOCATION="NONE", ZEPHYR_TOOLCHAIN_VARIANT="gnuarmemb",
               GNUARMEMB_TOOLCHAIN_PATH=str(gcc.parent.parent),
               UTVM_TRIAL_FIRMWARE_DIR=str(work / "trial-firmware"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env["PYTHONPATH"] = os.pathsep.join([str(Path(os.environ["TVM_HOME"]) / "python"),
                                         str(server_packages(work / "libs"))])
    return env


def run_driver(work: Path, name: str, *args: str) -> dict[str, Any]:
    out = work / f"{name}.json"
    log = work / f"{name}.log"
    with open(log, "w") as stream:
        result = subprocess.run(
            [os.environ["TVM_PY"], str(DRIVER), "--template-dir", str(TEMPLATE), "--board",
             BOARD, "--work-dir", str(work / name), "--out", str(out), *args],
            env=driver_env(work), stdout=stream, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        sys.exit(f"error: the {name} run failed; its output is in {log}")
    return json.loads(out.read_text())


def instructions(seconds: float, project: Path) -> int:
    """QEMU's icount time back to instructions, with the shift the board ran with."""
    from utvm.board.build_dir import read_build
    from utvm.board.targets import QemuTarget, target_for

    target = target_for(read_build(project / "build", must_be_built=True))
    assert isinstance(target, QemuTarget)
    shift = target.icount_shift()
    if shift is None:
        sys.exit(f"error: {project} ran without -icount: its times are no instruction counts")
    return round(seconds * 1e9 / (1 << shift))


def per_trial(result: dict[str, Any], skip_first: bool) -> tuple[float, float, int]:
    """(median seconds per trial, first trial's seconds, failed trials)."""
    trials = result["trials"]
    costs = [t["all_cost"] for t in trials]
    rest = costs[1:] if skip_first and len(costs) > 1 else costs
    return statistics.median(rest), costs[0], sum(t["error_no"] != 0 for t in trials)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kws", type=Path, help="kws_ref_model.tflite (MLPerf Tiny)")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--kws-trials", type=int, default=2)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    missing = [v for v in ("TVM_HOME", "TVM_PY", "ZEPHYR_BASE") if not os.environ.get(v)]
    tools = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if shutil.which(t) is None]
    if missing or tools:
        sys.exit(f"error: needs {', '.join(missing + tools)} (see --help)")
    work = arguments.work or Path(tempfile.mkdtemp(prefix="utvm-autotvm-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    trials = str(arguments.trials)
    flashed = run_driver(work, "build-flash", "--trials", trials, "--reuse-firmware", "false",
                         "--skip-model")
    loaded = run_driver(work, "load", "--trials", trials, "--skip-model")
    flash_s, flash_first, flash_failed = per_trial(flashed, skip_first=False)
    load_s, load_first, load_failed = per_trial(loaded, skip_first=True)
    report: dict[str, Any] = {
        "board": BOARD, "trials_each_way": arguments.trials,
        "build_flash_seconds_per_trial": flash_s, "load_seconds_per_trial": load_s,
        "load_first_trial_seconds": load_first, "build_flash_first_trial_seconds": flash_first,
        "failed_trials": {"build_flash": flash_failed, "load": load_failed},
        "ratio": flash_s / load_s,
        "costs": {"build_flash": [t["costs"] for t in flashed["trials"]],
                  "load": [t["costs"] for t in loaded["trials"]]}}
    if arguments.kws:
        kws = run_driver(work, "kws", "--trials", str(arguments.kws_trials), "--tflite",
                         str(arguments.kws))
        untuned = instructions(kws["untuned"]["seconds_per_inference"],
                               work / "kws" / "untuned-project")
        tuned = instructions(kws["tuned"]["seconds_per_inference"],
                             work / "kws" / "tuned-project")
        same = kws["tuned"]["output"] == kws["reference"]
        report["kws"] = {"tasks": len(kws["tasks"]), "trials": len(kws["trials"]),
                         "failed_trials": sum(t["error_no"] != 0 for t in kws["trials"]),
                         "untuned_instructions": untuned, "tuned_instructions": tuned,
                         "ratio": untuned / tuned, "tuned_output_matches_llvm": same}
    if arguments.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"AutoTVM on {BOARD} (QEMU), one conv2d, {arguments.trials} trials each way "
          "(wall clock per trial on this machine)")
    print(f"{'':32} {'s/trial':>9} {'trials/min':>11} {'first trial s':>14} {'failed':>7}")
    print(f"{'build + flash every trial':32} {flash_s:9.1f} {60 / flash_s:11.1f} "
          f"{flash_first:14.1f} {flash_failed:7}")
    print(f"{'load into one running firmware':32} {load_s:9.1f} {60 / load_s:11.1f} "
          f"{load_first:14.1f} {load_failed:7}")
    verdict = "meets" if report["ratio"] >= GOAL_RATIO else "misses"
    print(f"ratio (build + flash / load): {report['ratio']:.1f}x ({verdict} the "
          f"{GOAL_RATIO:.0f}x goal); the first loading trial also builds the firmware, once")
    if "kws" in report:
        k = report["kws"]
        print(f"\nkws_ref_model on {BOARD}: {k['tasks']} tasks x {arguments.kws_trials} trials "
              f"({k['failed_trials']} failed); QEMU -icount instructions per inference "
              "(not cycles)")
        print(f"  untuned {k['untuned_instructions']:,}  tuned {k['tuned_instructions']:,}  "
              f"ratio untuned/tuned {k['ratio']:.2f}x  tuned output = host LLVM: "
              f"{k['tuned_output_matches_llvm']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
