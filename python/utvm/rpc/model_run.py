"""Run a Model Library Format export on a board over RPC: inputs up, run, outputs down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from utvm.errors import UtvmError
from utvm.mlf.model import ModelLibrary
from utvm.rpc.client import RpcClient
from utvm.rpc.executor import Executor, create_aot_executor, create_graph_executor
from utvm.rpc.remote import RemoteModule


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


def run_model(client: RpcClient, mlf: ModelLibrary, inputs: Sequence[np.ndarray],
              repeat: int = 1) -> BoardResult:
    if len(inputs) != len(mlf.inputs):
        raise UtvmError(f"{len(inputs)} inputs given, the model has {len(mlf.inputs)}")
    with create_executor(client, mlf) as executor:
        for info, value in zip(mlf.inputs, inputs, strict=True):
            executor.set_input(info.name, np.asarray(value))
        # The device times `repeat` runs; one more run then makes the outputs of exactly
        # these inputs, whatever the timed runs left behind.
        seconds = executor.time(number=max(1, repeat), repeat=1)[0]
        executor.run()
        outputs = [executor.get_output(i) for i in range(len(mlf.outputs))]
    return BoardResult(outputs, seconds, mlf.executor_kind, repeat)
