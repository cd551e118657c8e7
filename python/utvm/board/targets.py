"""What "flash" and "the board's link" mean for each kind of board, as strategy classes:

- `NativeSimTarget`: native_sim builds are host programs; flashing starts one in the
  background and its RPC UART is a pseudo-terminal (a standalone app, which prints its
  results, runs in the foreground instead).
- `QemuTarget`: QEMU boards run under `west build -t run`; the build gives the RPC UART
  (the board's second UART) a pseudo-terminal and QEMU instruction counting through
  QEMU_EXTRA_FLAGS (`qemu_machine`: not where QEMU runs another core too).
- `EmulatedBoardTarget`: a board Zephyr cannot flash but QEMU emulates under its name
  (mps2/an386): utvm runs QEMU itself, set up the same way.
- `HardwareTarget`: `west flash`; the link is the serial port from --port, or the one
  whose USB serial number is the probe's (--dev-id), or the only USB serial port.

A build made with `--link tcp` serves RPC over TCP instead (`utvm.board.network`): QEMU then
runs with its user networking forwarding a free port of this computer, chosen when the board
starts and kept in the simulator's record, to the board's RPC port; a real board is reached
at the address given with --port tcp:ADDRESS:PORT.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from utvm.board.build_dir import ZephyrBuild
from utvm.board.devicetree import RpcUart, rpc_uart
from utvm.board.network import (
    LOCALHOST,
    forward_busy,
    forwarded_command,
    free_local_port,
    guest_port,
    serves_tcp,
)
from utvm.board.qemu_machine import QEMU_ICOUNT_FLAGS, other_cpus, qemu_run_command
from utvm.board.runners import read_runners
from utvm.board.serial_ports import PortLister, find_port, list_serial_ports
from utvm.board.simulator import (
    PtyPicker,
    RunningSimulator,
    native_sim_pty_picker,
    qemu_pty_picker,
    start_simulator,
)
from utvm.board.state import (
    BUILD_RECORD,
    FLASH_RECORD,
    SIMULATOR_RECORD,
    read_record,
    record_path,
    remove_record,
    write_record,
)
from utvm.board.zephyr_env import West, failure_message, run_streamed
from utvm.device_text import EscapedStream
from utvm.errors import UtvmError
from utvm.transport import PtyTransport, SerialTransport, TcpTransport, Transport

DEFAULT_BAUD = 115200
SIMULATOR_LOG = "simulator.log"


def qemu_serial_index(uart_label: str) -> int | None:
    """The -serial port QEMU connects to the devicetree's ``uart<N>``: N (QEMU's Arm machines
    wire their N-th UART to the N-th serial port: mps2, lm3s6965); None for other names."""
    found = re.fullmatch(r"uart_?(\d+)", uart_label)
    return int(found.group(1)) if found else None


# Boards whose image is a program of this computer (Zephyr's POSIX architecture).
HOST_PROGRAM_BOARDS = ("native_sim", "native_posix", "nrf52_bsim")


def runs_on_this_computer(board: str) -> bool:
    return board.split("/")[0] in HOST_PROGRAM_BOARDS


def board_looks_like_qemu(board: str, build: ZephyrBuild | None) -> bool:
    """From the configured build when there is one, else from the board's name."""
    if build is not None and build.kconfig():
        return build.kconfig_enabled("CONFIG_QEMU_TARGET")
    return board.split("/")[0].startswith("qemu")


@dataclass
class FlashOptions:
    runner: str | None = None
    dev_id: str | None = None
    skip_rebuild: bool = False
    #: A simulated board started in the background stops when this process exits (the
    #: Project API server); it always stops when its build folder is deleted.
    owner_pid: int | None = None


@dataclass
class LinkOptions:
    port: str | None = None
    baud: int = DEFAULT_BAUD
    dev_id: str | None = None
    lister: PortLister = list_serial_ports


