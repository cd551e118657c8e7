"""The Project API methods, done with utvm's board machinery (python/utvm/board).

One server script serves both roles TVM knows: the *template* (``template_project/`` of
the module: only server_info_query and generate_project make sense) and a *generated
project* (the folder generate_project wrote, with ``model.tar`` and ``utvm_project.json``:
build, flash and the transport methods).
"""

from __future__ import annotations

import collections
import contextlib
import io
import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from utvm.board.build_dir import read_build
from utvm.board.builder import BuildRequest
from utvm.board.builder import build as west_utvm_build
from utvm.board.devicetree import rpc_uart, uart_baud
from utvm.board.targets import (
    DEFAULT_BAUD,
    SIMULATOR_LOG,
    FlashOptions,
    LinkOptions,
    SimulatedTarget,
    Target,
    target_for,
)
from utvm.board.zephyr_env import West, require_zephyr
from utvm.errors import UtvmError
from utvm.paths import repo_root
from utvm.project_api import generate, options, trial_firmware
from utvm.project_api.jsonrpc import Method, TransportClosedError, UnsupportedTVMVersionError
from utvm.project_api.transport_bridge import TransportBridge
from utvm.rpc.errors import SessionError
from utvm.transport import TransportClosed, TransportTimeout

PLATFORM_NAME = "zephyr"
PROTOCOL_VERSION = 1
# TVM versions whose output this module runs (MLF 5-7); later ones have no microTVM.
OLDEST_TVM = (0, 13)


class _Tail(io.TextIOBase):
    """Where west's output goes when verbose is off: only its last lines are kept, to be
    added to the error message if the step fails."""

    def __init__(self, lines: int = 30) -> None:
        super().__init__()
        self.lines: collections.deque[str] = collections.deque(maxlen=lines)
        self._partial = ""

    def write(self, text: str) -> int:
        *complete, self._partial = (self._partial + text).split("\n")
        self.lines.extend(complete)
        return len(text)

    def text(self) -> str:
        return "\n".join(f"  | {line}" for line in [*self.lines, self._partial] if line)


@contextlib.contextmanager
def _output(log: TextIO, verbose: bool) -> Iterator[TextIO]:
    """west's output: to the log when verbose, else kept back and shown only on failure."""
    if verbose:
        yield log
        return
    tail = _Tail()
    try:
        yield tail
    except UtvmError as exc:
        if not tail.text():
            raise
        raise UtvmError(f"{exc}\nThe last lines of its output (all of it with the project "
                        f"option verbose=true):\n{tail.text()}") from exc


