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
  * kws_ref_model (int8, loading): TVM's grid search over the first few candidates does not
    tune (they are the smallest tiles; the model got slower: 29.1M instructions untuned
    against 34.9M "tuned"), so this part tunes the way a gain can be trusted:
      - genetic search (--kws-tuner ga, a population of up to 16) with --kws-trials
        candidates per task (tasks with smaller spaces get all of theirs);
      - candidates built as relay.build builds the operator (the driver's --as-built): TVM
        builds arm_cpu's NHWC spatial-pack conv2d for tuning with its weights as an already
        packed input, but no pass packs them for NHWC, so the model repacks them inside the
        operator (for a tuned configuration once per output tile) where the trial saw none;
      - every task's default configuration (what relay.build uses without a log record)
        measured as a trial on the same board in the same run, and a task's best record
        applied only where it costs less than that default (--against-default).
    Then the untuned and the tuned model are built into firmware and run on the board: time
    per inference from the board's time evaluator, which on QEMU counts instructions
    (-icount): the figure is instructions per inference, not cycles or wall time. Both
    outputs must equal TVM's host LLVM run bit for bit (int8).
Prints a table with the ratios (goal: at least 5x fewer seconds per trial with loading).

    TVM_HOME=... TVM_PY=... ZEPHYR_BASE=... python3 benchmarks/autotvm_trials.py \
        --kws /path/to/kws_ref_model.tflite [--trials 4] [--kws-trials 40] [--kws-tuner ga]
        [--kws-only] [--work DIR] [--json]

Needs a full TVM 0.18 (TVM_HOME and TVM_PY, the Python TVM runs with), ZEPHYR_BASE,
arm-none-eabi-gcc and qemu-system-arm.
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(DRIVER.parent))
from tvm_python_path import server_packages  # noqa: E402

TEMPLATE = REPO / "template_project"
BOARD = "mps2/an385"
GOAL_RATIO = 5.0


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


def instructions(seconds: float, build: Path) -> int:
    """QEMU's icount time back to instructions, with the shift the board in `build` ran
    with."""
    from utvm.board.build_dir import read_build
    from utvm.board.targets import QemuTarget, target_for

    target = target_for(read_build(build, must_be_built=True))
    assert isinstance(target, QemuTarget)
    shift = target.icount_shift()
    if shift is None:
        sys.exit(f"error: {build} ran without -icount: its times are no instruction counts")
    return round(seconds * 1e9 / (1 << shift))


def count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def per_trial(result: dict[str, Any], skip_first: bool) -> tuple[float, float, int]:
    """(median seconds per trial, first trial's seconds, failed trials)."""
    trials = result["trials"]
    costs = [t["all_cost"] for t in trials]
    rest = costs[1:] if skip_first and len(costs) > 1 else costs
    return statistics.median(rest), costs[0], sum(t["error_no"] != 0 for t in trials)


def trial_speed(work: Path, trials_each_way: int) -> dict[str, Any]:
    trials = str(trials_each_way)
    flashed = run_driver(work, "build-flash", "--trials", trials, "--reuse-firmware", "false",
                         "--skip-model")
    loaded = run_driver(work, "load", "--trials", trials, "--skip-model")
    flash_s, flash_first, flash_failed = per_trial(flashed, skip_first=False)
    load_s, load_first, load_failed = per_trial(loaded, skip_first=True)
    return {
        "trials_each_way": trials_each_way,
        "build_flash_seconds_per_trial": flash_s, "load_seconds_per_trial": load_s,
        "load_first_trial_seconds": load_first, "build_flash_first_trial_seconds": flash_first,
        "failed_trials": {"build_flash": flash_failed, "load": load_failed},
        "ratio": flash_s / load_s,
        "costs": {"build_flash": [t["costs"] for t in flashed["trials"]],
                  "load": [t["costs"] for t in loaded["trials"]]}}


