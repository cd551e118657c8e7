"""What QEMU runs for a configured Zephyr build, and the QEMU_EXTRA_FLAGS utvm adds for it.

Zephyr writes the QEMU command of `west build -t run` into the build's ``build.ninja`` while
configuring. Some boards make QEMU run more than the build's own CPU: ``-smp N`` for SMP
boards, or a second image for another core (mps2/an521/cpu1 loads an image on CPU0 that wakes
CPU1 and then spins in an endless loop). utvm's ``-icount shift=0`` is for a machine whose
only running CPU is the app's: QEMU before 8.1 gives the whole instruction budget up to the
next timer deadline to the first CPU, so with shift=0 a spinning CPU0 starves CPU1 for good
(the board hangs after "Booting Zephyr"), and on any QEMU the counted instructions would
include the other CPU's.
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

# A pseudo-terminal for one more serial port: the RPC UART (the board's second UART).
QEMU_PTY_FLAGS = "-serial;pty"
# Instruction counting with 1 ns of board time per instruction, so that the board's timer
# gives deterministic instruction counts (it comes after the board's own -icount and wins).
QEMU_ICOUNT_FLAGS = "-icount;shift=0,align=off,sleep=off"


def qemu_run_command(app_dir: Path) -> list[str] | None:
    """The QEMU command line of the build's ``run`` target, or None when the build has no
    build.ninja or runs no QEMU."""
    try:
        text = (app_dir / "build.ninja").read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        command = line.strip()
        if not command.startswith("COMMAND = ") or "qemu-system-" not in command:
            continue
        words = shlex.split(command.removeprefix("COMMAND = ").split(" && ")[-1])
        if words and Path(words[0]).name.startswith("qemu-system-") and "-gdb" not in words:
            return words
    return None


def other_cpus(command: list[str]) -> str | None:
    """What QEMU runs besides the build's own CPU, in words, or None when nothing: ``-smp``
    with more than one CPU, or more than one image loaded (each for its own core)."""
    images = []
    for option, value in itertools.pairwise(command):
        if option == "-smp":
            count = re.match(r"(?:cpus=)?(\d+)", value)
            if count and int(count.group(1)) > 1:
                return f"{count.group(1)} CPUs (-smp {value})"
        elif option == "-kernel":
            images.append(value)
        elif option == "-device" and value.startswith("loader,"):
            found = re.search(r"(?:^|,)file=([^,]+)", value)
            if found:
                images.append(found.group(1))
    if len(images) > 1:
        return f"{len(images)} images, one per core ({', '.join(images)})"
    return None


@dataclass(frozen=True)
class QemuFlags:
    """QEMU_EXTRA_FLAGS for one build, and why each part is or is not there."""

    flags: str  # a CMake list
    reasons: tuple[str, ...]

    def describe(self) -> str:
        return "; ".join(self.reasons)


def qemu_extra_flags(host_driven: bool, app_dir: Path | None) -> QemuFlags:
    """A PTY for the RPC UART when the app serves RPC (a standalone app prints its results on
    the console); instruction counting unless QEMU runs another CPU next to the build's
    (known only once the build is configured: ``app_dir`` None means not yet)."""
    parts, reasons = [], []
    if host_driven:
        parts.append(QEMU_PTY_FLAGS)
        reasons.append("a pseudo-terminal for its second UART (RPC)")
    command = qemu_run_command(app_dir) if app_dir is not None else None
    others = other_cpus(command) if command is not None else None
    if others is None:
        parts.append(QEMU_ICOUNT_FLAGS)
        reasons.append("instruction counting (-icount shift=0)")
    else:
        reasons.append(
            f"no -icount shift=0: QEMU runs {others}, and with shift=0 QEMU before 8.1 gives "
            "every instruction up to the next timer deadline to the first CPU, so a CPU that "
            "spins there starves this one; the board's own clock setting stays, and its "
            "times count the other CPU's instructions too")
    return QemuFlags(";".join(parts), tuple(reasons))