def open_port(port: str, baud: int = DEFAULT_BAUD) -> Transport:
    """--port: a serial device or any pyserial URL, or tcp:HOST:PORT for a TCP bridge."""
    if port.startswith("tcp:"):
        host, _, number = port[4:].rpartition(":")
        if not host or not number.isdigit():
            raise UtvmError(f"--port {port}: write a TCP link as tcp:HOST:PORT")
        return TcpTransport(host, int(number))
    return SerialTransport(port, baud)


class Target(abc.ABC):
    kind: str
    #: Seconds a session handshake may take (a simulator may still be booting).
    start_timeout = 10.0

    def time_kind(self) -> str:
        """Which kind of time the board's timer gives (said by `run` and the Project API)."""
        return "real time, measured by the board's own timer"

    def time_note(self, seconds: float) -> str:
        """What kind of time the board's timer measured, said after a figure."""
        return f"times are {self.time_kind()}"

    def __init__(self, build: ZephyrBuild, west: West | None = None) -> None:
        self.build = build
        self._west = west  # how to run west when the caller says (Project API west_cmd)

    @abc.abstractmethod
    def flash(self, options: FlashOptions, out: TextIO) -> str:
        """Put the image on the board (or start it); returns a line for the user."""

    @abc.abstractmethod
    @contextmanager
    def link(self, options: LinkOptions, out: TextIO) -> Iterator[Transport]:
        """An open byte link to the board's RPC UART, closed on exit."""

    @property
    def west(self) -> West:
        return self._west or West.for_zephyr(self.build.zephyr_base)

    def _rebuild(self, out: TextIO) -> None:
        args = ["build", "-d", str(self.build.build_dir)]
        result = self.west.run(args, out)
        if result.returncode != 0:
            raise UtvmError(failure_message("west build", self.west.command(*args), result,
                                            "Fix the build, or flash as it is with "
                                            "--skip-rebuild."))

    def _explicit_port(self, options: LinkOptions) -> Transport | None:
        return open_port(options.port, options.baud) if options.port else None


