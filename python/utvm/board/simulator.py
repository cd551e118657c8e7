"""Simulated boards as background processes: start, find the PTY of their UART, stop.

A simulator runs in its own process group (QEMU runs under `west build -t run`, i.e. west,
ninja and QEMU), so stopping it stops all of them; QEMU's own pid is recorded too. Its
output goes to a log file, which is also where the PTY's name is read from.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from utvm.board.reaper import members, stop_group, watch
from utvm.errors import UtvmError

_START_TIMEOUT_S = 120.0  # QEMU through `west build -t run` may still link first

PtyPicker = Callable[[str], str | None]  # log text -> PTY path, once it is there


@dataclass(frozen=True)
class RunningSimulator:
    kind: str  # "native_sim" or "qemu"
    pid: int  # leader of its process group
    pty: str
    log: str
    #: The simulator's own processes (QEMU's pid under `west build -t run`), stopped by pid
    #: too, should they have left the group.
    board_pids: tuple[int, ...] = ()
    #: The port of this computer forwarded to the board's RPC port (RPC over TCP), or 0.
    tcp_port: int = 0

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return _is_running(self.pid) and os.path.exists(self.pty)

    def stop(self) -> None:
        """Stops the whole process group (west, ninja and QEMU; or native_sim) and the
        board's own processes."""
        _reap(self.pid)
        stop_group(self.pid, [p for p in self.board_pids if p != self.pid])
        _reap(self.pid)

    def stop_when_gone(self, folder: Path, owner: int | None = None) -> None:
        """Stops this board once ``folder`` is deleted (and ``owner`` does not hold its
        terminal open) or ``owner`` (a pid) exits, whatever happens to the process starting
        it (utvm.board.reaper)."""
        watch(self.pid, self.board_pids, owner, folder, self.pty)

    def to_record(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, object] | None) -> RunningSimulator | None:
        try:
            return cls(str(record["kind"]), int(record["pid"]), str(record["pty"]),  # type: ignore[index]
                       str(record["log"]),  # type: ignore[index]
                       tuple(int(p) for p in record.get("board_pids", ())),  # type: ignore[union-attr]
                       int(record.get("tcp_port", 0) or 0))  # type: ignore[union-attr, call-overload]
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def _reap(pid: int) -> None:
    """Collects our own child's exit status, so that it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


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
    simulator_of = lambda pty: RunningSimulator(  # noqa: E731
        kind, process.pid, pty, str(log_path), _board_processes(process.pid))
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


def _board_processes(group: int) -> tuple[int, ...]:
    """The simulator itself among its group: QEMU under west and ninja (by program name)."""
    found = []
    for pid in members(group):
        try:
            name = Path(f"/proc/{pid}/comm").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        if name.strip().startswith("qemu-system"):
            found.append(pid)
    return tuple(found)


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
