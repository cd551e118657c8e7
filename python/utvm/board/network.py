"""RPC over TCP (`west utvm build --link tcp`): what it needs of a board, and the port QEMU's
user networking forwards from this computer to the board's RPC port.

The firmware side is CONFIG_UTVM_RPC_TCP (samples/rpc_server/tcp.conf); a board that runs in
QEMU gets QEMU's user networking (SLIRP, samples/rpc_server/tcp_slirp.conf), whose
``hostfwd=tcp:127.0.0.1:HOST-:GUEST`` rule in the build's QEMU command `west utvm flash`
rewrites with a port of this computer that is free at that moment.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

from utvm.board.build_dir import ZephyrBuild
from utvm.errors import UtvmError

LINKS = ("uart", "tcp")
DEFAULT_LINK = "uart"
TCP_CONF = "tcp.conf"  # samples/rpc_server/tcp.conf
SLIRP_CONF = "tcp_slirp.conf"  # samples/rpc_server/tcp_slirp.conf
TCP_OPTION = "CONFIG_UTVM_RPC_TCP"
PORT_OPTION = "CONFIG_UTVM_RPC_TCP_PORT"
DEFAULT_GUEST_PORT = 4242
LOCALHOST = "127.0.0.1"
_HOSTFWD = re.compile(r"hostfwd=tcp:(?P<address>[\d.]*):(?P<host>\d+)-(?P<guest>[\d.]*:\d+)")


def guest_port(build: ZephyrBuild) -> int:
    """The board's RPC port (CONFIG_UTVM_RPC_TCP_PORT)."""
    value = build.kconfig().get(PORT_OPTION, "")
    return int(value) if value.isdigit() else DEFAULT_GUEST_PORT


def serves_tcp(build: ZephyrBuild) -> bool:
    return build.kconfig_enabled(TCP_OPTION)


def ethernet_drivers(zephyr_base: Path) -> frozenset[str]:
    """Kconfig symbols of Zephyr's Ethernet controller drivers: those under drivers/ethernet
    that depend on a devicetree node (``DT_HAS_..._ENABLED``), i.e. hardware, not options."""
    found = set()
    for path in (zephyr_base / "drivers" / "ethernet").rglob("Kconfig*"):
        text = path.read_text(encoding="utf-8", errors="replace")
        blocks = re.split(r"(?m)^(?=(?:menuconfig|config)\s)", text)
        for block in blocks:
            name = re.match(r"(?:menuconfig|config)\s+(ETH_\w+)", block)
            if name and "DT_HAS_" in block:
                found.add(f"CONFIG_{name.group(1)}")
    return frozenset(found)


def check_ethernet(build: ZephyrBuild) -> None:
    """--link tcp needs a network interface: refused, before compiling, on a board whose
    configured build enables no Ethernet driver."""
    base = build.zephyr_base
    if base is None or not (base / "drivers" / "ethernet").is_dir():
        return  # nothing to judge by; the firmware says it at boot
    enabled = [name for name in ethernet_drivers(base) if build.kconfig_enabled(name)]
    if not enabled:
        raise UtvmError(f"{build.board} has no Ethernet controller Zephyr drives (configured, "
                        "the build enables no Ethernet driver: its devicetree has none), so "
                        "the board cannot serve RPC over TCP. "
                        "Build without --link tcp (RPC over its UART), or pick a board with "
                        "Ethernet (e.g. mps2/an385 in QEMU, nucleo_f746zg).")


def check_tcp_board(board: str, host_program: bool) -> None:
    if host_program:
        raise UtvmError(f"--link tcp is for boards with Ethernet; {board} runs on this "
                        "computer and its RPC pseudo-terminal is already fast. Build without "
                        "--link tcp.")


def free_local_port() -> int:
    """A TCP port of this computer's loopback that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOCALHOST, 0))
        return int(probe.getsockname()[1])


def forwarded_command(command: list[str], host_port: int) -> list[str]:
    """The QEMU command with its user-networking forward rule on ``host_port`` of this
    computer's loopback; UtvmError when the command forwards nothing (not a --link tcp
    build, or built before it)."""
    changed, replaced = [], False
    for word in command:
        new = _HOSTFWD.sub(lambda m: f"hostfwd=tcp:{LOCALHOST}:{host_port}-{m['guest']}", word)
        replaced = replaced or new != word
        changed.append(new)
    if not replaced:
        raise UtvmError("this QEMU build forwards no port of this computer to the board (no "
                        "hostfwd rule in its QEMU command): build it again with `west utvm "
                        "build --link tcp`.")
    return changed


def forward_busy(log_text: str) -> bool:
    """QEMU's complaint when the forwarded port was taken meanwhile."""
    return "host forwarding rule" in log_text or "Could not set up host forwarding" in log_text