class SimulatedTarget(Target):
    """Shared by native_sim and QEMU: a background process whose UART is a PTY."""

    start_timeout = 30.0

    @abc.abstractmethod
    def _start(self, out: TextIO) -> RunningSimulator:
        """Starts the simulator for this build."""

    def started(self) -> RunningSimulator | None:
        """The board flash started, whether it still runs or not (its record outlives it)."""
        return RunningSimulator.from_record(read_record(self.build.state_dir,
                                                        SIMULATOR_RECORD))

    def running(self) -> RunningSimulator | None:
        simulator = self.started()
        return simulator if simulator is not None and simulator.alive() else None

    def stop(self) -> str:
        simulator = self.running()
        remove_record(self.build.state_dir, SIMULATOR_RECORD)
        if simulator is None:
            return f"no {self.kind} board of {self.build.build_dir} is running"
        simulator.stop()
        return f"stopped the {self.kind} board (pid {simulator.pid})"

    @abc.abstractmethod
    def _foreground_command(self) -> list[str]:
        """How to run the simulator with its output on this terminal."""

    def flash(self, options: FlashOptions, out: TextIO) -> str:
        if options.runner or options.dev_id:
            raise UtvmError(f"{self.build.board} is simulated on this computer: --runner and "
                            "--dev-id do not apply.")
        if not options.skip_rebuild:
            self._rebuild(out)
        record = read_record(self.build.state_dir, BUILD_RECORD) or {}
        if record.get("host_driven") is False:
            return self._run_in_foreground(out)
        previous = self.running()
        if previous is not None:
            print(f"utvm: stopping the {self.kind} board started before (pid {previous.pid})",
                  file=out, flush=True)
            previous.stop()
        simulator = self._start(out)
        simulator.stop_when_gone(self.build.build_dir, options.owner_pid)
        write_record(self.build.state_dir, SIMULATOR_RECORD, simulator.to_record())
        return (f"{self.build.board} is running in the background (pid {simulator.pid}); its "
                f"RPC is on {rpc_endpoint(simulator)}. Its output goes to {simulator.log}. "
                "`west utvm run` talks to it; `west utvm flash --stop` stops it.")

    def _run_in_foreground(self, out: TextIO) -> str:
        """A standalone app (aot_inference) prints its results: show them as they come."""
        print(f"utvm: running {self.build.board} here; its output follows (Ctrl-C stops it)",
              file=out, flush=True)
        west = self.west
        try:
            # The board's console is device text: shown with control characters escaped.
            result = run_streamed(self._foreground_command(), EscapedStream(out), cwd=west.cwd,
                                  env=west.env)
        except KeyboardInterrupt:
            return f"stopped {self.build.board}"
        if result.returncode != 0:  # the app's own status (aot_inference: 1 for FAIL)
            raise UtvmError(f"{self.build.board} exited with status {result.returncode}: see "
                            "the app's output above.")
        return f"{self.build.board} exited with status 0"

    @contextmanager
    def link(self, options: LinkOptions, out: TextIO) -> Iterator[Transport]:
        explicit = self._explicit_port(options)
        if explicit is not None:
            with explicit:
                yield explicit
            return
        simulator = self.running()
        if simulator is not None and self._rebuilt_since_started():
            # A build since flash changed the firmware: a session with the old one would run
            # the model it was built with, not the one just built.
            print(f"utvm: the {self.kind} board started by flash (pid {simulator.pid}) runs "
                  "the firmware from before the last build; starting the new one in its place",
                  file=out, flush=True)
            self.flash(FlashOptions(skip_rebuild=True), out)
            simulator = self.running()
        if simulator is not None:
            print(f"utvm: using the {self.kind} board started by flash (pid {simulator.pid}, "
                  f"{rpc_endpoint(simulator)})", file=out, flush=True)
            with self._rpc_transport(simulator) as transport:
                yield transport
            return
        # Nothing running: start it for this run only.
        simulator = self._start(out)
        simulator.stop_when_gone(self.build.build_dir, os.getpid())  # even if we are killed
        print(f"utvm: started {self.build.board} for this run (pid {simulator.pid}, "
              f"{rpc_endpoint(simulator)})", file=out, flush=True)
        try:
            with self._rpc_transport(simulator) as transport:
                yield transport
        finally:
            simulator.stop()

    def _rebuilt_since_started(self) -> bool:
        """Whether the build's image is newer than the board flash started (its record)."""
        try:
            started = record_path(self.build.state_dir, SIMULATOR_RECORD).stat().st_mtime_ns
            return self.build.elf_path.stat().st_mtime_ns > started
        except OSError:
            return False

    def _rpc_transport(self, simulator: RunningSimulator) -> Transport:
        """The board's RPC UART (a pseudo-terminal), or its forwarded TCP port, tried for as
        long as a session may take to start (the board may still be booting)."""
        if simulator.tcp_port:
            transport = TcpTransport(LOCALHOST, simulator.tcp_port,
                                     boot_wait=self.start_timeout)
            transport.hint = (f"is the {self.kind} board (pid {simulator.pid}) still running "
                              f"and serving RPC? Its output is in {simulator.log}")
            return transport
        return PtyTransport(simulator.pty)


class NativeSimTarget(SimulatedTarget):
    kind = "native_sim"

    def time_kind(self) -> str:
        if self.build.kconfig_enabled("CONFIG_UTVM_TIMER_HOST_CLOCK"):
            return ("this computer's monotonic clock (native_sim's own clock stands still while "
                    "code runs): how long the code took here, not on a real board")
        return ("none: native_sim's clock stands still while code runs and this build does "
                "not time with this computer's clock, so the board's time evaluator fails. "
                "Rebuild with CONFIG_UTVM_TIMER_HOST_CLOCK=y (the default)")

    def _foreground_command(self) -> list[str]:
        return [str(self.build.exe_path)]

    def _start(self, out: TextIO) -> RunningSimulator:
        executable = self.build.exe_path
        if not executable.is_file():
            raise UtvmError(f"{executable} does not exist: build first (`west utvm build`).")
        uart = rpc_uart(self.build.zephyr_dir / "zephyr.dts")
        return start_simulator(self.kind, [str(executable)],
                               self.build.state_dir / SIMULATOR_LOG,
                               native_sim_pty_picker(uart.node_name if uart else None),
                               cwd=self.build.app_dir)


