#!/usr/bin/env python3
"""Instructions per inference of the MLPerf Tiny models on simulated Cortex-M boards: TVM's
plain C against TVM with CMSIS-NN (portable and DSP builds), next to TFLite Micro (its
reference kernels and its CMSIS-NN kernels), with ROM and RAM.

QEMU does not model cycles. Each image runs with `-icount shift=0`: the virtual clock then
advances exactly 1 ns per instruction, so the board's own timer (each app prints "cycles per
inference: N ... at F Hz", the mean of 10 runs after a first, untimed one) gives a
deterministic instruction count, N * 1e9 / F, to the timer's resolution (40 instructions at
25 MHz). These are instructions, not cycles: a multiply-accumulate that takes one cycle on a
real Cortex-M4 counts as one instruction here, as does a load that would stall.

Boards (default): mps2/an385 (Cortex-M3), mps2/an386 (Cortex-M4 with DSP), mps2/an521/cpu0
(Cortex-M33 without DSP). mps2/an521/cpu1, the AN521's Cortex-M33 with DSP, can be named with
--boards, but QEMU 7.2 with -icount never starts it: Zephyr's empty CPU0 image boots and CPU1
prints nothing (without -icount it runs, but then its timer counts host time); its runs stop
after the timeout below.

Rows, per board and model:
  plain C            tvm-0.18/<model>/aot_c_usmp       TVM, no CMSIS-NN (the ratios' baseline)
  CMSIS-NN portable  tvm-0.18-cmsis-nn/<model>/cmsis_nn       TVM + CMSIS-NN's portable C
  CMSIS-NN DSP       tvm-0.18-cmsis-nn/<model>/cmsis_nn_cortex_m4   (DSP cores only)
  TFLM reference     <tflite-dir>/<model>.tflite, TFLite Micro's reference kernels
  TFLM CMSIS-NN      the same with TFLite Micro's CMSIS-NN kernels (DSP paths on DSP cores)
The TVM rows run samples/aot_inference; the TFLM rows run benchmarks/tflm_reference, a Zephyr
app on Zephyr's tflite-micro module (and, for its CMSIS-NN kernels, Zephyr's own cmsis-nn
module), with the same input and the same timing; it compiles only the kernels the model
registers, read from the .tflite (the linker drops the others anyway). ROM/RAM are `west utvm
footprint`'s totals (and, for TVM, its "model" part); a TFLM image's arena is cut to what the
model uses (a first run reports it, the image is relinked with that size, a little more
when AllocateTensors needs more on the way), while
aot_inference keeps its 16 KiB runtime arena (where it puts the inputs and outputs: 8 KiB more
than they take when that is more, 36 KiB for vww's 27,648-byte input). "exact": TVM rows
against the fixture's tvm_crt_output_0.npy, TFLM rows against expected_output_0.npy (the
TFLite interpreter's output for that input).

Goals (printed, with met / NOT met): with CMSIS-NN, KWS takes >= 1.4x fewer instructions
than plain C (MLPerf Tiny v1.0 on an STM32L4R5: 144 ms plain C, 99.8 ms with CMSIS-NN), and
fewer than TFLite Micro with CMSIS-NN on the same board (TVM's CMSIS-NN build for that core:
DSP where the core has it, portable on the Cortex-M3).

Last figures (2026-12-06; QEMU instruction counts, -icount shift=0, not cycles;
instructions per inference; every row exact but TFLM's ad01, 1 off TFLite's interpreter):

    board            model                        plain C  NN portable      NN DSP     TFLM NN
    mps2/an385       kws_ref_model             30,290,040   10,407,240           -  10,511,520
    mps2/an385       vww_96_int8               92,981,560   32,068,880           -  32,064,440
    mps2/an385       ad01_int8                  3,022,080      954,680           -     957,120
    mps2/an385       pretrainedResnet_quant   170,535,480   43,078,760           -  43,046,600
    mps2/an386       kws_ref_model             30,148,120   10,422,560   7,675,400   7,811,480
    mps2/an386       vww_96_int8               85,476,600   32,114,360  24,673,000  24,701,640
    mps2/an386       ad01_int8                  3,020,040      956,400     582,320     583,480
    mps2/an386       pretrainedResnet_quant   152,338,000   43,087,080  31,182,240  31,213,720
    mps2/an521/cpu0  kws_ref_model             24,232,040    8,325,800           -   8,409,160
    mps2/an521/cpu0  vww_96_int8               74,385,240   25,655,120           -  25,651,440
    mps2/an521/cpu0  ad01_int8                  2,417,640      763,720           -     765,640
    mps2/an521/cpu0  pretrainedResnet_quant   136,428,360   34,463,000           -  34,437,240

TVM 0.18 with CMSIS-NN v4.1.0 against TFLite Micro with Zephyr 4.1's CMSIS-NN (e9328d61);
both libraries are compiled -Ofast by Zephyr's module glue, TVM's model code and TFLM's
kernels -Os. The kernels the models share cost the same in both versions (per-function
counts from QEMU's exec log); KWS's first layer made the difference: TVM hands it to CMSIS-NN
as a depthwise convolution with channel multiplier 64 (1.68M instructions on mps2/an385, TFLM's
convolution about 1.3M), which utvm's build now links to the convolution's matrix product
(CONFIG_UTVM_CMSIS_NN_DEPTHWISE_AS_CONV, see zephyr/README.md): KWS 10.86M before, 10.41M after
on mps2/an385; 8.44M before, 7.68M after on mps2/an386 (DSP). "-": no DSP on that core.

    python3 benchmarks/cortex_m.py [--boards mps2/an385,...] [--models kws_ref_model,...]
        [--rows "plain C,TFLM CMSIS-NN",...] [--tflite-dir DIR] [--build-root DIR] [--json]

Needs ZEPHYR_BASE (Zephyr 4.1 with picolibc, cmsis-nn and, for the TFLM rows, tflite-micro),
arm-none-eabi-gcc (ZEPHYR_TOOLCHAIN_VARIANT=gnuarmemb GNUARMEMB_TOOLCHAIN_PATH=/usr),
qemu-system-arm, and a CMSIS-NN v4.1.0 tree (UTVM_CMSIS_NN_DIR, else
../shared/third_party/cmsis-nn-*), which is given to the TVM builds as the cmsis-nn module
(Zephyr 4.1's own does not fit TVM 0.18, see zephyr/README.md; the TFLM builds use Zephyr's).
The TFLM rows need the MLPerf Tiny .tflite files (--tflite-dir, else UTVM_TFLITE_DIR; without
them the TFLM rows are skipped with a message) and TFLite Micro's C++ library: libstdc++ for
the toolchain's picolibc (Debian: apt-get install libstdc++-arm-none-eabi-picolibc).
Zephyr's CONFIG_CMSIS_NN selects CONFIG_CMSIS_DSP, which CMSIS-NN does not use: a workspace
without the cmsis-dsp module gets an empty stand-in (also forced by --empty-cmsis-dsp).
Build folders are kept under --build-root, so a second run only relinks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / ".." / "shared"
PLAIN = SHARED / "fixtures" / "tvm-0.18"
CMSIS = SHARED / "fixtures" / "tvm-0.18-cmsis-nn"
TFLM_APP = Path(__file__).resolve().parent / "tflm_reference"
MODELS = ("kws_ref_model", "vww_96_int8", "ad01_int8", "pretrainedResnet_quant")
GOAL_RATIO = 1.4  # plain C / CMSIS-NN instructions for KWS (144 / 99.8 ms)
RUN_TIMEOUT_S = 900  # a board that prints no verdict by then is stopped
TFLM_FIRST_ARENA = 262144  # the first build's arena; the measured one has what the model used
TVM_ARENA = 16384  # samples/aot_inference's runtime arena, raised for large inputs (see tvm_arena)


@dataclass(frozen=True)
class Board:
    qemu: tuple[str, ...]
    dsp: bool
    #: QEMU starts the image after Zephyr's empty CPU0 image (the AN521's CPU1)
    second_cpu: bool = False


BOARDS = {
    "mps2/an385": Board(("-cpu", "cortex-m3", "-machine", "mps2-an385"), dsp=False),
    "mps2/an386": Board(("-cpu", "cortex-m4", "-machine", "mps2-an386"), dsp=True),
    # The AN521's CPU0 is a Cortex-M33 without DSP, CPU1 one with DSP.
    "mps2/an521/cpu0": Board(("-cpu", "cortex-m33", "-machine", "mps2-an521", "-m", "16"),
                             dsp=False),
    # QEMU 7.2 with -icount does not start CPU1 (see above): named with --boards only.
    "mps2/an521/cpu1": Board(("-cpu", "cortex-m33", "-machine", "mps2-an521", "-m", "16"),
                             dsp=True, second_cpu=True),
}
DEFAULT_BOARDS = ("mps2/an385", "mps2/an386", "mps2/an521/cpu0")
# row -> (fixture root or None for TFLM, TVM variant or TFLM kernels, needs DSP)
ROWS = {
    "plain C": (PLAIN, "aot_c_usmp", False),
    "CMSIS-NN portable": (CMSIS, "cmsis_nn", False),
    "CMSIS-NN DSP": (CMSIS, "cmsis_nn_cortex_m4", True),
    "TFLM reference": (None, "reference", False),
    "TFLM CMSIS-NN": (None, "cmsis-nn", False),
}
CMSIS_NN_GROUPS = ("CONVOLUTION", "FULLYCONNECTED", "NNSUPPORT", "POOLING", "SOFTMAX",
                   "BASICMATH")
_CYCLES = re.compile(r"cycles per inference: (\d+) .* at (\d+) Hz")
_ARENA_USED = re.compile(r"arena used: (\d+) of")
_VERDICT = re.compile(r"^(aot_inference|tflm_reference): (PASS|FAIL)|ZEPHYR FATAL ERROR")
_EXACT = re.compile(r"expected output 0: (bit-exact|max abs diff \d+|.*bytes.*)")
# TFLite builtin operator codes (the schema's BuiltinOperator) -> MicroMutableOpResolver's
# Add<Name>() and the kernel file it lives in (kernels/<file>.cc); the MLPerf Tiny models use
# a few of them.
TFLITE_OPS = {0: ("Add", "add"), 1: ("AveragePool2D", "pooling"),
              2: ("Concatenation", "concatenation"), 3: ("Conv2D", "conv"),
              4: ("DepthwiseConv2D", "depthwise_conv"), 6: ("Dequantize", "dequantize"),
              9: ("FullyConnected", "fully_connected"), 14: ("Logistic", "logistic"),
              17: ("MaxPool2D", "pooling"), 18: ("Mul", "mul"), 19: ("Relu", "activations"),
              21: ("Relu6", "activations"), 22: ("Reshape", "reshape"),
              25: ("Softmax", "softmax"), 28: ("Tanh", "tanh"), 34: ("Pad", "pad"),
              40: ("Mean", "reduce"), 41: ("Sub", "sub"), 43: ("Squeeze", "squeeze"),
              114: ("Quantize", "quantize")}


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
    exact: str | None
    note: str = ""


def cmsis_nn_tree() -> Path:
    named = os.environ.get("UTVM_CMSIS_NN_DIR")
    if named:
        return Path(named).resolve()
    trees = sorted((SHARED / "third_party").glob("cmsis-nn-*/Include/arm_nnfunctions.h"))
    if not trees:
        raise SystemExit("error: no CMSIS-NN v4.1.0 tree: set UTVM_CMSIS_NN_DIR")
    return trees[-1].parents[1].resolve()


def workspace_has_cmsis_dsp() -> bool:
    """Whether the west workspace around ZEPHYR_BASE has the cmsis-dsp module."""
    zephyr = Path(os.environ["ZEPHYR_BASE"])
    return (zephyr.parent / "modules" / "lib" / "cmsis-dsp" / "Include").is_dir()


def empty_cmsis_dsp(work: Path) -> Path:
    """An empty module named cmsis-dsp: Zephyr's CONFIG_CMSIS_NN selects CONFIG_CMSIS_DSP,
    whose glue compiles the common tables; CMSIS-NN itself uses nothing of it."""
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
    return dsp


def tvm_cmsis_nn_module(work: Path) -> Path:
    """The CMSIS-NN v4.1.0 tree as a Zephyr module named cmsis-nn (for the TVM builds)."""
    tree = cmsis_nn_tree()
    nn = work / "cmsis-nn-module"
    (nn / "zephyr").mkdir(parents=True, exist_ok=True)
    for part in ("Include", "Source"):
        link = nn / part
        if not link.exists():
            link.symlink_to(tree / part)
    (nn / "zephyr" / "module.yml").write_text(
        "name: cmsis-nn\nbuild:\n  cmake-ext: True\n  kconfig-ext: True\n")
    return nn


def tflite_ops(path: Path) -> list[tuple[str, str]]:
    """The builtin operators a .tflite uses (resolver name, kernel file), from its flatbuffer:
    Model.operator_codes (field 1), each OperatorCode's deprecated_builtin_code (field 0, a
    byte) and builtin_code (field 3, int32; the larger of the two is the code)."""
    data = path.read_bytes()

    def table_field(table: int, index: int) -> int | None:
        vtable = table - struct.unpack_from("<i", data, table)[0]
        vtable_size = struct.unpack_from("<H", data, vtable)[0]
        if 4 + 2 * index >= vtable_size:
            return None
        offset = struct.unpack_from("<H", data, vtable + 4 + 2 * index)[0]
        return table + offset if offset else None

    root = struct.unpack_from("<I", data, 0)[0]
    codes_field = table_field(root, 1)
    if codes_field is None:
        raise SystemExit(f"error: {path} lists no operators: is it a .tflite model?")
    vector = codes_field + struct.unpack_from("<I", data, codes_field)[0]
    names = []
    for i in range(struct.unpack_from("<I", data, vector)[0]):
        element = vector + 4 + 4 * i
        code_table = element + struct.unpack_from("<I", data, element)[0]
        deprecated = table_field(code_table, 0)
        builtin = table_field(code_table, 3)
        code = max(struct.unpack_from("<b", data, deprecated)[0] if deprecated else 0,
                   struct.unpack_from("<i", data, builtin)[0] if builtin else 0)
        if code not in TFLITE_OPS:
            raise SystemExit(f"error: {path} uses TFLite builtin operator {code}: add its "
                             "resolver name to TFLITE_OPS in benchmarks/cortex_m.py")
        names.append(TFLITE_OPS[code])
    return sorted(set(names))


def tflm_toolchain_problem() -> str | None:
    """Why TFLite Micro cannot build here, or None: it needs libstdc++ for picolibc."""
    gcc = Path(os.environ.get("GNUARMEMB_TOOLCHAIN_PATH", "/usr")) / "bin" / "arm-none-eabi-gcc"
    proc = subprocess.run([str(gcc), "-print-file-name=picolibcpp.specs"], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0 or not Path(proc.stdout.strip()).is_absolute():
        return ("TFLite Micro needs libstdc++ for the toolchain's picolibc "
                "(Debian: apt-get install libstdc++-arm-none-eabi-picolibc)")
    return None


def west_build(board: str, app: Path, build_dir: Path, definitions: list[str],
               env: dict[str, str] | None = None) -> str | None:
    """west build; None when it worked, else the last error lines."""
    command = ["west", "build", "-d", str(build_dir), "-b", board, str(app), "--",
               *definitions]
    proc = subprocess.run(command, capture_output=True, text=True, check=False,
                          cwd=Path(os.environ["ZEPHYR_BASE"]).parent,
                          env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        errors = [line.strip() for line in (proc.stdout + proc.stderr).splitlines()
                  if "error" in line.lower() or "utvm_add_model" in line]
        return "build failed: " + (" | ".join(errors[-3:]) or f"exit {proc.returncode}")
    return None


def raw_tensor(npy: Path, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    np.load(npy).tofile(out)
    return out


def tvm_arena(tensors: list[Path]) -> int:
    """aot_inference's runtime arena for these input and output files: its default 16 KiB,
    or what they take (to 4 KiB) and 8 KiB for the runtime's own pages when that is more."""
    data = sum(path.stat().st_size for path in tensors)
    return max(TVM_ARENA, -(-data // 4096) * 4096 + 8192)


def build_tvm(board: str, variant: Path, build_dir: Path, cmsis_nn: Path | None,
              dsp_modules: list[Path], work: Path) -> str | None:
    """samples/aot_inference for one MLF (with CMSIS-NN v4.1.0 when cmsis_nn is given)."""
    data = work / "data" / f"{variant.parent.name}-{variant.name}"
    inputs = raw_tensor(variant / "input_0.npy", data / "in.bin")
    expected = raw_tensor(variant / "tvm_crt_output_0.npy", data / "out.bin")
    conf = work / ("cmsis-nn.conf" if cmsis_nn else "plain.conf")
    conf.write_text("".join(f"CONFIG_CMSIS_NN_{g}=y\n" for g in CMSIS_NN_GROUPS)
                    + "CONFIG_CMSIS_NN=y\n" if cmsis_nn else "\n")
    modules = [REPO, *([cmsis_nn, *dsp_modules] if cmsis_nn else [])]
    return west_build(board, REPO / "samples" / "aot_inference", build_dir, [
        f"-DZEPHYR_EXTRA_MODULES={';'.join(str(p) for p in modules)}",
        f"-DEXTRA_CONF_FILE={conf}", f"-DUTVM_MODEL={variant}", f"-DUTVM_INPUTS={inputs}",
        f"-DUTVM_EXPECTED_OUTPUTS={expected}",
        f"-DCONFIG_UTVM_ARENA_SIZE={tvm_arena([inputs, expected])}"])


def build_tflm(board: str, model: str, tflite: Path, kernels: str, build_dir: Path,
               arena: int, dsp_modules: list[Path], work: Path) -> str | None:
    """benchmarks/tflm_reference with one .tflite, its input and TFLite's expected output."""
    fixture = PLAIN / model / "aot_c_usmp"
    data = work / "data" / f"{model}-tflite"
    inputs = raw_tensor(fixture / "input_0.npy", data / "in.bin")
    expected = raw_tensor(fixture / "expected_output_0.npy", data / "expected.bin")
    ops = tflite_ops(tflite)
    definitions = [
        "-DTOOLCHAIN_HAS_PICOLIBC=ON", f"-DTFLM_MODEL={tflite}", f"-DTFLM_INPUT={inputs}",
        f"-DTFLM_EXPECTED={expected}", f"-DTFLM_OPS={';'.join(op for op, _ in ops)}",
        f"-DTFLM_KERNELS={';'.join(sorted({kernel for _, kernel in ops}))}",
        f"-DTFLM_ARENA_SIZE={arena}"]
    if kernels == "cmsis-nn":
        definitions += [f"-DEXTRA_CONF_FILE={TFLM_APP / 'cmsis-nn.conf'}",
                        f"-DZEPHYR_EXTRA_MODULES={';'.join(map(str, dsp_modules))}"]
    # The toolchain's picolibc keeps errno in thread-local storage, which Zephyr sets up only
    # when told that the toolchain supports it (its own SDK's is assumed to).
    return west_build(board, TFLM_APP, build_dir, definitions,
                      {"ZEPHYR_TOOLCHAIN_SUPPORTS_THREAD_LOCAL_STORAGE": "y"})


def qemu_command(board: str, build_dir: Path) -> list[str]:
    spec = BOARDS[board]
    elf = build_dir / "zephyr" / "zephyr.elf"
    if spec.second_cpu:
        cpu0 = (build_dir / "zephyr" / "boards" / "arm" / "mps2" / "empty_cpu0-prefix" / "src"
                / "empty_cpu0-build" / "zephyr" / "zephyr.elf")
        images = ["-device", f"loader,file={cpu0}", "-device", f"loader,file={elf}"]
    else:
        images = ["-kernel", str(elf)]
    return ["qemu-system-arm", *spec.qemu, "-nographic", "-vga", "none", "-monitor", "none",
            "-serial", "stdio", "-icount", "shift=0,align=off,sleep=off", *images]


def run(board: str, build_dir: Path, until: re.Pattern[str] = _VERDICT
        ) -> tuple[str, int | None, str | None, str]:
    """The console up to the app's verdict (or a line matching ``until``), the instructions,
    how exact, and a note."""
    output = ""
    with subprocess.Popen(qemu_command(board, build_dir), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace") as proc:
        assert proc.stdout is not None
        watchdog = threading.Timer(RUN_TIMEOUT_S, proc.kill)  # a board gone silent
        watchdog.start()
        try:
            for line in proc.stdout:
                output += line
                if until.search(line) or _VERDICT.search(line):
                    break
        finally:
            watchdog.cancel()
            proc.kill()
    match = _CYCLES.search(output)
    if match is None:
        last = [line for line in output.splitlines() if line.strip()][-2:]
        return output, None, None, "no 'cycles per inference' line: " + " | ".join(last)
    instructions = round(int(match.group(1)) * 1e9 / int(match.group(2)))
    exact = _EXACT.search(output)
    return output, instructions, exact.group(1) if exact else None, ""


def footprint(build_dir: Path) -> dict[str, int | None]:
    proc = subprocess.run([sys.executable, "-m", "utvm", "footprint", "-d", str(build_dir),
                           "--json"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"rom": None, "ram": None, "model_rom": None, "model_ram": None}
    data = json.loads(proc.stdout)
    model = data["parts"]["model"]
    return {"rom": data["total"]["rom"], "ram": data["total"]["ram"],
            "model_rom": model["rom"] or None, "model_ram": model["ram"] or None}


def measure(board: str, model: str, row: str, build_root: Path, tflite_dir: Path | None,
            tflm_problem: str | None, dsp_modules: list[Path], work: Path) -> Result:
    """One row: build (or relink), run under QEMU, read the footprint. dsp_modules: what a
    CMSIS-NN build adds to the workspace (the empty cmsis-dsp stand-in, or nothing)."""
    root, kind, needs_dsp = ROWS[row]
    empty = Result(board, model, row, None, None, None, None, None, None)
    if needs_dsp and not BOARDS[board].dsp:
        empty.note = "no DSP on this core"
        return empty
    name = board.replace("/", "_")
    if root is None:  # TFLite Micro
        if tflm_problem:
            empty.note = tflm_problem
            return empty
        if tflite_dir is None:
            empty.note = "no --tflite-dir (or UTVM_TFLITE_DIR): TFLM rows skipped"
            return empty
        tflite = (tflite_dir / f"{model}.tflite").resolve()
        if not tflite.is_file():
            empty.note = f"no {tflite}"
            return empty
        build_dir = build_root / f"{name}-tflm-{kind}"
        # First run: how much arena the model uses; then the image with just that much.
        failure = build_tflm(board, model, tflite, kind, build_dir, TFLM_FIRST_ARENA,
                             dsp_modules, work)
        if failure:
            empty.note = failure
            return empty
        console, _, _, note = run(board, build_dir, until=_ARENA_USED)
        used = _ARENA_USED.search(console)
        if used is None:
            empty.note = note or "no 'arena used' line"
            return empty
        # What the model keeps is not all AllocateTensors needs on the way (kernels' scratch
        # requests): grow the cut arena until it allocates, else keep the first one.
        need = int(used.group(1))
        for arena in (need + 16, need * 5 // 4 + 16, need * 2, TFLM_FIRST_ARENA):
            failure = build_tflm(board, model, tflite, kind, build_dir, arena, dsp_modules,
                                 work)
            if failure:
                empty.note = failure
                return empty
            console, instructions, exact, note = run(board, build_dir)
            if "AllocateTensors failed" not in console:
                return Result(board, model, row, instructions, **footprint(build_dir),
                              exact=exact, note=note)
        empty.note = "AllocateTensors failed even with the first arena"
        return empty
    else:
        variant = root / model / kind
        if not variant.is_dir():
            empty.note = f"no fixture {variant}"
            return empty
        cmsis = root == CMSIS
        build_dir = build_root / f"{name}-{'cmsis' if cmsis else 'plain'}"
        failure = build_tvm(board, variant.resolve(), build_dir,
                            tvm_cmsis_nn_module(work) if cmsis else None, dsp_modules, work)
        if failure:
            empty.note = failure
            return empty
    _, instructions, exact, note = run(board, build_dir)
    return Result(board, model, row, instructions, **footprint(build_dir), exact=exact,
                  note=note)


def _count(value: int | None) -> str:
    return f"{value:,}" if value else "-"


def _exact_cell(exact: str | None) -> str:
    if exact is None:
        return "-"
    if exact == "bit-exact":
        return "yes"
    diff = re.search(r"max abs diff (\d+)", exact)
    return f"diff {diff.group(1)}" if diff else "NO"


def core_cmsis_row(board: str) -> str:
    """TVM's CMSIS-NN build that fits the core, as TFLM's CMSIS-NN kernels are built."""
    return "CMSIS-NN DSP" if BOARDS[board].dsp else "CMSIS-NN portable"


def table(results: list[Result]) -> str:
    lines = ["Instructions per inference under QEMU with -icount shift=0: instruction counts, "
             "not cycles (QEMU models no cycles); mean of 10 runs.",
             "ROM/RAM: west utvm footprint totals (bytes); model ROM: its 'model' part (TVM's "
             "generated code and constants). exact: TVM vs tvm_crt_output_0.npy, TFLM vs the "
             "TFLite interpreter's expected_output_0.npy.",
             f"{'board':<16} {'model':<23} {'row':<18} {'instructions':>13} {'vs plain':>9} "
             f"{'vs TFLM NN':>10} {'ROM':>9} {'RAM':>9} {'model ROM':>10} {'exact':>7}"]
    found = {(r.board, r.model, r.row): r.instructions for r in results}
    for r in results:
        base = found.get((r.board, r.model, "plain C"))
        tflm = found.get((r.board, r.model, "TFLM CMSIS-NN"))
        ratio = f"{base / r.instructions:.2f}x" if base and r.instructions else "-"
        vs_tflm = f"{tflm / r.instructions:.2f}x" if tflm and r.instructions else "-"
        lines.append(f"{r.board:<16} {r.model:<23} {r.row:<18} {_count(r.instructions):>13} "
                     f"{ratio:>9} {vs_tflm:>10} {_count(r.rom):>9} {_count(r.ram):>9} "
                     f"{_count(r.model_rom):>10} {_exact_cell(r.exact):>7}"
                     + (f"  ({r.note})" if r.note else ""))
    lines.append("(vs plain, vs TFLM NN: how many times fewer instructions than plain C / "
                 "than TFLM with CMSIS-NN on the same board and model; > 1 is fewer)")
    lines.append("")
    for r in results:
        if r.model != "kws_ref_model" or r.row not in ("CMSIS-NN portable", "CMSIS-NN DSP"):
            continue
        if r.row == "CMSIS-NN DSP" and not BOARDS[r.board].dsp:
            continue
        base = found.get((r.board, r.model, "plain C"))
        if base and r.instructions:
            verdict = "met" if base / r.instructions >= GOAL_RATIO else "NOT met"
            lines.append(f"goal: {r.board} KWS TVM {r.row}: {base / r.instructions:.2f}x fewer "
                         f"instructions than plain C (goal >= {GOAL_RATIO}x): {verdict}")
        else:
            lines.append(f"goal: {r.board} KWS TVM {r.row} vs plain C: not measured")
    for board in dict.fromkeys(r.board for r in results if r.model == "kws_ref_model"):
        row = core_cmsis_row(board)
        tvm = found.get((board, "kws_ref_model", row))
        tflm = found.get((board, "kws_ref_model", "TFLM CMSIS-NN"))
        if tvm and tflm:
            verdict = "met" if tvm < tflm else "NOT met"
            how = (f"{tflm / tvm:.2f}x fewer" if tvm <= tflm
                   else f"{(tvm - tflm) / tflm:.1%} more")
            lines.append(f"goal: {board} KWS TVM {row} {tvm:,} vs TFLM CMSIS-NN {tflm:,} "
                         f"instructions ({how}; goal: fewer): {verdict}")
        else:
            lines.append(f"goal: {board} KWS TVM {row} vs TFLM CMSIS-NN: not measured")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boards", default=",".join(DEFAULT_BOARDS),
                        help=f"comma-separated (known: {','.join(BOARDS)})")
    parser.add_argument("--models", default="kws_ref_model",
                        help=f"comma-separated (all: {','.join(MODELS)})")
    parser.add_argument("--rows", default=",".join(ROWS),
                        help=f"comma-separated, measured in this order (all: {','.join(ROWS)})")
    parser.add_argument("--tflite-dir", type=Path,
                        default=os.environ.get("UTVM_TFLITE_DIR") or None,
                        help="folder with <model>.tflite for the TFLM rows "
                             "(default: UTVM_TFLITE_DIR; without it the TFLM rows are skipped)")
    parser.add_argument("--build-root", type=Path,
                        default=Path(tempfile.gettempdir()) / "utvm-cortex-m-bench",
                        help="where the build folders are kept (default: %(default)s)")
    parser.add_argument("--empty-cmsis-dsp", action="store_true",
                        help="stand in an empty cmsis-dsp module even if the workspace has one")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    if not os.environ.get("ZEPHYR_BASE"):
        print("error: set ZEPHYR_BASE to a Zephyr 4.1 tree", file=sys.stderr)
        return 2
    if shutil.which("qemu-system-arm") is None:
        print("error: qemu-system-arm not found (Debian: apt-get install qemu-system-arm)",
              file=sys.stderr)
        return 2
    boards = args.boards.split(",")
    rows = args.rows.split(",")
    models = args.models.split(",")
    for name, known, given in (("board", BOARDS, boards), ("row", ROWS, rows),
                               ("model", MODELS, models)):
        unknown = [item for item in given if item not in known]
        if unknown:
            print(f"error: unknown {name} {', '.join(unknown)}: choose from "
                  f"{', '.join(known)}", file=sys.stderr)
            return 2
    if args.tflite_dir is not None and not args.tflite_dir.is_dir():
        print(f"error: --tflite-dir {args.tflite_dir} is not a folder", file=sys.stderr)
        return 2
    tflm_rows = [row for row in rows if ROWS[row][0] is None]
    tflm_problem = tflm_toolchain_problem() if tflm_rows else None
    if tflm_rows and (args.tflite_dir is None or tflm_problem):
        print(f"note: TFLM rows skipped: {tflm_problem or 'no --tflite-dir (or UTVM_TFLITE_DIR)'}",
              file=sys.stderr)
    work = args.build_root / "work"
    work.mkdir(parents=True, exist_ok=True)
    dsp_modules = ([empty_cmsis_dsp(work)]
                   if args.empty_cmsis_dsp or not workspace_has_cmsis_dsp() else [])
    results = []
    # Row-major per board: consecutive builds in one build folder differ only in the model.
    for board in boards:
        for row in rows:
            for model in models:
                result = measure(board, model, row, args.build_root, args.tflite_dir,
                                 tflm_problem, dsp_modules, work)
                print(f"measured {board} {model} {row}: {result.instructions} instructions, "
                      f"exact {result.exact} {result.note}", file=sys.stderr, flush=True)
                results.append(result)
    results.sort(key=lambda r: (list(BOARDS).index(r.board), r.model, list(ROWS).index(r.row)))
    print(json.dumps([asdict(r) for r in results], indent=2) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
