"""The host RPC stack is layered: a module never imports one above it, not even for type
hints, so each layer can be read, tested and replaced on its own."""

from __future__ import annotations

import ast
from pathlib import Path

from hostrpc_transcripts import REPO_ROOT

PACKAGE_ROOT = REPO_ROOT / "python"
LAYERED = ("utvm.rpc", "utvm.transport")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE_ROOT).with_suffix("").parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Modules of ``known`` that ``path`` imports at module level (type-checking blocks
    included: a cycle there is still a cycle in the design)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` and the like
            todo.extend(node.body + node.orelse)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module in known:
                found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names
                         if f"{node.module}.{a.name}" in known)
    return found


def _graph() -> dict[str, set[str]]:
    files = [p for package in LAYERED
             for p in (PACKAGE_ROOT / package.replace(".", "/")).glob("*.py")
             if p.name != "__init__.py"]  # a package's __init__ only gathers its layers
    known = {_module_name(p) for p in files}
    return {_module_name(p): _imports(p, known) for p in files}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle, as a list of modules, or [] if there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_no_rpc_or_transport_module_imports_one_above_it() -> None:
    graph = _graph()
    assert "utvm.rpc.client" in graph and "utvm.rpc.remote" in graph["utvm.rpc.client"]
    cycle = _cycle(graph)
    assert not cycle, "import cycle: " + " -> ".join(cycle)