class ProjectHandler:
    def __init__(self, server_dir: Path, log: TextIO | None = None) -> None:
        self.server_dir = server_dir.absolute()
        self.log = log if log is not None else sys.stderr
        self.bridge = TransportBridge()
        self._flashed: SimulatedTarget | None = None  # a board this server's flash started
        self._linked: Target | None = None  # the board behind the open transport

    # -- what this folder is -------------------------------------------------------------
    @property
    def is_template(self) -> bool:
        return not ((self.server_dir / generate.MODEL_TAR).is_file()
                    and (self.server_dir / generate.PROJECT_RECORD).is_file())

    @property
    def build_dir(self) -> Path:
        return self.server_dir / generate.BUILD_DIR

    def methods(self) -> dict[str, Method]:
        maybe_number = (int, float, type(None))
        return {m.name: m for m in (
            Method("server_info_query", {"tvm_version": str}, self.server_info_query),
            Method("generate_project", {"model_library_format_path": str,
                                        "standalone_crt_dir": str, "project_dir": str,
                                        "options": dict}, self.generate_project),
            Method("build", {"options": dict}, self.build),
            Method("flash", {"options": dict}, self.flash),
            Method("open_transport", {"options": dict}, self.open_transport),
            Method("close_transport", {}, self.close_transport),
            Method("read_transport", {"n": int, "timeout_sec": maybe_number},
                   self.read_transport),
            Method("write_transport", {"data": str, "timeout_sec": maybe_number},
                   self.write_transport),
        )}

    # -- methods -------------------------------------------------------------------------
    def server_info_query(self, tvm_version: str) -> dict[str, Any]:
        version = re.match(r"^v?(\d+)\.(\d+)", tvm_version.strip())
        if version and (int(version[1]), int(version[2])) < OLDEST_TVM:
            raise UnsupportedTVMVersionError(
                f"TVM {tvm_version} is older than {OLDEST_TVM[0]}.{OLDEST_TVM[1]}: utvm runs "
                "the output of TVM 0.13 to 0.18. Use one of those.")
        return {
            "platform_name": PLATFORM_NAME,
            "is_template": self.is_template,
            "model_library_format_path": ("" if self.is_template else
                                          str(self.server_dir / generate.MODEL_TAR)),
            "project_options": options.server_info_options(),
            "protocol_version": PROTOCOL_VERSION,
        }

    def generate_project(self, model_library_format_path: str, standalone_crt_dir: str,
                         project_dir: str, options: dict[str, Any]) -> None:
        # standalone_crt_dir (TVM's C runtime) is not used: the module has its own.
        values = _parse("generate_project", options)
        caller = caller_directory()
        generate.generate_project(caller / model_library_format_path, caller / project_dir,
                                  values, self.server_dir / generate.SERVER_SCRIPT,
                                  self._module_dir())
        self._say(f"generated {project_dir} for {values['board']}")

    def build(self, options: dict[str, Any]) -> None:
        values = _parse("build", options)
        record = self._project(values)
        west = self._west(values)
        if self._build_for_loading(record, values, west):
            return
        self._say(f"building {self.server_dir} for {record.board} (west build)...")
        with _output(self.log, values["verbose"]) as out:
            outcome = west_utvm_build(BuildRequest(board=record.board,
                                                   build_dir=str(self.build_dir),
                                                   app=str(self.server_dir), west=west), out)
        how = "configured and built" if outcome.configured else "built"
        self._say(f"{how} {outcome.build_dir}")

    def flash(self, options: dict[str, Any]) -> None:
        values = _parse("flash", options)
        self._project(values)
        shared = self._trial_target(values)
        if shared is not None:
            with _output(self.log, values["verbose"]) as out:
                self._say(trial_firmware.start_if_stopped(shared[0], out))
            self._say(f"{shared[0].build.board} times are {shared[0].time_kind()}")
            return
        target = self._target(values)
        if isinstance(target, SimulatedTarget):
            ignored = [n for n in ("serial_number", "flash_runner") if values[n]]
            if ignored:
                self._say(f"{', '.join(ignored)} ignored: {target.build.board} is simulated "
                          "on this computer")
            # What flash starts belongs to this server: it stops when the transport closes,
            # when the server exits (even killed) or when the project is deleted.
            flash_options = FlashOptions(skip_rebuild=True, owner_pid=os.getpid())
            self._flashed = target
        else:
            flash_options = FlashOptions(values["flash_runner"], values["serial_number"],
                                         skip_rebuild=True)
        with _output(self.log, values["verbose"]) as out:
            message = target.flash(flash_options, out)
        self._say(message)
        self._say(f"{target.build.board} times are {target.time_kind()}")

    def open_transport(self, options: dict[str, Any]) -> dict[str, Any]:
        values = _parse("open_transport", options)
        self._project(values)
        shared = self._trial_target(values)
        if shared is not None:
            target, image = shared
            out = self.log if values["verbose"] else _Tail()
            trial_firmware.start_if_stopped(target, out)  # flash may not have been called
            try:
                timeouts = self.bridge.open(trial_firmware.loaded_link(target, image, out))
            except (SessionError, TransportTimeout, TransportClosed) as exc:
                # A candidate measured before may have crashed or hung the board: one new
                # start, then the error stands.
                self._say(f"the running {target.build.board} does not answer ("
                          f"{str(exc).splitlines()[0]}); starting it again")
                self._say(target.stop())
                self._say(trial_firmware.start_if_stopped(target, out))
                timeouts = self.bridge.open(trial_firmware.loaded_link(target, image, out))
            self._linked = target
            self._say(f"loaded {image.name} into the running {target.build.board}")
            return {"timeouts": asdict(timeouts)}
        target = self._target(values)
        baud = values["serial_baud"] or _devicetree_baud(target) or DEFAULT_BAUD
        link = target.link(LinkOptions(values["serial_port"], baud, values["serial_number"]),
                           self.log if values["verbose"] else _Tail())
        timeouts = self.bridge.open(link)
        self._linked = target
        return {"timeouts": asdict(timeouts)}

    def close_transport(self) -> None:
        self.bridge.close()
        flashed, self._flashed = self._flashed, None
        if flashed is not None:  # as TVM's Zephyr template: the session's board goes too
            self._say(flashed.stop())

    def read_transport(self, n: int, timeout_sec: float | None) -> dict[str, str]:
        with self._closing_said("read_transport"):
            return {"data": self.bridge.read(n, timeout_sec)}

    def write_transport(self, data: str, timeout_sec: float | None) -> None:
        with self._closing_said("write_transport"):
            self.bridge.write(data, timeout_sec)

    @contextlib.contextmanager
    def _closing_said(self, method: str) -> Iterator[None]:
        """The board's link going away is said here, on the server's output, which TVM
        shows: TVM's client keeps only the error's name (TransportClosedError), and AutoTVM's
        RPC server passes even that on as an RPCError with an empty message."""
        was_open = self.bridge.is_open
        try:
            yield
        except TransportClosedError as exc:
            if was_open and not self.bridge.is_open:
                self._say(f"error: the link to {self._board_state(exc.detail, method)}. TVM "
                          "gets TransportClosedError (through AutoTVM's RPC server: an "
                          "RPCError with an empty message)")
            raise

    def _board_state(self, detail: str, method: str) -> str:
        target = self._linked
        if target is None:
            return f"the board closed during {method} ({detail})"
        board = target.build.board
        said = f"{board} closed during {method} ({detail})"
        if not isinstance(target, SimulatedTarget):
            return f"{said}; look at the board's console output"
        simulator = target.started()
        if simulator is None:
            return (f"{said}; its output is in {target.build.state_dir / SIMULATOR_LOG} (the "
                    "simulator's log)")
        state = "is still running" if simulator.alive() else "has exited"
        return (f"{said}; the {target.kind} board (pid {simulator.pid}) {state}; its output is "
                f"in {simulator.log}")

    # -- helpers -------------------------------------------------------------------------
    def _module_dir(self) -> Path:
        if not self.is_template:
            return generate.ProjectRecord.read(self.server_dir).module
        return repo_root()

    def _project(self, values: dict[str, Any]) -> generate.ProjectRecord:
        if self.is_template:
            raise UtvmError(f"{self.server_dir} is the template, not a generated project: "
                            "generate a project first (tvm.micro.generate_project, or tvmc "
                            "micro create-project), then build, flash and run that.")
        record = generate.ProjectRecord.read(self.server_dir)
        if values["board"] and values["board"] != record.board:
            raise UtvmError(f"this project was generated for board {record.board}, not "
                            f"{values['board']}: generate another project for that board.")
        return record

    def _west(self, values: dict[str, Any]) -> West:
        base_option = values["zephyr_base"]
        if base_option:
            try:
                base = require_zephyr({"ZEPHYR_BASE": base_option})
            except UtvmError as exc:
                raise UtvmError(f"project option zephyr_base: {exc}") from exc
        else:
            base = require_zephyr()
        return West.for_zephyr(base, _west_prefix(values))

    def _build_for_loading(self, record: generate.ProjectRecord, values: dict[str, Any],
                           west: West) -> bool:
        """AutoTVM's candidate as an .llext for one shared running firmware
        (trial_firmware); False when this project is built and flashed as usual."""
        trial_record = self.server_dir / trial_firmware.TRIAL_RECORD
        trial_record.unlink(missing_ok=True)
        option = values["reuse_firmware"]
        if not trial_firmware.wanted(record.board, generate.is_operator_project(self.server_dir),
                                     option):
            return False
        from utvm.loadable.edk import read_edk
        from utvm.loadable.image import compile_image

        conf = (self.server_dir / generate.PROJECT_CONF).read_text(encoding="utf-8")
        arena = trial_firmware.project_arena(conf)
        zephyr_base = Path(west.env.get("ZEPHYR_BASE") or require_zephyr())
        folder = trial_firmware.firmware_dir(record.board, record.module, zephyr_base, arena)
        with _output(self.log, values["verbose"]) as out:
            firmware, built_now = trial_firmware.build_firmware(folder, record.board, arena,
                                                                west, out)
        if trial_firmware.simulated(firmware) is None:
            if option:
                raise UtvmError(f"project option reuse_firmware=true: {record.board} is not "
                                "simulated on this computer, so there is no running firmware "
                                "to keep. Leave it unset to build and flash every trial.")
            return False
        sources = sorted((self.server_dir / generate.MODEL_DIR / "codegen" / "host" /
                          "src").glob("*.c"))
        image = compile_image("candidate", sources, read_edk(firmware), self.build_dir)
        trial_firmware.TrialRecord(firmware.build_dir, image).write(self.server_dir)
        how = "built" if built_now else "reused"
        self._say(f"{how} the loadable firmware {firmware.build_dir}; compiled this candidate "
                  f"into {image} ({image.stat().st_size} bytes) to load into it")
        return True

    def _trial_target(self, values: dict[str, Any]) -> tuple[SimulatedTarget, Path] | None:
        """The shared running firmware and the candidate's image, when build made them."""
        record = trial_firmware.TrialRecord.read(self.server_dir)
        if record is None:
            return None
        build = read_build(record.firmware, must_be_built=True)
        prefix = _west_prefix(values)
        target = trial_firmware.simulated(
            build, West.for_zephyr(build.zephyr_base, prefix) if prefix else None)
        if target is None:
            raise UtvmError(f"{record.firmware} is no simulated board's build: build this "
                            "project again")
        return target, record.image

    def _target(self, values: dict[str, Any]) -> Target:
        build = read_build(self.build_dir, must_be_built=True)
        prefix = _west_prefix(values)
        west = West.for_zephyr(build.zephyr_base, prefix) if prefix else None
        return target_for(build, west)

    def _say(self, message: str) -> None:
        print(f"utvm: {message}", file=self.log, flush=True)


