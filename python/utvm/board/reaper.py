"""Stops a simulated board when what it belongs to goes away, even when that is killed.

A board started in the background (native_sim, or QEMU under `west build -t run`) lives in
its own process group. A small watcher process, started next to it, stops the whole group
(and QEMU by its own pid, should it have left the group) once its owner process exits or
the folder it belongs to (a build or a generated project) is deleted; it ends by itself
when the board ends. One mechanism for the Project API's flash (owner: the server, folder:
the project) and `west utvm flash` (folder: the build).

A deleted folder does not stop a board its owner is talking to (the owner holds the board's
terminal, ``--pty``, open): TVM's compile_and_create_micro_session (AutoTVM's trials that
build and flash) deletes the generated project as soon as the session is up and measures
after that. Such a board stops when the owner closes the link or exits.

    python <utvm>/board/reaper.py --group PGID [--pid PID] [--owner PID] [--folder DIR]
        [--pty PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

_POLL_S = 0.5
_STOP_TIMEOUT_S = 5.0


def watch(group: int, pids: Sequence[int] = (), owner: int | None = None,
          folder: Path | None = None, pty: str | None = None) -> subprocess.Popen[bytes]:
    """Starts the watcher for ``group`` (detached: it outlives whoever starts it)."""
    # Run as a script: it needs only the standard library, not the utvm package.
    command = [sys.executable, str(Path(__file__).resolve()), "--group", str(group)]
    for pid in pids:
        command += ["--pid", str(pid)]
    if owner is not None:
        command += ["--owner", str(owner)]
    if folder is not None:
        command += ["--folder", str(folder.absolute())]
    if pty is not None:
        command += ["--pty", pty]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return any(_running(pid) for pid in members(group))


def members(group: int) -> list[int]:
    """Processes of a process group (from /proc; empty where there is none)."""
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                fields = _stat(int(entry.name))
                if fields is not None and fields[2] == str(group):
                    found.append(int(entry.name))
    return found


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name: state, ppid, pgrp, ..."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _running(pid: int) -> bool:
    fields = _stat(pid)
    if fields is None:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True
    return fields[0] != "Z"


def holds_open(pid: int, path: str) -> bool:
    """Whether process ``pid`` has ``path`` open (from /proc; False where it cannot tell)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(entry.path) == path:
                    return True
    return False


def stop_group(group: int, pids: Sequence[int] = ()) -> None:
    """SIGTERM to the group and the extra pids, SIGKILL to what is left after a while."""
    for send in (lambda: os.killpg(group, signal.SIGTERM),
                 *[(lambda p=p: os.kill(p, signal.SIGTERM)) for p in pids]):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            send()
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not group_alive(group) and not any(_running(p) for p in pids):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", type=int, required=True)
    parser.add_argument("--pid", type=int, action="append", default=[])
    parser.add_argument("--owner", type=int)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--pty")
    arguments = parser.parse_args(argv)
    while group_alive(arguments.group) or any(_running(p) for p in arguments.pid):
        owner_gone = arguments.owner is not None and not _running(arguments.owner)
        folder_gone = arguments.folder is not None and not arguments.folder.exists()
        in_use = (folder_gone and arguments.owner is not None and arguments.pty is not None
                  and holds_open(arguments.owner, arguments.pty))
        if owner_gone or (folder_gone and not in_use):
            stop_group(arguments.group, arguments.pid)
            return 0
        time.sleep(_POLL_S)
    return 0


if __name__ == "__main__":
    sys.exit(main())
