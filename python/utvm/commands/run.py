"""``utvm run`` / ``west utvm run``: run a model on this computer or on a board, and
show/save its outputs."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from utvm.board.targets import DEFAULT_BAUD
from utvm.errors import UtvmError
from utvm.host import HostResult, run_on_host, zero_inputs
from utvm.host.runner import MAX_REPEAT
from utvm.mlf import ModelLibrary, TensorInfo, open_mlf
from utvm.npy_files import read_npy, read_npz
from utvm.rpc.model_run import BoardResult

DEFAULT_OUTPUT_DIR = "utvm-out"
_ARGMAX_MAX_ELEMENTS = 1000
_PREVIEW_VALUES = 8

_EPILOG = """\
on this computer (give an MLF):
  utvm run model.tar                          all-zero inputs, one inference
  utvm run model.tar --input audio.npy        one .npy per model input, in model order
  utvm run model.tar --input in.npz           or one .npz whose keys are the input names
  utvm run model.tar --repeat 100 --output-dir results/

on a board (a build of the rpc_server app, see `west utvm build`):
  west utvm run --input x.npy                 the board of ./build
  west utvm run -d build-f746 --input x.npy --repeat 20
  west utvm run --port /dev/ttyACM1 --baud 115200 --input x.npy
  utvm run model.tar --port tcp:localhost:4000 --input x.npy     (no build folder)
  west utvm run --mlf vww.tar --input x.npy   firmware built with --loadable: vww's code is
                                              compiled with the build's EDK, uploaded and
                                              loaded; no new build, no flash

Inputs must have the model's dtype and byte size (see `utvm info MLF`); big-endian arrays
are converted to little-endian by value, on every board. Each output is saved as
output_<i>.npy in the output folder.

On this computer, boards: `host` (default) builds the host board — our runtime and RPC
server with the model, as a local process — and drives it over the microTVM wire protocol
exactly as a real board; `host-runner` runs the model in-process without RPC (also for
models built with interface-api=c). The first run of a model builds it (needs cmake and a
C compiler); later runs reuse the cached build.

On a board, the link is: --port if given; else, for simulated boards, the pseudo-terminal
of the one `west utvm flash` started (or one started for this run), or for a build made
with `--link tcp` the port of this computer flash forwarded to the board's RPC port (tried
again while the board boots); a real board built with `--link tcp` needs
--port tcp:ADDRESS:4242; else the serial port
whose USB serial number is the probe's (--dev-id here or at flash, or in runners.yaml);
else the only USB serial port. Time per inference is measured by the board's own timer, and
a note says which kind of time it is: on native_sim, this computer's monotonic clock (the
board's own clock stands still while code runs); on QEMU boards, instruction counts
(-icount shift=0: one nanosecond per instruction, and the note gives the instructions per
inference); on hardware, real time. A board whose timer cannot measure fails with that
message instead of a time of 0.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="run a model on this computer or a board; print/save its outputs",
        description="Run a model once (or --repeat times): on this computer when an MLF is "
        "given, else on the board of a Zephyr build over its link (microTVM RPC). Prints each "
        "output with a short summary and the time per inference, and saves the outputs as "
        ".npy files.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("mlf", metavar="MLF", nargs="?",
                        help="MLF folder, .tar or .tar.gz (default for boards: the build's "
                        "model; a firmware built with --loadable loads this model's code)")
    parser.add_argument("--mlf", dest="mlf_option", metavar="MLF", type=str,
                        help="the same as the MLF argument")
    parser.add_argument(
        "--input", "-i", dest="inputs", metavar="FILE", action="extend", nargs="+", default=[],
        help="input .npy (one per model input, in order) or one .npz keyed by input name; "
        "default: zeros",
    )
    parser.add_argument(
        "--output-dir", "-o", metavar="DIR", default=DEFAULT_OUTPUT_DIR, type=Path,
        help=f"where output_<i>.npy files go (default: ./{DEFAULT_OUTPUT_DIR})",
    )
    parser.add_argument("--repeat", metavar="N", type=int, default=1,
                        help="run the inference N times and report the mean time (default 1, "
                        f"at most {MAX_REPEAT} on every board)")
    parser.add_argument("--module", metavar="NAME", help="module to run (MLFs with several)")
    parser.add_argument("--timeout", metavar="S", type=_seconds, default=None,
                        help="over RPC: seconds the board may take for the --repeat timed runs "
                        "together, and for the last run (default: one run is timed first, "
                        "within 60 s; the N runs then get 10 s + 4 x N x its time)")
    local = parser.add_argument_group("on this computer")
    local.add_argument("--board", "-b", choices=("host", "host-runner"), default=None,
                       help="the host board over RPC (default) or the host runner without RPC")
    local.add_argument("--link", choices=("pipe", "pty"), default="pipe",
                       help="how the host board is connected (default: pipe)")
    local.add_argument("--sanitize", action="store_true",
                       help="build with address/undefined-behaviour sanitizers")
    local.add_argument("--verbose", "-v", action="store_true",
                       help="show the full build output")
    board = parser.add_argument_group("on a board")
    board.add_argument("-d", "--build-dir", metavar="DIR",
                       help="the board's build directory (default: like west build, ./build)")
    board.add_argument("--port", metavar="PORT",
                       help="serial port or pyserial URL of the board's RPC UART, or "
                       "tcp:HOST:PORT")
    board.add_argument("--baud", type=int, default=DEFAULT_BAUD, metavar="B",
                       help=f"baud rate of a serial port (default {DEFAULT_BAUD})")
    board.add_argument("--dev-id", metavar="ID",
                       help="find the serial port by the probe's USB serial number")
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    if arguments.mlf_option is not None:
        if arguments.mlf is not None:
            raise UtvmError("give the model once: as the MLF argument or with --mlf")
        arguments.mlf = arguments.mlf_option
    if not 1 <= arguments.repeat <= MAX_REPEAT:
        raise UtvmError(f"--repeat must be at least 1 and at most {MAX_REPEAT} (the most a "
                        f"board's timer takes), got {arguments.repeat}.")
    if on_a_board(arguments):
        return handle_board(arguments)
    board = arguments.board or "host"
    with open_mlf(arguments.mlf, module=arguments.module) as mlf:
        inputs = _inputs_or_zeros(mlf, arguments.inputs)
        if board == "host-runner" or mlf.interface == "c":
            if board == "host":
                print("note: this model has the C interface (standalone); running it on the "
                      "host runner instead of over RPC", file=sys.stderr)
            result: HostResult | BoardResult = run_on_host(
                mlf, inputs, repeat=arguments.repeat, sanitize=arguments.sanitize,
                verbose=arguments.verbose)
            where = "host runner"
        else:
            result = run_on_host_board(mlf, inputs, arguments)
            where = f"host board over a {arguments.link}, timed on the board"
        saved = save_outputs(result, arguments.output_dir)
        print(render(mlf, result, saved, where))
    return 0


