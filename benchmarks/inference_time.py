#!/usr/bin/env python3
"""Host time per inference of every fixture model, per executor, on our runtime.

The baseline, measured in the same run, is the model's `aot_c_usmp` variant: generated
code called straight through tvmgen_default_run() with no executor in between. The ratio
of each variant to it is what our executors cost on top of the model's own arithmetic.

    python3 benchmarks/inference_time.py [--repeat N] [--fixtures DIR] [--json]

Builds each model once with the host runner (cached), then times N inferences.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from utvm.errors import UtvmError
from utvm.host import run_on_host

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FIXTURES = REPO / ".." / "shared" / "fixtures" / "tvm-0.18"
BASELINE = "aot_c_usmp"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=50, help="inferences per measurement")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES,
                        help="folder of <model>/<variant> MLFs (default: ../shared/fixtures)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    if not args.fixtures.is_dir():
        print(f"error: no fixtures at {args.fixtures}; pass --fixtures", file=sys.stderr)
        return 2

    rows = []
    for model in sorted(p for p in args.fixtures.iterdir() if p.is_dir()):
        times = {}
        for variant in sorted(p for p in model.iterdir() if (p / "metadata.json").exists()):
            inputs = [np.load(f) for f in sorted(variant.glob("input_*.npy"))]
            print(f"  {model.name}/{variant.name} ...", file=sys.stderr)
            try:
                result = run_on_host(variant, inputs, repeat=args.repeat)
            except UtvmError as e:
                print(f"    skipped: {str(e).splitlines()[0]}", file=sys.stderr)
                continue
            times[variant.name] = result.seconds_per_inference
        base = times.get(BASELINE)
        for name, t in times.items():
            rows.append({"model": model.name, "variant": name, "us_per_inference": t * 1e6,
                         "ratio_to_aot_c": t / base if base else None})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"\nHost time per inference, mean of {args.repeat} (baseline: {BASELINE}, "
          "generated code called directly)\n")
    print(f"{'model':<24}{'variant':<14}{'µs/inference':>14}{'ratio':>8}")
    for r in rows:
        ratio = f"{r['ratio_to_aot_c']:.2f}" if r["ratio_to_aot_c"] else "-"
        print(f"{r['model']:<24}{r['variant']:<14}{r['us_per_inference']:>14.1f}{ratio:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
