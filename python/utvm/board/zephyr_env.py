"""Where Zephyr and west are, and running west with its output streamed through."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from utvm.errors import UtvmError

_TAIL_LINES = 400
_DIAGNOSIS_LINES = 6
# Lines worth repeating in the final error message: Zephyr's and CMake's own diagnoses.
# A compiler's error keeps its file:line in front (first alternative: it matches earliest).
_DIAGNOSIS = re.compile(
    r"[^\s:][^:\s]*:\d+(?::\d+)?: (?:fatal )?error: .*|"
    r"No board named .*|Invalid BOARD.*|CMake Error.*|FATAL ERROR:.*|error: .*|"
    r"Could not find a package configuration file provided by \"Zephyr-sdk\".*|"
    r".*utvm_add_model\(.*|.*undefined reference.*|.*region .* overflowed.*|"
    r"ModuleNotFoundError: .*",
)
# Zephyr's build and runner scripts import what <ZEPHYR_BASE>/scripts/requirements*.txt list.
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")


@dataclass(frozen=True)
class West:
    """How to run west commands of Zephyr's (build, flash) for one Zephyr tree.

    They run from the workspace that holds that Zephyr, where west finds them, whichever
    workspace (if any) the user is in; paths given to them are absolute.
    """

    prefix: tuple[str, ...]
    cwd: Path | None
    env: dict[str, str]

    @classmethod
    def for_zephyr(cls, zephyr_base: Path | None,
                   prefix: Sequence[str] | None = None) -> West:
        """``prefix``: how to start west (e.g. TVM's ``west_cmd``); default `west_command()`."""
        env = dict(os.environ)
        if zephyr_base is not None:
            env["ZEPHYR_BASE"] = str(zephyr_base)
        return cls(tuple(prefix or west_command()), workspace_of(zephyr_base), env)

    def command(self, *args: str) -> list[str]:
        return [*self.prefix, *args]

    def run(self, args: Sequence[str], out: TextIO | None = None) -> StreamedRun:
        return run_streamed(self.command(*args), out, cwd=self.cwd, env=self.env)


def workspace_of(zephyr_base: Path | None) -> Path | None:
    """The west workspace containing ``zephyr_base``, or None."""
    if zephyr_base is None:
        return None
    try:
        from west.util import WestNotFound, west_topdir
    except ImportError:
        return None
    try:
        return Path(west_topdir(start=zephyr_base, fall_back=False))
    except WestNotFound:
        return None


def west_command() -> list[str]:
    """How to start west: this interpreter's west module, else a `west` on PATH."""
    if importlib.util.find_spec("west") is not None:
        return [sys.executable, "-m", "west"]
    found = shutil.which("west")
    if found:
        return [found]
    raise UtvmError("west is not installed. Install it with `pip install west` (Zephyr's "
                    "getting-started guide sets it up together with the Zephyr SDK).")


def find_zephyr(environ: Mapping[str, str] | None = None) -> Path | None:
    """ZEPHYR_BASE if set (checked), else the zephyr/ of the enclosing west workspace.

    Returns None when neither exists; `require_zephyr` turns that into a clear error.
    """
    env = os.environ if environ is None else environ
    configured = env.get("ZEPHYR_BASE")
    if configured:
        base = Path(configured).expanduser()
        if not _looks_like_zephyr(base):
            raise UtvmError(
                f"ZEPHYR_BASE={configured} is not a Zephyr tree (it has no VERSION file and "
                "cmake/modules folder). Point ZEPHYR_BASE at the zephyr/ folder of your west "
                "workspace, or unset it and work inside the workspace.")
        return base.resolve()
    try:
        from west.util import WestNotFound, west_topdir
    except ImportError:
        return None
    try:
        topdir = Path(west_topdir())
    except WestNotFound:
        return None
    from utvm.board.build_dir import west_config_value

    relative = west_config_value("zephyr.base") or "zephyr"
    base = topdir / relative
    return base.resolve() if _looks_like_zephyr(base) else None


def require_zephyr(environ: Mapping[str, str] | None = None) -> Path:
    base = find_zephyr(environ)
    if base is None:
        raise UtvmError(
            "no Zephyr found: ZEPHYR_BASE is not set and the current directory is not inside a "
            "west workspace with a zephyr/ project. Work inside your workspace (`west init`, "
            "`west update`) or `export ZEPHYR_BASE=<path to zephyr>`.")
    return base


def _looks_like_zephyr(path: Path) -> bool:
    return (path / "VERSION").is_file() and (path / "cmake" / "modules").is_dir()


@dataclass(frozen=True)
class StreamedRun:
    returncode: int
    tail: list[str]
    #: Error lines seen anywhere in the output (Zephyr's own message for an unknown board
    #: comes before a list of every board it knows, far from the tail).
    errors: list[str]

    def diagnosis(self) -> list[str]:
        return self.errors[:_DIAGNOSIS_LINES]


def run_streamed(command: Sequence[str], out: TextIO | None = None, cwd: Path | None = None,
                 env: Mapping[str, str] | None = None) -> StreamedRun:
    """Runs ``command``, copying its output line by line to ``out`` as it comes."""
    stream = out if out is not None else sys.stdout
    try:
        process = subprocess.Popen(list(command), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   text=True, errors="replace", bufsize=1, cwd=cwd,
                                   env=None if env is None else dict(env))
    except OSError as exc:
        raise UtvmError(f"cannot start {command[0]}: {exc}") from exc
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    errors: list[str] = []
    assert process.stdout is not None
    try:
        for line in process.stdout:
            stream.write(line)
            stream.flush()
            tail.append(line.rstrip("\n"))
            match = _DIAGNOSIS.search(line.strip())
            if match and len(errors) < _DIAGNOSIS_LINES and match.group(0) not in errors:
                errors.append(match.group(0))
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        raise
    return StreamedRun(code, list(tail), errors)


def failure_message(what: str, command: Sequence[str], result: StreamedRun, advice: str) -> str:
    shown = " ".join(_shell_quote(part) for part in command)
    lines = [f"{what} failed (exit status {result.returncode}): {shown}"]
    diagnosis = result.diagnosis()
    if diagnosis:
        lines.append("it said:")
        lines.extend(f"  {line}" for line in diagnosis)
    missing = next((m.group(1) for line in diagnosis if (m := _MISSING_MODULE.search(line))),
                   None)
    if missing:
        advice = (f"Zephyr's scripts need the Python module '{missing}': install Zephyr's "
                  "Python requirements into the environment west runs in (`pip install -r "
                  "$ZEPHYR_BASE/scripts/requirements.txt`), then try again.")
    lines.append(advice)
    return "\n".join(lines)


def _shell_quote(part: str) -> str:
    return part if re.fullmatch(r"[\w@%+=:,./-]+", part) else "'" + part.replace("'", "'\\''") + "'"
