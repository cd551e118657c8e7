"""Run a Model Library Format export on a board over RPC: inputs up, run, outputs down."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from utvm.errors import UtvmError
from utvm.host.runner import model_arrays
from utvm.mlf.c_sources import sanitize_name
from utvm.mlf.model import ModelLibrary
from utvm.rpc.client import RpcClient
from utvm.rpc.executor import Executor, create_aot_executor, create_graph_executor
from utvm.rpc.remote import RemoteModule
from utvm.transport.base import TransportTimeout

# Without --timeout: the first single run may take this long (a slow microcontroller, a big
# model); the limit for N runs then scales with the time that run took.
FIRST_RUN_TIMEOUT_S = 60.0
RUN_TIMEOUT_MARGIN_S = 10.0  # on top of the scaled estimate: link latency, a busy host
RUN_TIMEOUT_FACTOR = 4.0  # how much slower than the first run the others may be


@dataclass(frozen=True)
class BoardResult:
    """Outputs in model order and the time per inference measured by the board's timer."""

    outputs: list[np.ndarray]
    seconds_per_inference: float
    executor: str
    repeat: int


def create_executor(client: RpcClient, mlf: ModelLibrary,
                    lib: RemoteModule | None = None) -> Executor:
    """The model's executor on the device: AOT, or the graph executor with its JSON/params;
    over ``lib`` (a module loaded at run time) instead of the system library when given."""
    if mlf.executor == "graph":
        if mlf.graph_json_path is None:
            raise UtvmError(f"{mlf.source} is a graph executor model without a graph JSON")
        params = mlf.params_path.read_bytes() if mlf.has_params else None
        return create_graph_executor(client, mlf.graph_json_path.read_text(), params, lib)
    if mlf.interface == "c":
        raise UtvmError(
            f"{mlf.source} was built with interface-api=c: it runs standalone (the "
            "aot_inference sample, or `utvm run --board host-runner`), not over RPC. Build it "
            "with the packed interface and system-lib for host-driven use.")
    return create_aot_executor(client, mlf.module_name, lib)


def device_input_name(mlf: ModelLibrary, name: str) -> str:
    """The name the board's executor knows an input by: the AOT executor's tables hold it as
    a C identifier (serving_default_input:0 -> serving_default_input_0), the graph JSON as
    the model names it."""
    return name if mlf.executor == "graph" else sanitize_name(name)


def run_model(client: RpcClient, mlf: ModelLibrary, inputs: Sequence[np.ndarray],
              repeat: int = 1, timeout: float | None = None) -> BoardResult:
    """Inputs up, ``repeat`` runs timed by the board, one more run, outputs down.

    ``timeout`` bounds the timed runs (all together) and the last run; by default it scales
    with the work (``timed_runs``)."""
    if len(inputs) != len(mlf.inputs):
        raise UtvmError(f"{len(inputs)} inputs given, the model has {len(mlf.inputs)}")
    # Checked against the model and little-endian (big-endian converted), as on every board.
    arrays = model_arrays(mlf, inputs)
    with create_executor(client, mlf) as executor:
        for info, value in zip(mlf.inputs, arrays, strict=True):
            executor.set_input(device_input_name(mlf, info.name), value)
        seconds, run_limit = timed_runs(executor, repeat, timeout)
        # One more run makes the outputs of exactly these inputs, whatever the timed runs
        # left behind.
        executor.run(timeout=run_limit)
        outputs = [executor.get_output(i) for i in range(len(mlf.outputs))]
    return BoardResult(outputs, seconds, mlf.executor_kind, repeat)


def scaled_run_timeout(repeat: int, first_run_seconds: float, first_call_seconds: float
                       ) -> float:
    """The default limit for ``repeat`` timed runs, from a first single timed run: the board's
    time per run (or, if its timer reads 0, the whole call's), times the runs, times a
    factor, plus a margin and the first call's own duration (link latency)."""
    per_run = first_run_seconds if first_run_seconds > 0 else first_call_seconds
    return (RUN_TIMEOUT_MARGIN_S + first_call_seconds
            + RUN_TIMEOUT_FACTOR * repeat * per_run)


def timed_runs(executor: Executor, repeat: int, timeout: float | None = None
               ) -> tuple[float, float]:
    """Seconds per inference over ``repeat`` runs timed by the board, and the limit that one
    run gets afterwards.

    ``timeout`` bounds the wait for all ``repeat`` runs together. Without it, one run is
    timed first (within ``FIRST_RUN_TIMEOUT_S``) and, for ``repeat`` > 1, the others get
    ``scaled_run_timeout``: a long run is not cut off by the link's reply timeout, and a
    board that stopped answering is still noticed in a time that fits the work asked for.
    """
    repeat = max(1, repeat)
    if timeout is not None:
        return _timed(executor, repeat, timeout, "--timeout"), timeout
    began = time.monotonic()
    first = _timed(executor, 1, FIRST_RUN_TIMEOUT_S, "the default limit for a first run")
    elapsed = time.monotonic() - began
    one_run_limit = scaled_run_timeout(1, first, elapsed)
    if repeat == 1:
        return first, one_run_limit
    limit = scaled_run_timeout(repeat, first, elapsed)
    how = (f"the default limit: {RUN_TIMEOUT_MARGIN_S:g} s + {RUN_TIMEOUT_FACTOR:g} x "
           f"{repeat} x the first run's {first:.3g} s")
    return _timed(executor, repeat, limit, how), one_run_limit


def _timed(executor: Executor, number: int, limit: float, how: str) -> float:
    try:
        return executor.time(number=number, repeat=1, timeout=limit)[0]
    except TransportTimeout as e:
        runs = "1 run" if number == 1 else f"{number} runs"
        raise TransportTimeout(
            f"the board did not finish {runs} within {limit:g} s ({how}). If it is merely "
            "slow, give a longer --timeout.") from e