class QemuTarget(SimulatedTarget):
    kind = "qemu"

    def time_kind(self) -> str:
        return ("QEMU's clock: instructions counted where QEMU counts them (-icount), else how "
                "long emulating took on this computer; not a real board's time")

    def _checked_rpc_uart(self) -> RpcUart | None:
        """The RPC UART, refused when it is the console QEMU shares with its monitor."""
        uart = rpc_uart(self.build.zephyr_dir / "zephyr.dts")
        if uart is not None and uart.is_console:
            raise UtvmError(
                f"the RPC UART of this {self.build.board} build is its console, which QEMU "
                "shares with its monitor (byte 0x01 is the monitor's escape, so binary RPC "
                "frames break). Give RPC the board's second UART with an overlay choosing "
                "zephyr,utvm-uart, as samples/rpc_server/boards/ does for qemu_cortex_m3 and "
                "mps2/an385.")
        return uart

    def icount_shift(self) -> int | None:
        """2^shift ns of board time per instruction, or None when QEMU's clock follows the
        host's: `west utvm build`'s -icount, else the board's own (CONFIG_QEMU_ICOUNT)."""
        flags = self.build.cache.get("QEMU_EXTRA_FLAGS", "").split(";")
        shifts = [re.match(r"shift=(\d+)", flags[i + 1]) for i, flag in enumerate(flags[:-1])
                  if flag == "-icount"]
        if shifts and shifts[-1]:
            return int(shifts[-1].group(1))
        if self.build.kconfig_enabled("CONFIG_QEMU_ICOUNT"):
            return int(self.build.kconfig().get("CONFIG_QEMU_ICOUNT_SHIFT", "0") or 0)
        return None

    def time_note(self, seconds: float) -> str:
        shift = self.icount_shift()
        command = qemu_run_command(self.build.app_dir)
        others = other_cpus(command) if command is not None else None
        if others is not None:
            return (f"QEMU runs {others} here, and its clock advances with every CPU's "
                    "instructions: the time is neither this CPU's instructions nor a real "
                    "board's time")
        if shift is None:
            return ("QEMU's clock follows this computer's here (no -icount): the time is how "
                    "long emulating took, not how long a real board would take")
        instructions = round(seconds * 1e9 / (1 << shift))
        return (f"QEMU counts instructions (-icount shift={shift}, {1 << shift} ns of board "
                f"time per instruction): {instructions:,} instructions per inference; not wall "
                "time, and not cycles of a real board")

    def _foreground_command(self) -> list[str]:
        return self.west.command("build", "-d", str(self.build.build_dir), "-t", "run")

    def _start(self, out: TextIO) -> RunningSimulator:
        uart = self._checked_rpc_uart()
        if not self._has_pty_serial():
            raise UtvmError("this QEMU build gives no UART a pseudo-terminal: rebuild it with "
                            "`west utvm build` (it adds QEMU_EXTRA_FLAGS=\"-serial pty\").")
        west = self.west
        picker = qemu_pty_picker(qemu_serial_index(uart.label) if uart else None)
        if serves_tcp(self.build):
            command = qemu_run_command(self.build.app_dir)
            if command is None:
                raise UtvmError(f"{self.build.app_dir / 'build.ninja'} has no QEMU command: "
                                "build again with `west utvm build --link tcp`.")
            print(f"utvm: starting QEMU with this computer's port forwarded to the board's "
                  f"RPC port {guest_port(self.build)}", file=out, flush=True)
            return start_forwarding(self.kind, lambda port: forwarded_command(command, port),
                                    self.build.state_dir / SIMULATOR_LOG, picker,
                                    self.build.app_dir, west.env)
        command = west.command("build", "-d", str(self.build.build_dir), "-t", "run")
        print(f"utvm: starting QEMU: west build -d {self.build.build_dir} -t run", file=out,
              flush=True)
        return start_simulator(self.kind, command, self.build.state_dir / SIMULATOR_LOG,
                               picker, cwd=west.cwd, env=west.env)

    def _has_pty_serial(self) -> bool:
        """QEMU_EXTRA_FLAGS from `west utvm build`'s cache entry, or from the environment of
        whoever configured the build (then only the generated run command shows it)."""
        if "pty" in self.build.cache.get("QEMU_EXTRA_FLAGS", "").split(";"):
            return True
        try:
            ninja = (self.build.app_dir / "build.ninja").read_text(errors="replace")
        except OSError:
            return True  # another generator: let QEMU's own output decide
        return "-serial pty" in ninja