def on_a_board(arguments: argparse.Namespace) -> bool:
    """No MLF, or any board option: the model runs on a Zephyr board."""
    return (arguments.mlf is None or arguments.build_dir is not None
            or arguments.port is not None or arguments.dev_id is not None)


def handle_board(arguments: argparse.Namespace) -> int:
    """Runs the model on a board over its link (see the epilog for how the link is found)."""
    from utvm.board.board_run import run_over_link
    from utvm.board.build_dir import find_build_dir, is_zephyr_build, read_build
    from utvm.board.builder import open_build_model
    from utvm.board.state import BUILD_RECORD, read_record
    from utvm.board.targets import LinkOptions, Target, open_port, target_for
    from utvm.loadable.edk import LOADABLE_OPTION

    if arguments.board is not None:
        raise UtvmError("--board chooses where an MLF runs on this computer; for a Zephyr "
                        "board give its build with -d (or --port).")
    build = None
    if arguments.build_dir is not None or arguments.port is None or arguments.mlf is None:
        folder = find_build_dir(arguments.build_dir)
        if arguments.mlf is None and arguments.build_dir is None and not is_zephyr_build(folder):
            raise UtvmError(f"nothing to run: no MLF given, and {folder} is no Zephyr build. Run "
                            "a model here with `utvm run MODEL.tar`, or build it for a board "
                            "first (`west utvm build -b BOARD --mlf MODEL.tar`) and give that "
                            "build with -d.")
        build = read_build(folder, must_be_built=True)
        record = read_record(build.state_dir, BUILD_RECORD) or {}
        if record.get("host_driven") is False:
            raise UtvmError(
                f"{build.build_dir} holds the {record.get('app')} app: the board runs the model "
                "by itself and prints its outputs on its console. Build the rpc_server app "
                "(the default of `west utvm build`) to run models from this computer.")
    opened = (open_mlf(arguments.mlf, module=arguments.module) if arguments.mlf
              else open_build_model(build))
    with opened as mlf:
        inputs = _inputs_or_zeros(mlf, arguments.inputs)
        image = None
        if arguments.mlf and build is not None and build.kconfig_enabled(LOADABLE_OPTION):
            from utvm.loadable.edk import read_edk
            from utvm.loadable.fit import check_fits
            from utvm.loadable.image import build_image

            image = build_image(mlf, read_edk(build), build.state_dir / "llext")
            check_fits(image, build)
            print(f"utvm: {mlf.source} compiled for the board's loader: {image.name} "
                  f"({image.stat().st_size} bytes)", file=sys.stderr)
        target: Target | None = None
        if build is None:  # only a port: nothing else to know about the board
            link_context: Any = open_port(arguments.port, arguments.baud)
            start_timeout, board = Target.start_timeout, "the board"
        else:
            target = target_for(build)
            options = LinkOptions(arguments.port, arguments.baud, arguments.dev_id)
            link_context = target.link(options, sys.stderr)
            start_timeout, board = target.start_timeout, build.board
        with link_context as link:
            if build is not None and build.elf_path.is_file():
                link.firmware = str(build.elf_path)  # the board's error messages are there
            result = run_over_link(link, mlf, inputs, arguments.repeat, sys.stderr,
                                   start_timeout, timeout=arguments.timeout, image=image)
            where = f"{board} over {link.name}, timed on the board"
        saved = save_outputs(result, arguments.output_dir)
        print(render(mlf, result, saved, where))
        note = target.time_note(result.seconds_per_inference) if target is not None else ""
        if note:
            print(f"note: {note}", file=sys.stderr)
    return 0


