"""Run a model on this computer through the host runner, with numpy arrays in and out.

The host runner's contract: ``utvm_host_runner [--graph FILE] [--params FILE] [--repeat N]
--input FILE... --output FILE...`` with raw little-endian tensors, one file per model input
and output in model order; on success it prints one JSON line on stdout.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from utvm.device_text import printable
from utvm.errors import UtvmError
from utvm.host.build import build_host_runner
from utvm.mlf.dtypes import numpy_dtype
from utvm.mlf.loader import open_mlf
from utvm.mlf.model import ModelLibrary
from utvm.mlf.tensors import TensorInfo

_STDERR_TAIL_CHARS = 4000
# The most inferences one run may time, on every board: what a board's time evaluator
# accepts by default (UTVM_RPC_TIME_EVALUATOR_MAX_NUMBER), so host and boards agree.
MAX_REPEAT = 10_000_000


@dataclass(frozen=True)
class HostResult:
    """Outputs of one host run, in model order, and the measured time per inference."""

    outputs: list[np.ndarray]
    seconds_per_inference: float
    executor: str
    repeat: int


def run_on_host(
    mlf: ModelLibrary | str | Path,
    inputs: Sequence[np.ndarray],
    repeat: int = 1,
    sanitize: bool = False,
    verbose: bool = False,
    timeout_s: float | None = None,
) -> HostResult:
    """Build (or reuse) the host runner for ``mlf`` and run it once on ``inputs``.

    ``inputs`` are checked against the model (count, dtype, byte size) before anything is
    built. ``repeat`` > 1 runs the inference that many times to time it.
    """
    if not isinstance(mlf, ModelLibrary):
        with open_mlf(mlf) as opened:
            return run_on_host(opened, inputs, repeat, sanitize, verbose, timeout_s)
    if not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
        raise UtvmError(f"repeat must be a whole number from 1 to {MAX_REPEAT}, got {repeat!r}.")
    payloads = encode_inputs(mlf, inputs)
    runner = build_host_runner(mlf, sanitize=sanitize, verbose=verbose)
    with tempfile.TemporaryDirectory(prefix="utvm-run-") as scratch:
        folder = Path(scratch)
        input_files = []
        for index, payload in enumerate(payloads):
            path = folder / f"input_{index}.bin"
            path.write_bytes(payload)
            input_files.append(path)
        output_files = [folder / f"output_{i}.bin" for i in range(len(mlf.outputs))]
        command = runner_command(runner, mlf, input_files, output_files, repeat)
        report = _execute(command, timeout_s)
        return _collect(mlf, report, output_files, repeat)


def zero_inputs(mlf: ModelLibrary) -> list[np.ndarray]:
    """All-zero inputs of the right dtype and shape (flat when the shape is unknown)."""
    arrays = []
    for info in mlf.inputs:
        dtype = numpy_dtype(info.dtype)
        shape = info.shape if info.shape is not None else (info.size_bytes // dtype.itemsize,)
        arrays.append(np.zeros(shape, dtype=dtype))
    return arrays


def encode_inputs(mlf: ModelLibrary, inputs: Sequence[np.ndarray]) -> list[bytes]:
    """Check ``inputs`` against the model and return their raw little-endian bytes."""
    expected = mlf.inputs
    if len(inputs) != len(expected):
        wanted = "; ".join(info.describe() for info in expected) or "none"
        raise UtvmError(
            f"model '{mlf.module_name}' takes {len(expected)} input(s) but {len(inputs)} "
            f"were given. It expects: {wanted}."
        )
    return [_encode_one(index, info, array) for index, (info, array) in
            enumerate(zip(expected, inputs, strict=True))]


def model_arrays(mlf: ModelLibrary, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Inputs checked like ``encode_inputs``, as little-endian arrays in the model's shapes.

    Big-endian arrays are converted by value, as ``encode_inputs`` does: the same rule
    for the host runner, the host board and real boards.
    """
    arrays = []
    for info, payload in zip(mlf.inputs, encode_inputs(mlf, inputs), strict=True):
        array = np.frombuffer(payload, dtype=numpy_dtype(info.dtype))
        arrays.append(array.reshape(info.shape) if info.shape is not None else array)
    return arrays