class EmulatedBoardTarget(QemuTarget):
    """A board Zephyr can neither flash nor run in QEMU, but whose machine QEMU emulates
    under the board's name (mps2/an386: Zephyr runs it only in Arm's FVP; QEMU has
    mps2-an386). utvm starts QEMU itself, as Zephyr's QEMU boards are started: the console
    with the monitor, a pseudo-terminal for the second UART, instruction counting, and
    semihosting so that a standalone app can end QEMU with its status."""

    def __init__(self, build: ZephyrBuild, qemu: str, machine: str,
                 west: West | None = None) -> None:
        super().__init__(build, west)
        self.qemu = qemu
        self.machine = machine

    def icount_shift(self) -> int | None:
        return 0

    def _command(self, tcp_port: int = 0) -> list[str]:
        """With ``tcp_port`` (a --link tcp build), QEMU's user networking on the machine's
        Ethernet controller, forwarding that port of this computer to the board's RPC port."""
        network = ["-net", "none"]
        if tcp_port:
            model = self.build.kconfig().get("CONFIG_ETH_NIC_MODEL") or "lan9118"
            network = ["-nic", f"user,model={model},hostfwd=tcp:{LOCALHOST}:{tcp_port}-:"
                       f"{guest_port(self.build)}"]
        return [self.qemu, "-machine", self.machine, "-nographic", "-vga", "none", *network,
                "-chardev", "stdio,id=con,mux=on", "-serial", "chardev:con", "-mon",
                "chardev=con,mode=readline", "-serial", "pty",
                *QEMU_ICOUNT_FLAGS.split(";"), "-semihosting-config", "enable=on,target=native",
                "-kernel", str(self.build.elf_path)]

    def _foreground_command(self) -> list[str]:
        return self._command()

    def _start(self, out: TextIO) -> RunningSimulator:
        uart = self._checked_rpc_uart()
        if not self.build.elf_path.is_file():
            raise UtvmError(f"{self.build.elf_path} does not exist: build first "
                            "(`west utvm build`).")
        print(f"utvm: starting QEMU's {self.machine} for {self.build.board}", file=out,
              flush=True)
        picker = qemu_pty_picker(qemu_serial_index(uart.label) if uart else None)
        if serves_tcp(self.build):
            return start_forwarding(self.kind, self._command,
                                    self.build.state_dir / SIMULATOR_LOG, picker,
                                    self.build.app_dir, None)
        return start_simulator(self.kind, self._command(), self.build.state_dir / SIMULATOR_LOG,
                               picker, cwd=self.build.app_dir)


def emulated_machine(build: ZephyrBuild) -> tuple[str, str] | None:
    """(QEMU program, machine) for a board Zephyr cannot flash (no runners.yaml, or no flash
    runner in it) whose name QEMU knows as a machine (``mps2/an386`` -> ``mps2-an386``);
    None otherwise."""
    if not build.kconfig_enabled("CONFIG_ARM"):
        return None
    runners = read_runners(build.zephyr_dir)  # mps2/an386 has none at all
    if runners is not None and runners.flash_runner:
        return None
    qemu = shutil.which("qemu-system-arm")
    if qemu is None:
        return None
    machine = "-".join(build.board.split("/")[:2])
    return (qemu, machine) if machine in _qemu_machines(qemu) else None


