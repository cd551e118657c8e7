"""Simulated boards as background processes: start, find the PTY of their UART, stop.

A simulator runs in its own process group (QEMU runs under `west build -t run`, i.e. west,
ninja and QEMU), so stopping it stops all of them. Its output goes to a log file, which is
also where the PTY's name is read from.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from utvm.errors import UtvmError

_START_TIMEOUT_S = 120.0  # QEMU through `west build -t run` may still link first
_STOP_TIMEOUT_S = 5.0

PtyPicker = Callable[[str], str | None]  # log text -> PTY path, once it is there


@dataclass(frozen=True)
class RunningSimulator:
    kind: str  # "native_sim" or "qemu"
    pid: int  # leader of its process group
    pty: str
    log: str

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return _is_running(self.pid) and os.path.exists(self.pty)

    def stop(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            if not _is_running(self.pid):
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def to_record(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, object] | None) -> RunningSimulator | None:
        try:
            return cls(str(record["kind"]), int(record["pid"]), str(record["pty"]),  # type: ignore[index]
                       str(record["log"]))  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            return None


def _is_running(pid: int) -> bool:
    """False for a zombie (exited, not yet reaped by its parent) or a vanished process."""
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reaps it when it is our own child
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


def start_simulator(kind: str, command: Sequence[str], log_path: Path, pick_pty: PtyPicker,
                    cwd: Path | None = None, env: Mapping[str, str] | None = None,
                    timeout: float = _START_TIMEOUT_S) -> RunningSimulator:
    """Starts ``command`` detached, waits for its PTY to appear in its output."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        try:
            process = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, cwd=cwd,
                                       env=None if env is None else dict(env),
                                       start_new_session=True)
        except OSError as exc:
            raise UtvmError(f"cannot start the {kind} board ({command[0]}): {exc}") from exc
    simulator_of = lambda pty: RunningSimulator(kind, process.pid, pty, str(log_path))  # noqa: E731
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text(encoding="utf-8", errors="replace")
        pty = pick_pty(text)
        if pty:
            return simulator_of(pty)
        if process.poll() is not None:
            raise UtvmError(f"the {kind} board stopped (exit status {process.returncode}) "
                            f"before opening its UART. Its output ({log_path}):\n"
                            + _tail(text))
        time.sleep(0.05)
    simulator_of("").stop()
    raise UtvmError(f"the {kind} board did not report a pseudo-terminal within {timeout:.0f} s. "
                    f"Its output ({log_path}):\n" + _tail(log_path.read_text(errors="replace")))


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines()[-lines:]) or "  (nothing)"


def native_sim_pty_picker(uart_node_name: str | None) -> PtyPicker:
    """native_sim prints `<uart node> connected to pseudotty: /dev/pts/N` per UART."""
    lines = re.compile(r"^(\S+) connected to pseudotty: (\S+)", re.MULTILINE)

    def pick(text: str) -> str | None:
        found = lines.findall(text)
        for name, pty in found:
            if uart_node_name is None or name == uart_node_name:
                return pty
        return None

    return pick


def qemu_pty_picker(serial_index: int | None = None) -> PtyPicker:
    """QEMU prints `char device redirected to /dev/pts/N (label L)` per PTY; `-serial pty`
    labels its port serialK (K: its place among the -serial options). With ``serial_index``
    only serialK with that K will do (a board may add PTYs of its own, as mps2/an521 does);
    without it the first PTY that is not the console (label con, multiplexed with QEMU's
    monitor, so RPC is never there)."""
    lines = re.compile(r"char device redirected to (\S+) \(label ([^)]+)\)")

    def pick(text: str) -> str | None:
        for pty, label in lines.findall(text):
            if serial_index is not None:
                if label == f"serial{serial_index}":
                    return pty
            elif label not in ("con", "compat_monitor0"):
                return pty
        return None

    return pick
