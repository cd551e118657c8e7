"""Simulated boards stop with what they belong to: QEMU by its own pid as well as its
group, and a board started in the background once its build folder is deleted or its owner
exits (utvm.board.reaper), without Zephyr: fake simulators that behave like the real ones."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from westsupport import python_script

from utvm.board.reaper import group_alive
from utvm.board.simulator import RunningSimulator, qemu_pty_picker, start_simulator

# Like `west build -t run`: a wrapper whose child, qemu-system-arm, announces its PTY.
QEMU_CHILD = """\
import os, sys, time
print("char device redirected to /dev/pts/99 (label serial1)", flush=True)
time.sleep(0.5)
if len(sys.argv) > 1:
    os.setpgid(0, 0)  # leaves the wrapper's process group
while True:
    time.sleep(1)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def _fake_qemu(tmp_path: Path, leaves_group: bool) -> RunningSimulator:
    qemu = python_script(tmp_path / "bin" / "qemu-system-arm", QEMU_CHILD)
    wrapper = python_script(tmp_path / "west", f"""\
        import subprocess, sys
        sys.exit(subprocess.call([{str(qemu)!r}] + (["leave"] if {leaves_group} else [])))
    """)
    return start_simulator("qemu", [str(wrapper)], tmp_path / "sim.log", qemu_pty_picker(),
                           timeout=60)


def test_qemu_is_stopped_by_its_own_pid_even_outside_the_group(tmp_path: Path) -> None:
    """Stopping the `west build -t run` wrapper's group orphaned qemu-system-arm."""
    simulator = _fake_qemu(tmp_path, leaves_group=True)
    (qemu,) = simulator.board_pids
    assert qemu != simulator.pid
    assert _wait(lambda: os.getpgid(qemu) != simulator.pid)
    simulator.stop()
    assert _wait(lambda: not _alive(qemu), 10)
    assert not group_alive(simulator.pid)


def test_board_stops_when_its_build_folder_is_deleted(tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    simulator = _fake_qemu(tmp_path, leaves_group=False)
    simulator.stop_when_gone(build)
    time.sleep(1)  # the watcher polls; the board must still be running
    assert group_alive(simulator.pid)
    build.rmdir()
    assert _wait(lambda: not group_alive(simulator.pid))
    assert not any(_alive(p) for p in simulator.board_pids)


def test_board_stops_when_its_owner_exits(tmp_path: Path) -> None:
    owner = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    simulator = _fake_qemu(tmp_path, leaves_group=False)
    simulator.stop_when_gone(tmp_path, owner.pid)
    assert group_alive(simulator.pid)
    owner.communicate(b"")  # the owner ends (and is reaped)
    assert _wait(lambda: not group_alive(simulator.pid))
