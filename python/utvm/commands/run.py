"""``utvm run``: run an MLF on this computer and show/save its outputs."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from utvm.errors import UtvmError
from utvm.host import HostResult, run_on_host, zero_inputs
from utvm.mlf import ModelLibrary, TensorInfo, open_mlf
from utvm.rpc.model_run import BoardResult

DEFAULT_OUTPUT_DIR = "utvm-out"
_ARGMAX_MAX_ELEMENTS = 1000
_PREVIEW_VALUES = 8

_EPILOG = """\
examples:
  utvm run model.tar                          all-zero inputs, one inference
  utvm run model.tar --input audio.npy        one .npy per model input, in model order
  utvm run model.tar --input in.npz           or one .npz whose keys are the input names
  utvm run model.tar --repeat 100 --output-dir results/

Inputs must have the model's dtype and byte size (see `utvm info MLF`). Each output is
saved as output_<i>.npy in the output folder.

Boards: `host` (default) builds the host board — our runtime and RPC server with the
model, as a local process — and drives it over the microTVM wire protocol exactly as a
real board; `host-runner` runs the model in-process without RPC (also for models built
with interface-api=c). The first run of a model builds it (needs cmake and a C compiler);
later runs reuse the cached build.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="run an MLF on this computer and print/save its outputs",
        description="Run a Model Library Format on this computer with utvm's host runner, "
        "print each output with a short summary and the time per inference, and save the "
        "outputs as .npy files.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("mlf", metavar="MLF", help="MLF folder, .tar or .tar.gz")
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
                        help="run the inference N times and report the mean time (default 1)")
    parser.add_argument("--board", "-b", choices=("host", "host-runner"), default="host",
                        help="where to run: the host board over RPC (default) or the host "
                        "runner without RPC")
    parser.add_argument("--link", choices=("pipe", "pty"), default="pipe",
                        help="how the host board is connected (default: pipe)")
    parser.add_argument("--module", metavar="NAME", help="module to run (MLFs with several)")
    parser.add_argument("--sanitize", action="store_true",
                        help="build the runner with address/undefined-behaviour sanitizers")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="show the full build output")
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    if arguments.repeat < 1:
        raise UtvmError(f"--repeat must be at least 1, got {arguments.repeat}.")
    with open_mlf(arguments.mlf, module=arguments.module) as mlf:
        if arguments.inputs:
            inputs = load_inputs(mlf, [Path(p) for p in arguments.inputs])
        else:
            inputs = zero_inputs(mlf)
            described = ", ".join(f"{t.name} ({t.dtype}, {_shape_text(t)})" for t in mlf.inputs)
            print(f"note: no --input given; using all-zero inputs: {described}", file=sys.stderr)
        if arguments.board == "host-runner" or mlf.interface == "c":
            if arguments.board == "host":
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


def run_on_host_board(mlf: ModelLibrary, inputs: list[np.ndarray],
                      arguments: argparse.Namespace) -> BoardResult:
    """Starts the host board for the model and runs it through an RPC session."""
    from utvm.host.board import start_host_board
    from utvm.rpc import RpcClient, Session
    from utvm.rpc.model_run import run_model

    with start_host_board(mlf, arguments.link, arguments.sanitize, arguments.verbose) as link:
        session = Session(link)
        session.start()
        return run_model(RpcClient(session), mlf, inputs, arguments.repeat)


def load_inputs(mlf: ModelLibrary, paths: list[Path]) -> list[np.ndarray]:
    """Arrays from .npy files (one per input) or from one .npz keyed by input names."""
    if len(paths) == 1 and paths[0].suffix == ".npz":
        archive = _load_array_file(paths[0])
        assert isinstance(archive, np.lib.npyio.NpzFile)
        with archive:
            missing = [t.name for t in mlf.inputs if t.name not in archive.files]
            if missing:
                raise UtvmError(
                    f"{paths[0]} has no array named {', '.join(missing)}; it holds "
                    f"{', '.join(archive.files) or 'nothing'}. Name the arrays after the "
                    "model's inputs (see `utvm info`)."
                )
            return [archive[t.name] for t in mlf.inputs]
    arrays = []
    for path in paths:
        loaded = _load_array_file(path)
        if not isinstance(loaded, np.ndarray):
            raise UtvmError(f"{path} holds several arrays; give one .npy file per model input.")
        arrays.append(loaded)
    return arrays


def _load_array_file(path: Path) -> Any:
    if not path.is_file():
        raise UtvmError(f"input file {path} does not exist.")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise UtvmError(
            f"cannot read {path} as a numpy .npy/.npz file ({exc}). Save inputs with "
            "numpy.save()."
        ) from exc


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
