"""The RPC server's files form layers: a file uses only files below it (its `#include "x.h"`
names x.c), so nothing lower calls back up into the server, and one job lives in one file."""

from __future__ import annotations

import re

from testsupport import REPO_ROOT

RPC_SOURCES = REPO_ROOT / "runtime" / "src" / "rpc"
_LOCAL_INCLUDE = re.compile(r'^#include "(\w+)\.h"', re.M)


def _uses() -> dict[str, set[str]]:
    """For each rpc/*.c, the rpc/*.c files whose headers it includes."""
    sources = {path.stem: path.read_text(encoding="utf-8") for path in RPC_SOURCES.glob("*.c")}
    return {name: {used for used in _LOCAL_INCLUDE.findall(text)
                   if used in sources and used != name}
            for name, text in sources.items()}


def _cycle(uses: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for used in sorted(uses[name]):
            if state.get(used) == 1:
                return [*path[path.index(used):], used]
            if used not in state and (found := visit(used)) is not None:
                return found
        path.pop()
        state[name] = 2
        return None

    for name in sorted(uses):
        if name not in state and (found := visit(name)) is not None:
            return found
    return None


def test_the_rpc_server_files_have_no_include_cycle() -> None:
    uses = _uses()
    assert {"server", "rpc_globals", "time_evaluator", "rpc_loadable"} <= uses.keys()
    assert _cycle(uses) is None, " -> ".join(_cycle(uses) or [])
    # The server is the top: nothing in the folder reaches back into it.
    assert not [name for name, used in uses.items() if "server" in used]


def test_the_host_s_executors_are_released_in_one_place() -> None:
    """Ending a session and unloading model code both free the executors, through
    utvm_rpc_release_executors (rpc_executors.c), which is the only caller of the executor
    modules' release functions."""
    callers = sorted(path.name for path in RPC_SOURCES.glob("*.c")
                     if re.search(r"\w+_executor_module_release\(\)", path.read_text()))
    assert callers == ["rpc_executors.c"]
    for user in ("rpc_globals.c", "rpc_loadable.c"):
        assert "utvm_rpc_release_executors();" in (RPC_SOURCES / user).read_text()


def test_the_rpc_globals_do_not_reach_into_the_server() -> None:
    """The globals and the time evaluator get what they need of the server at registration
    (its packet size): they neither see its state (server_state.h, through any local header)
    nor call its functions."""
    for name in ("rpc_globals.c", "time_evaluator.c"):
        seen: set[str] = set()
        todo = [name]
        while todo:
            text = (RPC_SOURCES / todo.pop()).read_text(encoding="utf-8")
            for header in _LOCAL_INCLUDE.findall(text):
                if f"{header}.h" not in seen:
                    seen.add(f"{header}.h")
                    todo.append(f"{header}.h")
        assert "server_state.h" not in seen, name
        assert not re.search(r"\butvm_rpc_server_\w+\(", (RPC_SOURCES / name).read_text()), name
