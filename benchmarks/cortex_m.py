#!/usr/bin/env python3
"""Instructions per inference of the MLPerf Tiny models on simulated Cortex-M boards: plain C
against CMSIS-NN (portable and DSP builds), with ROM and RAM.

QEMU does not model cycles. Each image runs with `-icount shift=0`: the virtual clock then
advances exactly 1 ns per instruction, so the board's own timer (samples/aot_inference prints
"cycles per inference: N ... at F Hz", the mean of 10 runs) gives a deterministic
instruction count, N * 1e9 / F, to the timer's resolution (40 instructions at 25 MHz).
These are instructions, not cycles: a multiply-accumulate that takes one cycle on a real
Cortex-M4 counts as one instruction here, as does a load that would stall.

Rows, per board and model (from ../shared/fixtures):
  plain C          tvm-0.18/<model>/aot_c_usmp            (the baseline of the ratios)
  CMSIS-NN port.   tvm-0.18-cmsis-nn/<model>/cmsis_nn     (no mcpu: CMSIS-NN's portable C)
  CMSIS-NN DSP     tvm-0.18-cmsis-nn/<model>/cmsis_nn_cortex_m4  (DSP cores only)
ROM/RAM are `utvm footprint`'s totals and its "model" part. Every row also says whether the
outputs were bit-exact with the fixture's tvm_crt_output_0.npy.

Goal (printed): with CMSIS-NN, KWS takes >= 1.4x fewer instructions than plain C (MLPerf
Tiny v1.0 on an STM32L4R5: 144 ms plain C, 99.8 ms with CMSIS-NN). TFLite Micro reference
rows are not measured by this script yet (they are listed as such).

    python3 benchmarks/cortex_m.py [--boards mps2/an385,...] [--models kws_ref_model,...]
        [--build-root DIR] [--json]

Needs ZEPHYR_BASE (Zephyr 4.1 with picolibc and cmsis-nn), arm-none-eabi-gcc
(ZEPHYR_TOOLCHAIN_VARIANT=gnuarmemb GNUARMEMB_TOOLCHAIN_PATH=/usr), qemu-system-arm, and a
CMSIS-NN v4.1.0 tree (UTVM_CMSIS_NN_DIR, else ../shared/third_party/cmsis-nn-*), which is given
to the build as the cmsis-nn module (Zephyr 4.1's own does not fit TVM 0.18, see
zephyr/README.md). `--empty-cmsis-dsp` stands in an empty cmsis-dsp module for workspaces
without one (Zephyr's CONFIG_CMSIS_NN selects CONFIG_CMSIS_DSP; CMSIS-NN does not use it).
Build folders are kept under --build-root, so a second run only relinks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / ".." / "shared"
PLAIN = SHARED / "fixtures" / "tvm-0.18"
CMSIS = SHARED / "fixtures" / "tvm-0.18-cmsis-nn"
MODELS = ("kws_ref_model", "vww_96_int8", "ad01_int8", "pretrainedResnet_quant")
GOAL_RATIO = 1.4  # plain C / CMSIS-NN instructions for KWS (144 / 99.8 ms)

# board -> (QEMU arguments, has DSP, extra CMake definitions for a DSP MLF)
BOARDS = {
    "mps2/an385": (["-cpu", "cortex-m3", "-machine", "mps2-an385"], False, []),
    "mps2/an386": (["-cpu", "cortex-m4", "-machine", "mps2-an386"], True, []),
    # The AN521's CPU0 is a Cortex-M33 without DSP (QEMU faults on DSP instructions).
    "mps2/an521/cpu0": (["-cpu", "cortex-m33", "-machine", "mps2-an521", "-m", "16"], False,
                        []),
}
# row -> (fixture root, variant, needs DSP)
ROWS = {
    "plain C": (PLAIN, "aot_c_usmp", False),
    "CMSIS-NN portable": (CMSIS, "cmsis_nn", False),
    "CMSIS-NN DSP": (CMSIS, "cmsis_nn_cortex_m4", True),
}
CMSIS_NN_GROUPS = ("CONVOLUTION", "FULLYCONNECTED", "NNSUPPORT", "POOLING", "SOFTMAX",
                   "BASICMATH")
_CYCLES = re.compile(r"cycles per inference: (\d+) .* at (\d+) Hz")


@dataclass
class Result:
    board: str
    model: str
    row: str
    instructions: int | None
    rom: int | None
    ram: int | None
    model_rom: int | None
    model_ram: int | None
    bit_exact: bool | None
    note: str = ""


def cmsis_nn_tree() -> Path:
    named = os.environ.get("UTVM_CMSIS_NN_DIR")
    if named:
        return Path(named).resolve()
    trees = sorted((SHARED / "third_party").glob("cmsis-nn-*/Include/arm_nnfunctions.h"))
    if not trees:
        raise SystemExit("error: no CMSIS-NN v4.1.0 tree: set UTVM_CMSIS_NN_DIR")
    return trees[-1].parents[1].resolve()


def module_trees(work: Path, empty_cmsis_dsp: bool) -> list[Path]:
    """The CMSIS-NN tree as a Zephyr module named cmsis-nn (and an empty cmsis-dsp)."""
    tree = cmsis_nn_tree()
    modules = []
    nn = work / "cmsis-nn-module"
    (nn / "zephyr").mkdir(parents=True, exist_ok=True)
    for part in ("Include", "Source"):
        link = nn / part
        if not link.exists():
            link.symlink_to(tree / part)
    (nn / "zephyr" / "module.yml").write_text(
        "name: cmsis-nn\nbuild:\n  cmake-ext: True\n  kconfig-ext: True\n")
    modules.append(nn)
    if empty_cmsis_dsp:
        dsp = work / "cmsis-dsp-empty"
        (dsp / "zephyr").mkdir(parents=True, exist_ok=True)
        (dsp / "Include").mkdir(exist_ok=True)
        (dsp / "PrivateInclude").mkdir(exist_ok=True)
        tables = dsp / "Source" / "CommonTables"
        tables.mkdir(parents=True, exist_ok=True)
        glue = Path(os.environ["ZEPHYR_BASE"]) / "modules" / "cmsis-dsp" / "CMakeLists.txt"
        for name in set(re.findall(r"Source/CommonTables/(\w+\.c)", glue.read_text())):
            (tables / name).write_text("typedef int utvm_empty_cmsis_dsp;\n")
        (dsp / "zephyr" / "module.yml").write_text(
            "name: cmsis-dsp\nbuild:\n  cmake-ext: True\n  kconfig-ext: True\n")
        modules.append(dsp)
    return modules


def build(board: str, variant: Path, build_dir: Path, modules: list[Path], cmsis: bool,
          extra: list[str], work: Path) -> str | None:
    """west build of samples/aot_inference for one MLF; None when it worked, else why not."""
    data = work / "data" / f"{variant.parent.name}-{variant.name}"
    data.mkdir(parents=True, exist_ok=True)
    np.load(variant / "input_0.npy").tofile(data / "in.bin")
    np.load(variant / "tvm_crt_output_0.npy").tofile(data / "out.bin")
    conf = work / ("cmsis-nn.conf" if cmsis else "plain.conf")
    conf.write_text("".join(f"CONFIG_CMSIS_NN_{g}=y\n" for g in CMSIS_NN_GROUPS)
                    + "CONFIG_CMSIS_NN=y\n" if cmsis else "\n")
    extra_modules = ";".join(str(p) for p in [REPO, *(modules if cmsis else [])])
    command = ["west", "build", "-d", str(build_dir), "-b", board,
               str(REPO / "samples" / "aot_inference"), "--",
               f"-DZEPHYR_EXTRA_MODULES={extra_modules}", f"-DEXTRA_CONF_FILE={conf}",
               f"-DUTVM_MODEL={variant}", f"-DUTVM_INPUTS={data / 'in.bin'}",
               f"-DUTVM_EXPECTED_OUTPUTS={data / 'out.bin'}", *extra]
    proc = subprocess.run(command, capture_output=True, text=True, check=False,
                          cwd=Path(os.environ["ZEPHYR_BASE"]).parent)
    if proc.returncode != 0:
        errors = [line.strip() for line in (proc.stdout + proc.stderr).splitlines()
                  if "error" in line.lower() or "utvm_add_model" in line]
        return "build failed: " + (" | ".join(errors[-3:]) or f"exit {proc.returncode}")
    return None


def run(board: str, elf: Path) -> tuple[int | None, bool | None, str]:
    qemu_args = BOARDS[board][0]
    command = ["qemu-system-arm", *qemu_args, "-nographic", "-vga", "none", "-monitor", "none",
               "-serial", "stdio", "-icount", "shift=0,align=off,sleep=off", "-kernel",
               str(elf)]
    output = ""
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace") as proc:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                output += line
                if "aot_inference: PASS" in line or "aot_inference: FAIL" in line:
                    break
        finally:
            proc.kill()
    match = _CYCLES.search(output)
    if match is None:
        return None, None, "no 'cycles per inference' line"
    instructions = round(int(match.group(1)) * 1e9 / int(match.group(2)))
    return instructions, "bit-exact" in output, ""


def footprint(build_dir: Path) -> dict[str, int | None]:
    proc = subprocess.run([sys.executable, "-m", "utvm", "footprint", "-d", str(build_dir),
                           "--json"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"rom": None, "ram": None, "model_rom": None, "model_ram": None}
    data = json.loads(proc.stdout)
    model = data["parts"]["model"]
    return {"rom": data["total"]["rom"], "ram": data["total"]["ram"],
            "model_rom": model["rom"], "model_ram": model["ram"]}


def measure(board: str, model: str, row: str, build_root: Path, modules: list[Path],
            work: Path) -> Result:
    root, variant_name, needs_dsp = ROWS[row]
    variant = root / model / variant_name
    _, has_dsp, dsp_extra = BOARDS[board]
    empty = Result(board, model, row, None, None, None, None, None, None)
    if needs_dsp and not has_dsp:
        empty.note = "no DSP on this core"
        return empty
    if not variant.is_dir():
        empty.note = f"no fixture {variant}"
        return empty
    cmsis = root == CMSIS
    build_dir = build_root / f"{board.replace('/', '_')}-{'cmsis' if cmsis else 'plain'}"
    failure = build(board, variant.resolve(), build_dir, modules, cmsis,
                    dsp_extra if needs_dsp else [], work)
    if failure:
        empty.note = failure
        return empty
    instructions, exact, note = run(board, build_dir / "zephyr" / "zephyr.elf")
    return Result(board, model, row, instructions, **footprint(build_dir), bit_exact=exact,
                  note=note)


def table(results: list[Result]) -> str:
    lines = ["Instructions per inference under QEMU (-icount shift=0: instructions, not "
             "cycles), mean of 10 runs; ROM/RAM from utvm footprint.",
             f"{'board':<16} {'model':<23} {'row':<18} {'instructions':>13} {'vs plain':>9} "
             f"{'ROM':>8} {'RAM':>8} {'model ROM':>10} {'exact':>6}"]
    baseline = {(r.board, r.model): r.instructions for r in results if r.row == "plain C"}
    for r in results:
        base = baseline.get((r.board, r.model))
        ratio = f"{base / r.instructions:.2f}x" if base and r.instructions else "-"
        if r.row == "plain C":
            ratio = "1.00x" if r.instructions else "-"
        cells = [f"{r.instructions:,}" if r.instructions else "-", ratio,
                 f"{r.rom:,}" if r.rom else "-", f"{r.ram:,}" if r.ram else "-",
                 f"{r.model_rom:,}" if r.model_rom else "-",
                 "-" if r.bit_exact is None else ("yes" if r.bit_exact else "NO")]
        lines.append(f"{r.board:<16} {r.model:<23} {r.row:<18} {cells[0]:>13} {cells[1]:>9} "
                     f"{cells[2]:>8} {cells[3]:>8} {cells[4]:>10} {cells[5]:>6}"
                     + (f"  ({r.note})" if r.note else ""))
    for board in dict.fromkeys(r.board for r in results):
        lines.append(f"{board:<16} {'(each model)':<23} {'TFLite Micro':<18} "
                     f"{'-':>13}  (not measured by this script yet)")
    lines.append("")
    for r in results:
        if r.model == "kws_ref_model" and r.row.startswith("CMSIS-NN"):
            base = baseline.get((r.board, r.model))
            if base and r.instructions:
                verdict = "met" if base / r.instructions >= GOAL_RATIO else "NOT met"
                lines.append(f"goal: {r.board} KWS {r.row}: {base / r.instructions:.2f}x fewer "
                             f"instructions than plain C (goal >= {GOAL_RATIO}x): {verdict}")
    lines.append("goal: fewer instructions than TFLite Micro with CMSIS-NN: not measured")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boards", default=",".join(BOARDS))
    parser.add_argument("--models", default="kws_ref_model",
                        help=f"comma-separated (all: {','.join(MODELS)})")
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--build-root", type=Path,
                        default=Path(tempfile.gettempdir()) / "utvm-cortex-m-bench")
    parser.add_argument("--empty-cmsis-dsp", action="store_true",
                        help="stand in an empty cmsis-dsp module (workspaces without one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("ZEPHYR_BASE"):
        print("error: set ZEPHYR_BASE to a Zephyr 4.1 tree", file=sys.stderr)
        return 2
    work = args.build_root / "work"
    work.mkdir(parents=True, exist_ok=True)
    modules = module_trees(work, args.empty_cmsis_dsp)
    results = []
    # Row-major per board: consecutive builds in one build folder differ only in the model.
    for board in args.boards.split(","):
        for row in args.rows.split(","):
            for model in args.models.split(","):
                result = measure(board, model, row, args.build_root, modules, work)
                print(f"measured {board} {model} {row}: {result.instructions} instructions, "
                      f"bit-exact {result.bit_exact} {result.note}", file=sys.stderr, flush=True)
                results.append(result)
    results.sort(key=lambda r: (list(BOARDS).index(r.board) if r.board in BOARDS else 99,
                                r.model, list(ROWS).index(r.row)))
    print(json.dumps([asdict(r) for r in results], indent=2) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
