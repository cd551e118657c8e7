"""Run a Model Library Format on a board over RPC: upload inputs, run, download outputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from utvm.errors import UtvmError
from utvm.mlf.model import ModelLibrary
from utvm.rpc.client import RpcClient
from utvm.rpc.executor import RemoteExecutor


@dataclass(frozen=True)
class BoardResult:
    """Outputs in model order and the time per inference measured by the board's timer."""

    outputs: list[np.ndarray]
    seconds_per_inference: float
    executor: str
    repeat: int


def create_executor(client: RpcClient, mlf: ModelLibrary) -> RemoteExecutor:
    if mlf.executor == "graph":
        if mlf.graph_json_path is None:
            raise UtvmError(f"{mlf.source} is a graph executor model without a graph JSON")
        params = mlf.params_path.read_bytes() if mlf.has_params else None
        return RemoteExecutor.graph(client, mlf.graph_json_path.read_text(), params)
    if mlf.interface == "c":
        raise UtvmError(
            f"{mlf.source} was built with interface-api=c: it runs standalone (the "
            "aot_inference sample, or `utvm run --board host-runner`), not over RPC. Build it "
            "with the packed interface and system-lib for host-driven use.")
    return RemoteExecutor.aot(client, mlf.module_name)


def run_model(client: RpcClient, mlf: ModelLibrary, inputs: Sequence[np.ndarray],
              repeat: int = 1) -> BoardResult:
    if len(inputs) != len(mlf.inputs):
        raise UtvmError(f"{len(inputs)} inputs given, the model has {len(mlf.inputs)}")
    executor = create_executor(client, mlf)
    try:
        for info, value in zip(mlf.inputs, inputs, strict=True):
            executor.set_input(info.name, np.asarray(value))
        if repeat > 1:
            seconds = min(executor.time_run(number=repeat, repeat=1))
        else:
            seconds = executor.time_run(number=1, repeat=1)[0]
        # time_run ran the model; this run makes the outputs of exactly these inputs.
        executor.run()
        outputs = [executor.get_output(i) for i in range(len(mlf.outputs))]
    finally:
        executor.close()
    return BoardResult(outputs, seconds, mlf.executor_kind, repeat)