def tune_kws(work: Path, arguments: argparse.Namespace) -> dict[str, Any]:
    kws = run_driver(work, "kws", "--trials", str(arguments.kws_trials), "--tflite",
                     str(arguments.kws), "--tuner", arguments.kws_tuner, "--as-built",
                     "--against-default")
    project = work / "kws"
    untuned = instructions(kws["untuned"]["seconds_per_inference"],
                           project / "untuned-project" / "build")
    tuned = instructions(kws["tuned"]["seconds_per_inference"],
                         project / "tuned-project" / "build")
    # The trials ran on the shared loading firmware, whose times are icount time too.
    (firmware,) = (work / "trial-firmware").glob("*/build")

    def trial(seconds: float | None) -> int | None:
        return None if seconds is None else instructions(seconds, firmware)

    decisions = [{"tasks": [kws["tasks"][i] for i in d["tasks"]],
                  "default_instructions": trial(d["default_cost"]),
                  "best_tuned_instructions": trial(d["best_tuned_cost"]),
                  "kept": d["kept"]} for d in kws["decisions"]]
    return {"tasks": len(kws["tasks"]), "trials": len(kws["trials"]),
            "space_sizes": kws["space_sizes"],
            "failed_trials": sum(t["error_no"] != 0 for t in kws["trials"]),
            "failed_defaults": sum(d["error_no"] != 0 for d in kws["defaults"]),
            "seconds_per_trial": statistics.median(t["all_cost"] for t in kws["trials"]),
            "tuning_seconds": kws["tuning_seconds"], "decisions": decisions,
            "untuned_instructions": untuned, "tuned_instructions": tuned,
            "ratio": untuned / tuned,
            "untuned_output_matches_llvm": kws["untuned"]["output"] == kws["reference"],
            "tuned_output_matches_llvm": kws["tuned"]["output"] == kws["reference"]}


def print_trial_speed(report: dict[str, Any]) -> None:
    print(f"AutoTVM on {BOARD} (QEMU), one conv2d, {report['trials_each_way']} trials each way "
          "(wall clock per trial on this machine)")
    print(f"{'':32} {'s/trial':>9} {'trials/min':>11} {'first trial s':>14} {'failed':>7}")
    for label, key in (("build + flash every trial", "build_flash"),
                       ("load into one running firmware", "load")):
        seconds = report[f"{key}_seconds_per_trial"]
        print(f"{label:32} {seconds:9.1f} {60 / seconds:11.1f} "
              f"{report[f'{key}_first_trial_seconds']:14.1f} {report['failed_trials'][key]:7}")
    verdict = "meets" if report["ratio"] >= GOAL_RATIO else "misses"
    print(f"ratio (build + flash / load): {report['ratio']:.1f}x ({verdict} the "
          f"{GOAL_RATIO:.0f}x goal); the first loading trial also builds the firmware, once")


def print_kws(k: dict[str, Any], trials: int, tuner: str) -> None:
    print(f"\nkws_ref_model on {BOARD}: {k['tasks']} tasks, {tuner} search, up to {trials} "
          f"trials each ({k['trials']} trials, {k['failed_trials']} failed, "
          f"{k['seconds_per_trial']:.1f} s per loaded trial); QEMU -icount instructions "
          "(not cycles)")
    for d in k["decisions"]:
        print(f"  {' / '.join(d['tasks'])}: default {count(d['default_instructions'])} "
              f"best tuned {count(d['best_tuned_instructions'])} -> "
              f"{'tuned' if d['kept'] else 'default'} applied")
    print(f"  per inference: untuned {k['untuned_instructions']:,}  tuned "
          f"{k['tuned_instructions']:,}  ratio untuned/tuned {k['ratio']:.2f}x")
    print(f"  outputs = host LLVM bit for bit: untuned {k['untuned_output_matches_llvm']}, "
          f"tuned {k['tuned_output_matches_llvm']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kws", type=Path, help="kws_ref_model.tflite (MLPerf Tiny)")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--kws-trials", type=int, default=40)
    parser.add_argument("--kws-tuner", choices=["grid", "random", "ga"], default="ga")
    parser.add_argument("--kws-only", action="store_true",
                        help="only the kws part (no conv2d trials both ways); needs --kws")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    missing = [v for v in ("TVM_HOME", "TVM_PY", "ZEPHYR_BASE") if not os.environ.get(v)]
    tools = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if shutil.which(t) is None]
    if missing or tools:
        sys.exit(f"error: needs {', '.join(missing + tools)} (see --help)")
    if arguments.kws_only and not arguments.kws:
        sys.exit("error: --kws-only needs --kws PATH (kws_ref_model.tflite)")
    work = arguments.work or Path(tempfile.mkdtemp(prefix="utvm-autotvm-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"board": BOARD}
    if not arguments.kws_only:
        report.update(trial_speed(work, arguments.trials))
    if arguments.kws:
        report["kws"] = tune_kws(work, arguments)
    if arguments.json:
        print(json.dumps(report, indent=2))
        return 0
    if "ratio" in report:
        print_trial_speed(report)
    if "kws" in report:
        print_kws(report["kws"], arguments.kws_trials, arguments.kws_tuner)
    return 0


if __name__ == "__main__":
    sys.exit(main())
