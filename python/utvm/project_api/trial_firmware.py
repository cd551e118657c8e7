"""AutoTVM trials that load each candidate into one running firmware instead of reflashing.

TVM's AutoTVM (``tvm.micro.AutoTvmModuleLoader``) generates, builds and flashes a project for
every candidate it measures, then opens the transport and asks the board for
``runtime.SystemLib``. For an operator-style project (what AutoTVM measures) on a board that
can load code (LLEXT) and is simulated here, the project's methods instead:

* ``build``: build one loadable firmware once (``west utvm build --loadable``, with
  ``CONFIG_UTVM_LOADABLE_SYSTEM_LIB``) in a cache folder shared by every trial of the same
  board and settings, and compile the candidate's C into an ``.llext`` with its EDK;
* ``flash``: start that firmware unless it is already running;
* ``open_transport``: upload and load the ``.llext`` in a session of its own, then hand the
  link to TVM, whose ``runtime.SystemLib`` is then the loaded candidate (the firmware returns
  the module loaded last while ``CONFIG_UTVM_LOADABLE_SYSTEM_LIB`` is on);
* ``close_transport``: close the link only; the board stays for the next trial.

The running board belongs to the process that started the process that started this server
(under TVM's LocalRunner: its RPC server, which lives for one ``tune()`` call while each trial
runs in a child of it) and to the firmware's build folder: the reaper stops it when either
goes (``utvm.board.reaper``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from utvm.board.build_dir import ZephyrBuild, read_build
from utvm.board.builder import BuildRequest, check_loadable_board
from utvm.board.builder import build as west_utvm_build
from utvm.board.targets import DEFAULT_BAUD, FlashOptions, LinkOptions, SimulatedTarget, target_for
from utvm.board.zephyr_env import West
from utvm.errors import UtvmError
from utvm.transport import Transport

TRIAL_RECORD = "utvm_trial.json"  # in a project: the firmware it loads into and its image
CACHE_ENV = "UTVM_TRIAL_FIRMWARE_DIR"
IMAGE = "candidate.llext"
# What the shared firmware needs beyond `--loadable`: runtime.SystemLib is the loaded
# candidate, and AutoTVM's operators have no signatures to check calls against.
FIRMWARE_KCONFIG = {"CONFIG_UTVM_LOADABLE_SYSTEM_LIB": "y",
                    "CONFIG_UTVM_RPC_UNCHECKED_OPERATOR_CALLS": "y"}
# loadable.conf's arena; an operator needing more gets a firmware of its own.
LOADABLE_ARENA_BYTES = 262144
_ARENA = re.compile(r"^CONFIG_UTVM_ARENA_SIZE=(\d+)\s*$", re.M)


@dataclass(frozen=True)
class TrialRecord:
    firmware: Path  # the shared firmware's build folder
    image: Path

    def write(self, project_dir: Path) -> None:
        (project_dir / TRIAL_RECORD).write_text(json.dumps(
            {"firmware": str(self.firmware), "image": str(self.image)}) + "\n",
            encoding="utf-8")

    @classmethod
    def read(cls, project_dir: Path) -> TrialRecord | None:
        try:
            data = json.loads((project_dir / TRIAL_RECORD).read_text(encoding="utf-8"))
            return cls(Path(data["firmware"]), Path(data["image"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def wanted(board: str, operators: bool, option: bool | None) -> bool:
    """Whether a project's trials load into a shared firmware (``reuse_firmware`` option:
    None = where possible, False = never, True = here or an error saying why not)."""
    if option is False:
        return False
    reason = None
    if not operators:
        reason = ("it applies to AutoTVM's operator-style projects (a full model is built "
                  "into its firmware)")
    else:
        try:
            check_loadable_board(board)
        except UtvmError as exc:
            reason = str(exc)
    if reason is not None and option:
        raise UtvmError(f"project option reuse_firmware=true: {reason}. Leave it unset to "
                        "build and flash every trial.")
    return reason is None


def firmware_dir(board: str, module: Path, zephyr_base: Path, arena: int) -> Path:
    """The shared firmware's folder: one per board, module, Zephyr and memory size."""
    settings = json.dumps([board, str(module), str(zephyr_base), arena, FIRMWARE_KCONFIG])
    key = hashlib.sha256(settings.encode()).hexdigest()[:16]
    root = os.environ.get(CACHE_ENV) or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "utvm" /
        "trial-firmware")
    return Path(root) / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', board)}-{key}"


def project_arena(conf_text: str) -> int:
    match = _ARENA.search(conf_text)
    return max(LOADABLE_ARENA_BYTES, int(match[1]) if match else 0)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One trial at a time builds or starts a shared firmware."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_firmware(folder: Path, board: str, arena: int, west: West, out: TextIO) -> tuple[
        ZephyrBuild, bool]:
    """The shared loadable firmware, built now unless it already is; (build, built now)."""
    build_dir = folder / "build"
    stamp = folder / "built"
    with _locked(folder):
        if stamp.is_file() and (build_dir / "zephyr" / "zephyr.elf").is_file():
            return read_build(build_dir, must_be_built=True), False
        stamp.unlink(missing_ok=True)
        definitions = {**FIRMWARE_KCONFIG, "CONFIG_UTVM_ARENA_SIZE": str(arena)}
        west_utvm_build(BuildRequest(
            board=board, build_dir=str(build_dir), loadable=True, west=west,
            west_args=["--", "--", *(f"-D{k}={v}" for k, v in definitions.items())]), out)
        stamp.touch()
        return read_build(build_dir, must_be_built=True), True


def simulated(build: ZephyrBuild, west: West | None = None) -> SimulatedTarget | None:
    target = target_for(build, west)
    return target if isinstance(target, SimulatedTarget) else None


def start_if_stopped(target: SimulatedTarget, out: TextIO) -> str:
    """Starts the shared board unless it runs; it stops with this server's grandparent."""
    folder = target.build.build_dir.parent
    with _locked(folder):
        running = target.running()
        if running is not None:
            return (f"{target.build.board} is already running (pid {running.pid}): this "
                    "trial loads its code into it")
        owner = tuning_owner()
        message = target.flash(FlashOptions(skip_rebuild=True, owner_pid=owner), out)
    return (f"{message.split(';')[0]}; it stays for the next trials and stops when process "
            f"{owner} (the tuning run) exits")


def tuning_owner() -> int:
    """The process that started the process that started this server: under TVM's
    LocalRunner the RPC server of one tune() call (each trial runs in a child of it)."""
    parent = os.getppid()
    try:
        with open(f"/proc/{parent}/stat", encoding="ascii", errors="replace") as handle:
            grandparent = int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return parent
    return grandparent if grandparent > 1 else parent


@contextlib.contextmanager
def loaded_link(target: SimulatedTarget, image: Path, out: TextIO) -> Iterator[Transport]:
    """The link to the shared board with the candidate loaded; the board keeps running."""
    from utvm.loadable.fit import check_fits
    from utvm.loadable.session import load_image
    from utvm.rpc import Session

    check_fits(image, target.build)
    data = image.read_bytes()
    with target.link(LinkOptions(None, DEFAULT_BAUD, None), out) as link:
        link.firmware = str(target.build.elf_path)  # the board's error messages are there
        # A session of our own for the upload; TVM starts its own after it on this link.
        session = Session(link, reply_timeout=60.0)
        session.open(retry_timeout=2.0, start_timeout=target.start_timeout)
        load_image(session.client, data).free()
        yield link
