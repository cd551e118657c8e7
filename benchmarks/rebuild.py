#!/usr/bin/env python3
"""What changing the model costs a Zephyr build: `west utvm build` with one model, then the
same build folder with another, then the second model again unchanged.

The baseline, measured in the same run, is the first build (configure and compile
everything). Each row gives its wall time as a ratio to it and the objects ninja compiled
(from the build's .ninja_log), so that "a model change recompiles the model and relinks"
shows as a small ratio and a small object count.

    ZEPHYR_BASE=... python3 benchmarks/rebuild.py [-b native_sim] [--first MLF] [--second MLF]
        [--keep DIR] [--json]

native_sim builds need only the host compiler (ZEPHYR_TOOLCHAIN_VARIANT=host is set for it);
the default models are two fixtures of ../shared/fixtures (kws and vww, AOT packed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / ".." / "shared" / "fixtures" / "tvm-0.18"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-b", "--board", default="native_sim")
    parser.add_argument("--first", type=Path, default=FIXTURES / "kws_ref_model" / "aot_packed")
    parser.add_argument("--second", type=Path, default=FIXTURES / "vww_96_int8" / "aot_packed")
    parser.add_argument("--keep", type=Path, help="build here and keep it (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    if not os.environ.get("ZEPHYR_BASE"):
        print("error: set ZEPHYR_BASE to a Zephyr 4.1 tree", file=sys.stderr)
        return 2
    for model in (args.first, args.second):
        if not (model / "metadata.json").is_file() and not model.is_file():
            print(f"error: no MLF at {model}; give --first/--second", file=sys.stderr)
            return 2
    env = dict(os.environ)
    if args.board.startswith("native_sim"):
        env["ZEPHYR_TOOLCHAIN_VARIANT"] = "host"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "python"),
                                                     env.get("PYTHONPATH")) if p)
    work = args.keep or Path(tempfile.mkdtemp(prefix="utvm-rebuild-"))
    build_dir = work / "build"
    shutil.rmtree(build_dir, ignore_errors=True)
    steps = [("first build", ["-b", args.board, "--mlf", str(args.first)]),
             ("another model", ["--mlf", str(args.second)]),
             ("same model again", ["--mlf", str(args.second)])]
    rows = []
    try:
        for label, extra in steps:
            seconds, objects = _build(build_dir, extra, env)
            rows.append({"step": label, "seconds": seconds, "objects_compiled": objects})
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    base = rows[0]["seconds"]
    for row in rows:
        row["ratio_to_first_build"] = row["seconds"] / base
    if args.json:
        print(json.dumps({"board": args.board, "rows": rows}, indent=2))
        return 0
    print(f"west utvm build on {args.board}: {args.first.name} of {args.first.parent.name} "
          f"-> {args.second.parent.name} (wall time, baseline: the first build)")
    print(f"{'step':<18} {'seconds':>9} {'ratio':>7} {'objects compiled':>17}")
    for row in rows:
        print(f"{row['step']:<18} {row['seconds']:>9.1f} {row['ratio_to_first_build']:>7.3f} "
              f"{row['objects_compiled']:>17}")
    return 0


def _build(build_dir: Path, extra: list[str], env: dict[str, str]) -> tuple[float, int]:
    log = build_dir / ".ninja_log"
    before = len(log.read_text().splitlines()) if log.is_file() else 0
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "utvm", "build", "-d", str(build_dir),
                             *extra], env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError("west utvm build failed:\n" + result.stdout[-3000:] + result.stderr)
    lines = log.read_text().splitlines()[before:] if log.is_file() else []
    # .ninja_log: start, end, mtime, output, command hash (tab-separated)
    outputs = {fields[3] for fields in (line.split("\t") for line in lines) if len(fields) > 3}
    return seconds, sum(1 for output in outputs if output.endswith((".obj", ".o")))


if __name__ == "__main__":
    sys.exit(main())
