#!/usr/bin/env python3
"""Code size of the runtime on Cortex-M3, per component, next to TVM 0.18's C runtime.

Each component's sources are compiled the way the baseline was measured:
  arm-none-eabi-gcc -Os -mcpu=cortex-m3 -mthumb -ffunction-sections -fdata-sections
and .text/.data/.bss are summed over the object files (arm-none-eabi-size). The TVM
numbers are those of TVM 0.18's own CRT compiled exactly that way (see the issue).

    python3 benchmarks/code_size.py [--json]

Needs Debian's gcc-arm-none-eabi (apt-get install gcc-arm-none-eabi).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNTIME = REPO / "runtime"
CFLAGS = ["-Os", "-mcpu=cortex-m3", "-mthumb", "-ffunction-sections", "-fdata-sections",
          "-std=c11", f"-I{RUNTIME / 'include'}"]

# configuration -> extra compiler flags
CONFIGS = {"messages": [], "codes only": ["-DUTVM_ERROR_MESSAGES=0"]}

# component -> (source globs, TVM 0.18 .text baseline in bytes, what TVM's number covers)
COMPONENTS = {
    "core": (["src/core/*.c", "src/memory/*.c"], 7261,
             "runtime API, backend API, registry, ndarray, packed func, page+stack allocators"),
    # Both executors count the module functions they share (src/executors/common).
    "aot_executor": (["src/executors/aot/*.c", "src/executors/common/*.c"], 3205,
                     "AOT executor + module"),
    "graph_executor": (["src/executors/graph/*.c", "src/executors/common/*.c"], 11330,
                       "graph executor + module"),
    "rpc_server": (["src/rpc/*.c"], 8533, "RPC server, session, framing, CRC"),
}


def compile_and_size(sources: list[Path], out_dir: Path, defines: list[str]) -> dict[str, int]:
    totals = {"text": 0, "data": 0, "bss": 0}
    objects = []
    for src in sources:
        obj = out_dir / (src.parent.name + "_" + src.stem + ".o")
        subprocess.run(["arm-none-eabi-gcc", *CFLAGS, *defines, "-c", str(src), "-o", str(obj)],
                       check=True)
        objects.append(str(obj))
    if not objects:
        return totals
    out = subprocess.run(["arm-none-eabi-size", *objects], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines()[1:]:
        text, data, bss = (int(v) for v in line.split()[:3])
        totals["text"] += text
        totals["data"] += data
        totals["bss"] += bss
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    if shutil.which("arm-none-eabi-gcc") is None:
        print("error: arm-none-eabi-gcc not found: apt-get install gcc-arm-none-eabi",
              file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for config, defines in CONFIGS.items():
            for name, (globs, baseline, covers) in COMPONENTS.items():
                sources = sorted(p for g in globs for p in RUNTIME.glob(g))
                if not sources:
                    continue
                size = compile_and_size(sources, Path(tmp), defines)
                rows.append({"component": name, "config": config, **size, "tvm_text": baseline,
                             "ratio": size["text"] / baseline, "files": len(sources),
                             "tvm_covers": covers})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("Cortex-M3 code size (arm-none-eabi-gcc -Os -mthumb, summed over object files)\n")
    print("(.text includes .rodata, as arm-none-eabi-size counts it; 'messages' is the default,\n"
          " 'codes only' is UTVM_ERROR_MESSAGES=0: the same checks without message text)\n")
    print(f"{'component':<16}{'config':<12}{'files':>6}{'.text':>8}{'.data':>7}{'.bss':>7}"
          f"{'TVM .text':>11}{'ratio':>8}   goal <= 0.50")
    for r in rows:
        verdict = "ok" if r["ratio"] <= 0.5 else "over"
        print(f"{r['component']:<16}{r['config']:<12}{r['files']:>6}{r['text']:>8}{r['data']:>7}{r['bss']:>7}"
              f"{r['tvm_text']:>11}{r['ratio']:>8.2f}   {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
