"""Run a model on a board over its link: session, executor, inputs up, run, outputs down.

Like utvm.rpc.model_run.run_model, with upload progress (inputs go up in slices) and time
limits suited to slow boards. The time per inference is the board's own timer reading
(runtime.RPCTimeEvaluator).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import numpy as np

from utvm.board.progress import ByteProgress
from utvm.errors import UtvmError
from utvm.host.runner import model_arrays
from utvm.mlf.model import ModelLibrary
from utvm.rpc import DataType, DeviceArray, RpcClient, Session
from utvm.rpc.model_run import (
    BoardResult,
    create_executor,
    device_input_name,
    timed_runs,
)
from utvm.rpc.recovery import run_with_recovery
from utvm.rpc.retry_policy import RetryState
from utvm.transport import Transport

REPLY_TIMEOUT_S = 60.0  # one inference on a slow microcontroller may take this long
UPLOAD_SLICE_BYTES = 16 * 1024  # progress granularity; each slice is chunked to packets
_BYTE = DataType(1, 8)  # uint8


def run_over_link(link: Transport, mlf: ModelLibrary, inputs: Sequence[np.ndarray],
                  repeat: int, out: TextIO, start_timeout: float = 10.0,
                  timeout: float | None = None, image: Path | None = None) -> BoardResult:
    """``timeout`` bounds the timed runs and the last run (default: ``timed_runs``). With
    ``image`` (an .llext for a loadable firmware), the model's code is uploaded and loaded
    first and the executor runs on it instead of the firmware's own model."""
    arrays = shaped_inputs(mlf, inputs)
    print(f"utvm: opening a session with {link.name}", file=out, flush=True)
    session = Session(link, reply_timeout=REPLY_TIMEOUT_S)
    session.open(retry_timeout=2.0, start_timeout=start_timeout)

    def work(client: RpcClient) -> BoardResult:
        lib = None
        if image is not None:  # again after a new session: the board freed the last one
            from utvm.loadable.session import load_image

            lib = load_image(client, image.read_bytes(),
                             ByteProgress(f"utvm: uploading {image.name}", out))
        with create_executor(client, mlf, lib) as executor:
            for info, array in zip(mlf.inputs, arrays, strict=True):
                with executor.get_input(device_input_name(mlf, info.name)) as tensor:
                    upload(client, tensor, array, info.name,
                           ByteProgress(f"utvm: uploading input '{info.name}'", out))
            seconds, run_limit = timed_runs(executor, repeat, timeout)
            # The timed runs ran too; this one leaves exactly these outputs.
            executor.run(timeout=run_limit)
            outputs = [executor.get_output(index) for index in range(len(mlf.outputs))]
        return BoardResult(outputs, seconds, mlf.executor_kind, repeat)

    # A noisy link costs a request sent again, or the run redone in a new session (a line
    # on `out` says which), not the result.
    return run_with_recovery(session, work, RetryState(report=lambda line: print(
        f"utvm: {line}", file=out, flush=True)))


def upload(client: RpcClient, tensor: DeviceArray, array: np.ndarray, name: str,
           progress: Callable[[int, int], None]) -> None:
    """Copies ``array`` into the device tensor in slices, reporting progress after each."""
    if array.dtype != tensor.dtype or tuple(array.shape) != tuple(tensor.shape):
        raise UtvmError(f"the board's input '{name}' is {tensor.dtype} {list(tensor.shape)}, but "
                        f"the model's metadata says {array.dtype} {list(array.shape)}: is the "
                        "board running this model? Flash the build of this model.")
    raw = np.ascontiguousarray(array).tobytes()
    flat = replace(tensor.record, shape=(len(raw),), dtype=_BYTE)
    for offset in range(0, len(raw), UPLOAD_SLICE_BYTES):
        piece = raw[offset:offset + UPLOAD_SLICE_BYTES]
        client.copy_to(replace(flat, shape=(len(piece),),
                               byte_offset=flat.byte_offset + offset), piece, sync=False)
        progress(offset + len(piece), len(raw))
    client.stream_sync()


def shaped_inputs(mlf: ModelLibrary, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Inputs checked against the model (count, dtype, size) and given the model's shapes."""
    return model_arrays(mlf, inputs)
