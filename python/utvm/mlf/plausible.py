"""Bounds on what a Model Library Format may claim: module names and byte counts.

metadata.json is input from elsewhere. A module name becomes part of file paths
(``executor-config/graph/<name>.graph``) and C identifiers (``tvmgen_<name>_run``), and its
byte counts size allocations, so both are checked before anything uses them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from utvm.errors import UtvmError
from utvm.mlf.model import ModelLibrary
from utvm.mlf.tensors import TensorInfo

GiB = 1024 * 1024 * 1024
# Workspace, constants and I/O live in a device's address space: a 32-bit microcontroller
# has 4 GiB of it in all, so a larger count is corrupt or made up.
MAX_MEMORY_BYTES = 4 * GiB
# One input or output tensor: zero inputs, .npy files and device copies of it are made in
# memory, so anything above this is refused before allocating.
MAX_TENSOR_BYTES = 1 * GiB

_C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_module_names(source: Path, names: Iterable[object]) -> None:
    """Every module name must be a plain C identifier, as TVM makes them (``default``)."""
    for name in names:
        if not isinstance(name, str) or not _C_IDENTIFIER.fullmatch(name):
            raise UtvmError(
                f"{source}: module name {_shown(name)} in metadata.json is not a plain C "
                "identifier (letters, digits and '_'), as TVM names modules; refusing it "
                "(it would be used in file paths and C names). Export the model again."
            )


def check_memory_bytes(source: Path, counts: dict[str, int | None]) -> None:
    """Refuse a workspace, constants or I/O size that no device could hold."""
    for field, value in counts.items():
        if value is not None and not 0 <= value <= MAX_MEMORY_BYTES:
            raise UtvmError(
                f"{source}: metadata.json gives {field} = {value}, outside 0..{MAX_MEMORY_BYTES} "
                "(4 GiB, a 32-bit device's whole address space). The export is corrupt."
            )


def check_tensor_sizes(source: Path, tensors: Iterable[TensorInfo], role: str) -> None:
    """Refuse a tensor over MAX_TENSOR_BYTES or with a negative dimension."""
    for tensor in tensors:
        if tensor.shape is not None and any(dim < 0 for dim in tensor.shape):
            raise UtvmError(
                f"{source}: {role} '{tensor.name}' has a negative dimension in shape "
                f"{list(tensor.shape)}. The export is corrupt."
            )
        if not 0 <= tensor.size_bytes <= MAX_TENSOR_BYTES:
            raise UtvmError(
                f"{source}: {role} '{tensor.name}' is {tensor.size_bytes} bytes, over utvm's "
                f"limit of {MAX_TENSOR_BYTES} bytes (1 GiB) for one tensor. The export is "
                "corrupt, or not a model for a microcontroller."
            )


def _shown(name: object) -> str:
    text = ascii(name)
    return text if len(text) <= 80 else text[:77] + "..."


def check_library(library: ModelLibrary) -> None:
    """All of the checks above on an opened module (messages name what the user gave)."""
    source = library.source
    check_tensor_sizes(source, library.inputs, "input")
    check_tensor_sizes(source, library.outputs, "output")
    check_memory_bytes(source, {
        "workspace_size_bytes": library.workspace_size_bytes,
        "constants_size_bytes": library.constants_size_bytes,
        "io_size_bytes": library.io_size_bytes,
    })
