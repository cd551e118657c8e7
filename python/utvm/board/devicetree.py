"""Which UART carries RPC, read from the build's final devicetree (``zephyr/zephyr.dts``).

The Zephyr port serves RPC on the chosen ``zephyr,utvm-uart``, else on ``zephyr,console``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

RPC_UART_CHOSEN = "zephyr,utvm-uart"
CONSOLE_CHOSEN = "zephyr,console"


@dataclass(frozen=True)
class RpcUart:
    label: str  # devicetree label, e.g. "uart1"
    node_name: str  # node name without unit address, e.g. "uart_1" (native_sim names it so)
    is_console: bool


def rpc_uart(dts_path: Path) -> RpcUart | None:
    """The RPC UART of a build, or None when the devicetree says nothing about it."""
    try:
        text = dts_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    chosen = _chosen(text)
    label = chosen.get(RPC_UART_CHOSEN) or chosen.get(CONSOLE_CHOSEN)
    if label is None:
        return None
    node = re.search(rf"(?m)^\s*(?:[\w-]+:\s*)*{re.escape(label)}:\s*(?:[\w-]+:\s*)*"
                     r"([\w,.+-]+)(?:@[0-9a-fA-F]+)?\s*\{", text)
    node_name = node.group(1) if node else label
    return RpcUart(label, node_name, label == chosen.get(CONSOLE_CHOSEN))


def _chosen(text: str) -> dict[str, str]:
    block = re.search(r"chosen\s*\{(.*?)\};", text, re.DOTALL)
    if not block:
        return {}
    return dict(re.findall(r"([\w,-]+)\s*=\s*&([\w-]+)\s*;", block.group(1)))


def uart_baud(dts_path: Path, label: str) -> int | None:
    """``current-speed`` of the UART node labelled ``label`` (None if absent or 0, as on
    native_sim, whose UARTs are PTYs)."""
    try:
        text = dts_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    body = node_body(text, label)
    speed = re.search(r"current-speed\s*=\s*<\s*(0x[0-9a-fA-F]+|\d+)\s*>", body or "")
    value = int(speed.group(1), 0) if speed else 0
    return value or None


def node_body(text: str, label: str) -> str | None:
    """The body of the node labelled ``label`` in a devicetree source, up to its closing brace
    (child nodes included); None when no node has that label."""
    node = re.search(rf"(?m)^\s*(?:[\w-]+:\s*)*{re.escape(label)}:\s*(?:[\w-]+:\s*)*"
                     r"[\w,.+-]+(?:@[0-9a-fA-F]+)?\s*\{", text)
    if node is None:
        return None
    depth, end = 1, node.end()
    while depth and end < len(text):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        end += 1
    return text[node.end():end]