def caller_directory() -> Path:
    """Where TVM (the process that started this server) runs: relative paths it sends are
    meant from there, not from the server's folder. An absolute path joined to it stays
    itself."""
    try:
        return Path(os.readlink(f"/proc/{os.getppid()}/cwd"))
    except OSError:
        return Path.cwd()


def _parse(method: str, given: dict[str, Any]) -> dict[str, Any]:
    return options.parse_options(method, given)


def _devicetree_baud(target: Target) -> int | None:
    """The RPC UART's current-speed in the built devicetree, as TVM's template reads it."""
    dts = target.build.zephyr_dir / "zephyr.dts"
    uart = rpc_uart(dts)
    return uart_baud(dts, uart.label) if uart else None


def _west_prefix(values: dict[str, Any]) -> list[str] | None:
    """TVM's west_cmd: a command prefix split on spaces (e.g. "python3 -m west")."""
    command = values["west_cmd"]
    if not command:
        return None
    prefix = shlex.split(command)
    if not prefix or shutil.which(prefix[0]) is None:
        raise UtvmError(f"project option west_cmd={command!r}: {prefix[0] if prefix else ''} "
                        "is not a program on PATH. Give how to run west, e.g. "
                        f"\"{sys.executable} -m west\", or leave west_cmd unset.")
    return prefix