@functools.cache
def _qemu_machines(qemu: str) -> frozenset[str]:
    try:
        listing = subprocess.run([qemu, "-machine", "help"], capture_output=True, text=True,
                                 timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(line.split()[0] for line in listing.splitlines()[1:] if line.strip())


class HardwareTarget(Target):
    kind = "hardware"

    def flash(self, options: FlashOptions, out: TextIO) -> str:
        args = ["flash", "-d", str(self.build.build_dir)]
        if options.runner:
            args += ["--runner", options.runner]
        if options.dev_id:
            args += ["--dev-id", options.dev_id]
        if options.skip_rebuild:
            args.append("--skip-rebuild")
        result = self.west.run(args, out)
        if result.returncode != 0:
            raise UtvmError(failure_message(
                "west flash", self.west.command(*args), result,
                "Is the board connected and its probe's tools installed? `west flash "
                "--context` lists the runners and their options; pick one with --runner."))
        write_record(self.build.state_dir, FLASH_RECORD,
                     {"runner": options.runner, "dev_id": options.dev_id})
        return f"flashed {self.build.board}; `west utvm run` talks to it over its serial port."

    def dev_id(self, options: LinkOptions) -> tuple[str | None, str]:
        if options.dev_id:
            return options.dev_id, "--dev-id"
        flashed = read_record(self.build.state_dir, FLASH_RECORD) or {}
        if flashed.get("dev_id"):
            return str(flashed["dev_id"]), "the --dev-id of `west utvm flash`"
        runners = read_runners(self.build.zephyr_dir)
        if runners is not None:
            runner = flashed.get("runner") or runners.flash_runner
            number = runners.serial_number(runner)
            if number:
                return number, f"the {runner} runner's arguments in runners.yaml"
        return None, ""

    @contextmanager
    def link(self, options: LinkOptions, out: TextIO) -> Iterator[Transport]:
        transport = self._explicit_port(options)
        if transport is None and serves_tcp(self.build):
            raise UtvmError(f"this {self.build.board} build serves RPC over TCP (port "
                            f"{guest_port(self.build)}): give the board's address with --port "
                            f"tcp:ADDRESS:{guest_port(self.build)} (the board logs it on its "
                            "console when its network is up).")
        if transport is None:
            dev_id, origin = self.dev_id(options)
            choice = find_port(dev_id, options.lister, origin or "--dev-id")
            print(f"utvm: using serial port {choice.device} ({choice.reason})", file=out,
                  flush=True)
            transport = SerialTransport(choice.device, options.baud)
        with transport:
            yield transport


def rpc_endpoint(simulator: RunningSimulator) -> str:
    """Where a simulated board serves RPC, for messages."""
    if simulator.tcp_port:
        return f"tcp:{LOCALHOST}:{simulator.tcp_port}"
    return simulator.pty


_FORWARD_ATTEMPTS = 3


def start_forwarding(kind: str, command_for: Callable[[int], list[str]], log: Path,
                     picker: PtyPicker, cwd: Path, env: Mapping[str, str] | None
                     ) -> RunningSimulator:
    """Starts QEMU forwarding a port of this computer that is free now; another port when
    QEMU finds it taken meanwhile. The simulator's record keeps the port."""
    for _ in range(_FORWARD_ATTEMPTS):
        port = free_local_port()
        command = command_for(port)
        try:
            simulator = start_simulator(kind, command, log, picker, cwd=cwd, env=env)
        except UtvmError:
            if log.is_file() and forward_busy(log.read_text(errors="replace")):
                continue
            raise
        return dataclasses.replace(simulator, tcp_port=port)
    raise UtvmError(f"QEMU could not forward a port of this computer to the board "
                    f"{_FORWARD_ATTEMPTS} times (each taken before QEMU bound it). Its output "
                    f"is in {log}; try again.")


def target_for(build: ZephyrBuild, west: West | None = None) -> Target:
    if build.kconfig_enabled("CONFIG_ARCH_POSIX"):
        return NativeSimTarget(build, west)
    if build.kconfig_enabled("CONFIG_QEMU_TARGET"):
        return QemuTarget(build, west)
    emulated = emulated_machine(build)
    if emulated is not None:
        return EmulatedBoardTarget(build, *emulated, west=west)
    return HardwareTarget(build, west)