def _inputs_or_zeros(mlf: ModelLibrary, paths: list[str]) -> list[np.ndarray]:
    if paths:
        return load_inputs(mlf, [Path(p) for p in paths])
    described = ", ".join(f"{t.name} ({t.dtype}, {_shape_text(t)})" for t in mlf.inputs)
    print(f"note: no --input given; using all-zero inputs: {described}", file=sys.stderr)
    return zero_inputs(mlf)


def run_on_host_board(mlf: ModelLibrary, inputs: list[np.ndarray],
                      arguments: argparse.Namespace) -> BoardResult:
    """Starts the host board for the model and runs it through an RPC session."""
    from utvm.host.board import start_host_board
    from utvm.rpc import Session
    from utvm.rpc.model_run import run_model
    from utvm.rpc.recovery import run_with_recovery

    with start_host_board(mlf, arguments.link, arguments.sanitize, arguments.verbose) as link:
        session = Session(link)
        session.start()
        return run_with_recovery(session, lambda client: run_model(
            client, mlf, inputs, arguments.repeat, timeout=arguments.timeout))


def _seconds(text: str) -> float:
    """--timeout: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def load_inputs(mlf: ModelLibrary, paths: list[Path]) -> list[np.ndarray]:
    """Arrays from .npy files (one per input) or from one .npz keyed by input names; each
    file's header is checked against the model before its data is read (utvm.npy_files)."""
    if len(paths) == 1 and paths[0].suffix == ".npz":
        return read_npz(paths[0], mlf.inputs)
    expected: list[TensorInfo | None] = [*mlf.inputs]
    if len(paths) != len(expected):  # the count error comes later; only bound the sizes
        expected = [None] * len(paths)
    return [read_npy(path, info) for path, info in zip(paths, expected, strict=True)]


def save_outputs(result: HostResult | BoardResult, folder: Path) -> list[Path]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for index, array in enumerate(result.outputs):
            path = folder / f"output_{index}.npy"
            np.save(path, array)
            paths.append(path)
    except OSError as exc:
        raise UtvmError(f"cannot save outputs into {folder}: {exc}") from exc
    return paths


def render(mlf: ModelLibrary, result: HostResult | BoardResult, saved: list[Path],
           where: str = "host runner") -> str:
    lines = []
    for index, (info, array) in enumerate(zip(mlf.outputs, result.outputs, strict=True)):
        lines.append(f"output {index} '{info.name}': {array.dtype}, shape {list(array.shape)}")
        lines.extend(f"  {line}" for line in summarize(array))
        lines.append(f"  saved to {saved[index]}")
    runs = "1 run" if result.repeat == 1 else f"mean of {result.repeat} runs"
    lines.append(
        f"time per inference: {_duration(result.seconds_per_inference)} "
        f"({where}, {result.executor}, {runs})"
    )
    return "\n".join(lines)


def summarize(array: np.ndarray) -> list[str]:
    """A few human-sized facts about an output: first values, range, argmax if it fits."""
    flat = array.reshape(-1)
    preview = np.array2string(flat[:_PREVIEW_VALUES], separator=" ", precision=5)
    more = f" ... ({flat.size} values)" if flat.size > _PREVIEW_VALUES else ""
    lines = [f"values: {preview}{more}"]
    if flat.size == 0 or array.dtype.kind not in "iufb":
        return lines
    numeric = flat.astype(np.float64)
    lines.append(f"min {numeric.min():.6g}, max {numeric.max():.6g}, mean {numeric.mean():.6g}")
    if _looks_like_scores(array):
        best = int(np.argmax(flat))
        value = flat[best]
        shown = f"{value:.6g}" if array.dtype.kind == "f" else str(value)
        lines.append(f"argmax: {best} (value {shown})")
    return lines


def _looks_like_scores(array: np.ndarray) -> bool:
    """Argmax is meaningful for a vector of scores: one real axis, not too long."""
    real_axes = [d for d in array.shape if d > 1]
    return (array.dtype.kind in "iuf" and len(real_axes) == 1
            and real_axes[0] <= _ARGMAX_MAX_ELEMENTS)


def _duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "unknown"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds:.3f} s"


def _shape_text(info: TensorInfo) -> str:
    return "shape unknown" if info.shape is None else f"shape {list(info.shape)}"
