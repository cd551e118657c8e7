#!/usr/bin/env python3
"""Code size of the runtime on Cortex-M3, per component, next to TVM 0.18's C runtime.

Each component's sources are compiled the way the baseline was measured:
  arm-none-eabi-gcc -Os -mcpu=cortex-m3 -mthumb -ffunction-sections -fdata-sections
and .text/.data/.bss are summed over the object files (arm-none-eabi-size). The TVM
numbers are those of TVM 0.18's own CRT compiled exactly that way (see the issue).

Scopes follow TVM's: "rpc_server" is what TVM's 8,533 B cover (minRPC server with its
syscalls, session, framing, CRC, TVMLogf). The RPC globals TVM registers from its core
runtime (runtime.RPCTimeEvaluator, GetCRTMaxPacketSize, random_fill live in
crt_runtime_api.c) are a row of their own and are added to the core in "core+rpc_globals";
"rpc_server all" sums every RPC file, so no byte goes unreported.

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

# TVM 0.18 keeps some of what our RPC files do in its core runtime (crt_runtime_api.c):
# runtime.RPCTimeEvaluator, tvm.rpc.server.GetCRTMaxPacketSize and random_fill. Those files
# are measured as their own row, so the server is compared with TVM's server scope, and
# are added to the core for the core's comparison; the "all" rows sum every file.
RPC_CORE_GLOBALS = ["src/rpc/time_evaluator.c", "src/rpc/rpc_globals.c"]

# component -> (source globs, files to leave out, TVM 0.18 .text baseline in bytes or None,
#               what TVM's number covers)
COMPONENTS = {
    "core": (["src/core/*.c", "src/memory/*.c"], [], 7261,
             "runtime API, backend API, registry, ndarray, packed func, page+stack allocators"),
    # Both executors count the module functions they share (src/executors/common).
    "aot_executor": (["src/executors/aot/*.c", "src/executors/common/*.c"], [], 3205,
                     "AOT executor + module"),
    "graph_executor": (["src/executors/graph/*.c", "src/executors/common/*.c"], [], 11330,
                       "graph executor + module"),
    "rpc_server": (["src/rpc/*.c"], RPC_CORE_GLOBALS, 8533,
                   "RPC server (minRPC incl. syscalls), session, framing, CRC, TVMLogf"),
    "rpc_core_globals": (RPC_CORE_GLOBALS, [], None,
                         "time evaluator, GetCRTMaxPacketSize, random_fill: in TVM's core"),
    "core+rpc_globals": (["src/core/*.c", "src/memory/*.c", *RPC_CORE_GLOBALS], [], 7261,
                         "TVM's core scope, with the RPC globals it includes"),
    "rpc_server all": (["src/rpc/*.c"], [], 8533, "every file of src/rpc, for reference"),
}


def object_sizes(sources: list[Path], out_dir: Path, defines: list[str]) -> dict[Path, tuple]:
    """(.text, .data, .bss) of each source compiled alone."""
    sizes = {}
    for src in sources:
        obj = out_dir / (src.parent.name + "_" + src.stem + ".o")
        subprocess.run(["arm-none-eabi-gcc", *CFLAGS, *defines, "-c", str(src), "-o", str(obj)],
                       check=True)
        out = subprocess.run(["arm-none-eabi-size", str(obj)], check=True, capture_output=True,
                             text=True).stdout
        sizes[src] = tuple(int(v) for v in out.splitlines()[1].split()[:3])
    return sizes


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
    all_sources = sorted({p for globs, _, _, _ in COMPONENTS.values() for g in globs
                          for p in RUNTIME.glob(g)})
    with tempfile.TemporaryDirectory() as tmp:
        for config, defines in CONFIGS.items():
            sizes = object_sizes(all_sources, Path(tmp), defines)
            for name, (globs, excluded, baseline, covers) in COMPONENTS.items():
                left_out = {RUNTIME / e for e in excluded}
                sources = sorted({p for g in globs for p in RUNTIME.glob(g)} - left_out)
                if not sources:
                    continue
                text, data, bss = (sum(sizes[p][i] for p in sources) for i in range(3))
                rows.append({"component": name, "config": config, "text": text, "data": data,
                             "bss": bss, "tvm_text": baseline,
                             "ratio": text / baseline if baseline else None,
                             "files": len(sources), "tvm_covers": covers})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("Cortex-M3 code size (arm-none-eabi-gcc -Os -mthumb, summed over object files)\n")
    print("(.text includes .rodata, as arm-none-eabi-size counts it; 'messages' is the default,\n"
          " 'codes only' is UTVM_ERROR_MESSAGES=0: the same checks without message text. TVM's\n"
          " server has almost no message text of its own (on a bad packet it spins in Exit()\n"
          " without a reply), so for rpc_server 'codes only' is the nearer like-for-like row;\n"
          " utvm's host names the codes such a board sends)\n")
    print(f"{'component':<18}{'config':<12}{'files':>6}{'.text':>8}{'.data':>7}{'.bss':>7}"
          f"{'TVM .text':>11}{'ratio':>8}   goal <= 0.50")
    for r in rows:
        if r["ratio"] is None:
            tvm, ratio, verdict = "in core", "-", "(counted in core+rpc_globals)"
        else:
            tvm, ratio = str(r["tvm_text"]), f"{r['ratio']:.2f}"
            verdict = "ok" if r["ratio"] <= 0.5 else "over"
        print(f"{r['component']:<18}{r['config']:<12}{r['files']:>6}{r['text']:>8}{r['data']:>7}"
              f"{r['bss']:>7}{tvm:>11}{ratio:>8}   {verdict}")
    print("\nWhat TVM's numbers cover:")
    for name, (_, _, _, covers) in COMPONENTS.items():
        print(f"  {name:<18}{covers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
