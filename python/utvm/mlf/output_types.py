"""Fill in what metadata.json does not say about a model's outputs.

TVM 0.8 to 0.10 record no dtype or size per output, and no release records output shapes
for the AOT C interface. The other files of the export do: the Relay text's result type
(``-> Tensor[(1, 10), float32]``, or the last expression's ``ty=``), the C type the entry
point writes each output through, and, for a single output, ``io_size_bytes`` minus the
inputs' bytes.
"""

from __future__ import annotations

from typing import Any

from utvm.mlf.dtypes import element_bits, tensor_bytes
from utvm.mlf.tensors import DeclaredTensor


def complete_outputs(
    declared: list[DeclaredTensor],
    recorded: dict[str, Any],
    relay_results: list[DeclaredTensor] | None,
    code_dtypes: list[str | None],
    unaccounted_io_bytes: int | None,
) -> tuple[list[DeclaredTensor], dict[str, Any]]:
    """Outputs with shapes and dtypes where another file states them, and their records.

    Returns the declarations (in output order) and metadata.json's records, completed
    with ``{"dtype", "size"}`` for outputs it does not list (only when it lists none).
    """
    if relay_results is not None and len(relay_results) != len(declared):
        relay_results = None  # a result type that does not match the outputs is not used
    completed = []
    for index, tensor in enumerate(declared):
        record = recorded.get(tensor.name)
        relay = relay_results[index] if relay_results else None
        if relay is not None and record is not None and not _agrees(relay, record):
            relay = None  # metadata.json is the record; a Relay type that disagrees is unused
        shape = tensor.shape if tensor.shape is not None else (relay.shape if relay else None)
        dtype = tensor.dtype or (relay.dtype if relay else None)
        if dtype is None and record is None and index < len(code_dtypes):
            dtype = code_dtypes[index]
        completed.append(DeclaredTensor(tensor.name, dtype, shape))
    if recorded:
        return completed, recorded
    records: dict[str, Any] = {}
    for tensor in completed:
        if tensor.shape is None and tensor.dtype is not None and len(completed) == 1:
            size = unaccounted_io_bytes
            if size is None or size <= 0 or (size * 8) % element_bits(tensor.dtype):
                return completed, {}
            records[tensor.name] = {"dtype": tensor.dtype, "size": size}
    return completed, records


def _agrees(relay: DeclaredTensor, record: dict[str, Any]) -> bool:
    if relay.dtype != record.get("dtype") or relay.shape is None or relay.dtype is None:
        return False
    return tensor_bytes(relay.dtype, relay.shape) == record.get("size")