def _encode_one(index: int, info: TensorInfo, value: Any) -> bytes:
    array = np.asarray(value)
    wanted = numpy_dtype(info.dtype)
    label = f"input {index} ('{info.name}')"
    if array.dtype.kind != wanted.kind or array.dtype.itemsize != wanted.itemsize:
        raise UtvmError(
            f"{label} must be {info.dtype} but is {array.dtype}. Convert it first, e.g. "
            f"array.astype(numpy.{wanted.name}), if that is what you mean."
        )
    if array.nbytes != info.size_bytes:
        shape = "" if info.shape is None else f", shape {list(info.shape)}"
        raise UtvmError(
            f"{label} has {array.nbytes} bytes (shape {list(array.shape)}) but the model "
            f"expects {info.size_bytes} bytes{shape}."
        )
    return np.ascontiguousarray(array, dtype=wanted).tobytes()


def runner_command(
    runner: Path,
    mlf: ModelLibrary,
    input_files: list[Path],
    output_files: list[Path],
    repeat: int,
) -> list[str]:
    command = [str(runner)]
    if mlf.executor == "graph" and mlf.graph_json_path is not None:
        command += ["--graph", str(mlf.graph_json_path)]
    if mlf.has_params and mlf.params_path is not None:
        command += ["--params", str(mlf.params_path)]
    command += ["--repeat", str(repeat)]
    for path in input_files:
        command += ["--input", str(path)]
    for path in output_files:
        command += ["--output", str(path)]
    return command


def _execute(command: list[str], timeout_s: float | None) -> dict[str, Any]:
    try:
        finished = subprocess.run(
            command, capture_output=True, text=True, errors="replace", timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise UtvmError(f"the host runner did not finish within {timeout_s} s.") from exc
    except OSError as exc:
        raise UtvmError(f"cannot start the host runner {command[0]}: {exc}") from exc
    # The runner prints the model's own messages: shown escaped, like any device text.
    stderr = printable(finished.stderr.strip()[-_STDERR_TAIL_CHARS:], multiline=True)
    if finished.returncode != 0:
        if finished.returncode < 0:
            how = f"was killed by {_signal_name(-finished.returncode)}"
        else:
            how = f"failed (exit code {finished.returncode})"
        raise UtvmError(f"the host runner {how}:\n{stderr or '(no message on stderr)'}")
    return _parse_report(finished.stdout, stderr)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _parse_report(stdout: str, stderr: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                report = json.loads(line)
            except json.JSONDecodeError:
                break
            if isinstance(report, dict):
                return report
            break
    raise UtvmError(
        "the host runner succeeded but printed no JSON result line on stdout. Its output "
        f"was:\n{printable(stdout.strip()[-_STDERR_TAIL_CHARS:], multiline=True)}\n{stderr}"
    )


def _collect(
    mlf: ModelLibrary, report: dict[str, Any], output_files: list[Path], repeat: int
) -> HostResult:
    reported = report.get("outputs")
    if not isinstance(reported, list) or len(reported) != len(mlf.outputs):
        raise UtvmError(
            f"the host runner reported {reported!r} as outputs; expected a list of "
            f"{len(mlf.outputs)} entries."
        )
    seconds = report.get("seconds_per_inference")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        raise UtvmError(f"the host runner reported an invalid time per inference: {seconds!r}.")
    outputs = [
        _read_output(index, info, entry, path)
        for index, (info, entry, path) in enumerate(
            zip(mlf.outputs, reported, output_files, strict=True)
        )
    ]
    executor = str(report.get("executor", mlf.executor_kind))
    return HostResult(outputs, float(seconds), executor, int(report.get("repeat", repeat)))


def _read_output(index: int, info: TensorInfo, entry: Any, path: Path) -> np.ndarray:
    label = f"output {index} ('{info.name}')"
    if not path.is_file():
        raise UtvmError(f"the host runner did not write {label} to {path}.")
    data = path.read_bytes()
    if len(data) != info.size_bytes:
        raise UtvmError(
            f"the host runner wrote {len(data)} bytes for {label}; the model says "
            f"{info.size_bytes}."
        )
    entry = entry if isinstance(entry, dict) else {}
    if entry.get("dtype") not in (None, info.dtype):
        raise UtvmError(
            f"the host runner says {label} is {entry['dtype']}; the model says {info.dtype}."
        )
    dtype = numpy_dtype(info.dtype)
    array = np.frombuffer(data, dtype=dtype).copy()
    shape = entry.get("shape") or info.shape
    if shape is not None:
        shape = tuple(int(d) for d in shape)
        if math.prod(shape) != array.size:
            raise UtvmError(
                f"the host runner reports shape {list(shape)} for {label}, which does not "
                f"fit its {array.size} elements."
            )
        array = array.reshape(shape)
    return array
