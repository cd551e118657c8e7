"""Does the model fit the board? Decided after configuring, before the minute of compiling.

The board's devicetree says what it has (the ``zephyr,sram`` and ``zephyr,flash`` chosen
nodes); the model's MLF and the build's Kconfig say what utvm will take: the runtime's arena,
the RPC receive buffer, the main stack the model runs on, the workspace the generated code
holds itself, and the constants it stores in flash. Zephyr's own needs come on top, so this
refuses only what cannot fit whatever Zephyr takes; the linker has the last word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from utvm.board.build_dir import ZephyrBuild
from utvm.board.devicetree import node_body
from utvm.errors import UtvmError
from utvm.mlf.model import ModelLibrary
from utvm.mlf.runtime_memory import ModelMemory, model_memory

SRAM_CHOSEN = "zephyr,sram"
FLASH_CHOSEN = "zephyr,flash"


@dataclass(frozen=True)
class BoardMemory:
    sram_bytes: int | None
    flash_bytes: int | None


def board_memory(dts_path: Path) -> BoardMemory:
    """Sizes of the board's chosen RAM and flash (None where the devicetree has none)."""
    try:
        text = dts_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return BoardMemory(None, None)
    block = re.search(r"chosen\s*\{(.*?)\};", text, re.DOTALL)
    chosen = dict(re.findall(r"([\w,-]+)\s*=\s*&([\w-]+)\s*;", block.group(1))) if block else {}
    return BoardMemory(_reg_size(text, chosen.get(SRAM_CHOSEN)),
                       _reg_size(text, chosen.get(FLASH_CHOSEN)))


def _reg_size(text: str, label: str | None) -> int | None:
    """The size cells of a node's first ``reg`` entry (the second half of its cells)."""
    if label is None:
        return None
    body = node_body(text, label)
    if body is None:
        return None
    # Only the node's own properties: child nodes (partitions) have their own reg.
    own = re.sub(r"\{[^{}]*\}", "", body)
    reg = re.search(r"(?m)^\s*reg\s*=\s*<([^>]*)>", own)
    if reg is None:
        return None
    cells = [int(c, 0) for c in reg.group(1).split()]
    if len(cells) < 2 or len(cells) % 2:
        return None
    size = 0
    for cell in cells[len(cells) // 2:]:
        size = (size << 32) | cell
    return size


@dataclass(frozen=True)
class MemoryNeeds:
    """What utvm takes from the board, by line, for the message."""

    ram: list[tuple[str, int]]
    rom: list[tuple[str, int]]

    @property
    def ram_bytes(self) -> int:
        return sum(n for _, n in self.ram)

    @property
    def rom_bytes(self) -> int:
        return sum(n for _, n in self.rom)


def memory_needs(memory: ModelMemory, kconfig: dict[str, str]) -> MemoryNeeds:
    def value(name: str) -> int:
        try:
            return int(kconfig.get(name, "0"), 0)
        except ValueError:
            return 0

    ram = [("runtime arena (CONFIG_UTVM_ARENA_SIZE)", value("CONFIG_UTVM_ARENA_SIZE")),
           ("workspace arena (CONFIG_UTVM_WORKSPACE_SIZE)", value("CONFIG_UTVM_WORKSPACE_SIZE")),
           ("model workspace held by its code", memory.static_workspace_bytes),
           ("main stack the model runs on (CONFIG_MAIN_STACK_SIZE)",
            value("CONFIG_MAIN_STACK_SIZE"))]
    if kconfig.get("CONFIG_UTVM_RPC_SERVER") == "y":
        ram.append(("RPC receive buffer (CONFIG_UTVM_RPC_MAX_PACKET_SIZE)",
                    value("CONFIG_UTVM_RPC_MAX_PACKET_SIZE")))
    rom = [("model constants", memory.constants_bytes)]
    return MemoryNeeds([r for r in ram if r[1]], [r for r in rom if r[1]])


def check_fit(build: ZephyrBuild, mlf: ModelLibrary, host_driven: bool,
              sizes: dict[str, str] | None = None) -> None:
    """UtvmError, with the numbers and what to do, when the model cannot fit the board.
    ``sizes``: the arena and packet sizes the app defines itself (CONFIG_UTVM_MEMORY_FROM_APP),
    by their Kconfig names."""
    kconfig = {**build.kconfig(), **(sizes or {})}
    if kconfig.get("CONFIG_ARCH_POSIX") == "y":
        return  # native_sim: a host program, no board memory to run out of
    board = board_memory(build.zephyr_dir / "zephyr.dts")
    memory = model_memory(mlf)
    needs = memory_needs(memory, kconfig)
    problems = []
    if board.sram_bytes is not None and needs.ram_bytes > board.sram_bytes:
        problems.append(_problem("RAM", SRAM_CHOSEN, board.sram_bytes, needs.ram))
    if board.flash_bytes is not None and needs.rom_bytes > board.flash_bytes:
        problems.append(_problem("flash", FLASH_CHOSEN, board.flash_bytes, needs.rom))
    if not problems:
        return
    advice = ["a board with more memory (e.g. -b mps2/an385: 4 MiB of RAM under QEMU)"]
    if mlf.executor == "aot" and memory.static_workspace_bytes:
        advice.append("the graph executor, whose workspace comes from the arena one operator "
                      "at a time (--executor graph with --model)")
    elif host_driven:
        advice.append("an AOT build of the model (--executor aot with --model), whose "
                      "workspace TVM plans statically")
    advice.append("a smaller CONFIG_UTVM_ARENA_SIZE if you know the model needs less "
                  "(`west utvm build ... -- -DCONFIG_UTVM_ARENA_SIZE=<bytes>`)")
    raise UtvmError(
        f"{mlf.module_name} ({mlf.executor_kind}) does not fit {build.board}: "
        + "; ".join(problems) + ". Zephyr itself needs memory on top. Nothing was compiled. "
        "Try " + ", or ".join(advice) + ".")


def _problem(kind: str, chosen: str, available: int, lines: list[tuple[str, int]]) -> str:
    total = sum(n for _, n in lines)
    parts = " + ".join(f"{label} {n:,}" for label, n in lines)
    return (f"{kind}: utvm and the model need {total:,} B ({parts}) but the board's "
            f"{chosen} has {available:,} B")
