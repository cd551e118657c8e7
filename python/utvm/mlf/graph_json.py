"""Read the input/output signature out of a graph executor's JSON (crt-abi.md §8.1)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utvm.errors import UtvmError
from utvm.mlf.tensors import DeclaredTensor


@dataclass(frozen=True)
class GraphSignature:
    """Argument nodes (inputs and unlinked params, in executor order) and outputs."""

    arguments: tuple[DeclaredTensor, ...]
    outputs: tuple[DeclaredTensor, ...]


def read_graph_signature(path: Path) -> GraphSignature:
    graph = _load(path)
    try:
        nodes = graph["nodes"]
        row_ptr = graph["node_row_ptr"]
        attrs = graph["attrs"]
        shapes = attrs["shape"][1]
        dtypes = attrs["dltype"][1]

        def entry(node_id: int, output_index: int, name: str) -> DeclaredTensor:
            entry_id = row_ptr[node_id] + output_index
            shape = tuple(int(d) for d in shapes[entry_id])
            return DeclaredTensor(name, str(dtypes[entry_id]), shape)

        arguments = tuple(entry(nid, 0, nodes[nid]["name"]) for nid in graph["arg_nodes"])
        outputs = tuple(
            entry(head[0], head[1], f"output{index}") for index, head in enumerate(graph["heads"])
        )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise UtvmError(
            f"{path} is not a valid graph executor JSON (missing or malformed "
            f"{_describe_failure(exc)}). Export the model again."
        ) from exc
    return GraphSignature(arguments, outputs)


def _load(path: Path) -> dict[str, Any]:
    try:
        graph = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UtvmError(f"cannot read the graph JSON {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise UtvmError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    except (RecursionError, ValueError) as exc:  # Python's nesting or digit limits
        raise UtvmError(
            f"{path} cannot be parsed as a graph executor JSON ({type(exc).__name__}: {exc}); "
            "it is nested too deeply or holds absurd numbers. Export the model again."
        ) from exc
    if not isinstance(graph, dict):
        raise UtvmError(f"{path} is not a graph executor JSON (top level is not an object).")
    return graph


def _describe_failure(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"field {exc.args[0]!r}"
    return f"content: {exc}"
