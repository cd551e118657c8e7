"""What a model needs from the runtime's memory, and what its generated code holds itself.

Every byte counted once: TVM's AOT code built with USMP keeps its workspace in a static
buffer of the generated code (``global_workspace`` in ``default_lib0.c``), so the runtime's
arena needs only what the runtime itself allocates — the host's input and output tensors and
the executor's small tables. Code that calls ``TVMBackendAllocWorkspace`` (the graph
executor's operators, AOT without USMP) takes its workspace from the arena, and the graph
executor also allocates one buffer per storage id of the graph (uploaded parameters
included).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from utvm.errors import UtvmError
from utvm.mlf.dtypes import tensor_bytes
from utvm.mlf.model import ModelLibrary

#: The Kconfig default page size (2^UTVM_PAGE_SIZE_LOG2); each page costs one run word too.
PAGE_BYTES = 256
_PAGE_COST = PAGE_BYTES + 4
#: A tracked allocation's header and alignment slack (utvm_data_alloc), rounded up.
_ALLOCATION_OVERHEAD = 64
#: The executor's objects, NDArray headers and what a host session allocates besides tensors.
_RUNTIME_MARGIN = 4096
_ALLOC_WORKSPACE = re.compile(r"\bTVMBackendAllocWorkspace\s*\(")


@dataclass(frozen=True)
class ModelMemory:
    """Bytes, by who holds them. ``arena_bytes`` is what CONFIG_UTVM_ARENA_SIZE must give."""

    io_bytes: int  # the model's input and output tensors (allocated by the host)
    static_workspace_bytes: int  # a workspace the generated code holds itself (USMP)
    runtime_workspace_bytes: int  # workspace taken from the arena (TVMBackendAllocWorkspace)
    graph_storage_bytes: int  # the graph executor's storage, parameters included
    graph_json_bytes: int  # upper bound of the parsed graph's tables
    params_bytes: int  # parameters the host uploads (graph without linked params)
    constants_bytes: int  # constants compiled into the image (ROM)
    #: The separate blocks the runtime allocates at its peak (each rounded up to pages).
    allocations: tuple[int, ...] = field(default=(), repr=False)

    @property
    def arena_bytes(self) -> int:
        """Arena for the runtime's own allocations at their peak, each block rounded up to
        whole pages (with its header), plus the pages' run words and a margin."""
        pages = sum(-(-(n + _ALLOCATION_OVERHEAD) // PAGE_BYTES) for n in self.allocations)
        return pages * _PAGE_COST + _RUNTIME_MARGIN

    def lines(self) -> list[tuple[str, int]]:
        """(label, bytes) rows for reports, only those that apply."""
        rows = [
            ("inputs + outputs", self.io_bytes),
            ("workspace, static in the model's code", self.static_workspace_bytes),
            ("workspace, from the runtime's arena", self.runtime_workspace_bytes),
            ("graph storage (parameters included)", self.graph_storage_bytes),
            ("parameters uploaded by the host", self.params_bytes),
            ("constants in the image", self.constants_bytes),
        ]
        return [(label, value) for label, value in rows if value]


def model_memory(mlf: ModelLibrary) -> ModelMemory:
    tensors = [t.size_bytes for t in (*mlf.inputs, *mlf.outputs)]  # one block each
    params = mlf.params_path.stat().st_size if mlf.has_params and mlf.params_path else 0
    if mlf.executor == "graph":
        storage = _graph_storage(mlf.graph_json_path) if mlf.graph_json_path else []
        # The parsed graph's tables take less than the JSON text they come from.
        json_bytes = mlf.graph_json_path.stat().st_size if mlf.graph_json_path else 0
        operator = _largest_operator_workspace(mlf)
        blocks = (*tensors, *storage, json_bytes, *_workspace_blocks(operator))
        return ModelMemory(sum(tensors), 0, operator, sum(storage), json_bytes, params,
                           mlf.constants_size_bytes if not params else 0, blocks)
    workspace = mlf.workspace_size_bytes
    if _allocates_workspace(mlf):
        return ModelMemory(sum(tensors), 0, workspace, 0, 0, 0, mlf.constants_size_bytes,
                           (*tensors, *_workspace_blocks(workspace)))
    return ModelMemory(sum(tensors), workspace, 0, 0, 0, 0, mlf.constants_size_bytes,
                       tuple(tensors))


def _workspace_blocks(total: int) -> tuple[int, ...]:
    """Workspace comes in several requests of unknown count: the total, plus two pages of
    rounding for the requests that share it."""
    return (total, 2 * PAGE_BYTES) if total else ()


def _allocates_workspace(mlf: ModelLibrary) -> bool:
    """True when the generated code asks the runtime for workspace. Without C sources
    (object files only) nothing can be read, so assume it does."""
    if not mlf.c_sources:
        return True
    return any(_ALLOC_WORKSPACE.search(path.read_text(encoding="utf-8", errors="replace"))
               for path in mlf.c_sources)


def _largest_operator_workspace(mlf: ModelLibrary) -> int:
    """The graph executor runs one operator at a time, each freeing its workspace after:
    the largest operator's workspace (metadata.json's operator_functions), else TVM's
    whole-model figure."""
    try:
        metadata = json.loads((mlf.root / "metadata.json").read_text(encoding="utf-8"))
        modules = metadata.get("modules") or {mlf.module_name: metadata}
        functions = modules[mlf.module_name]["memory"]["functions"]["operator_functions"]
        sizes = [int(w.get("workspace_size_bytes") or 0)
                 for f in functions for w in f.get("workspace", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return mlf.workspace_size_bytes
    return max(sizes, default=0) if sizes else mlf.workspace_size_bytes


def _graph_storage(graph_json: Path) -> list[int]:
    """One buffer per storage id, as large as its largest entry (the runtime's plan)."""
    try:
        attrs = json.loads(graph_json.read_text(encoding="utf-8"))["attrs"]
        storage_ids = attrs["storage_id"][1]
        shapes = attrs["shape"][1]
        dtypes = attrs["dltype"][1]
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return []
    sizes: dict[int, int] = {}
    for storage_id, shape, dtype in zip(storage_ids, shapes, dtypes, strict=False):
        try:
            size = tensor_bytes(str(dtype), tuple(int(d) for d in shape))
        except (UtvmError, TypeError, ValueError):
            size = 0
        sizes[storage_id] = max(sizes.get(storage_id, 0), size)
    return list(sizes.values())
