"""``utvm flash`` / ``west utvm flash``: put the build on the board, or start the simulator."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from utvm.board.build_dir import find_build_dir, read_build
from utvm.board.targets import FlashOptions, SimulatedTarget, target_for
from utvm.errors import UtvmError

_DESCRIPTION = """\
Flash a build onto its board with `west flash` (rebuilding first unless --skip-rebuild).

Simulated boards are started instead: native_sim builds run as a program on this
computer, QEMU boards under `west build -t run`. Either keeps running in the background;
the command prints where its RPC is (a pseudo-terminal, or a TCP port for --link tcp
builds), and `west utvm run` finds it (and starts a rebuilt image in its place).
"""

_EPILOG = """\
examples:
  west utvm flash                              flash ./build with its default runner
  west utvm flash --runner jlink --dev-id 683123456
  west utvm flash --skip-rebuild               flash the existing image as it is
  west utvm flash -d build-sim                 a native_sim build: start it
  west utvm flash -d build-sim --stop          stop the simulator started before
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "flash", help="flash the build (west flash), or start a simulated board",
        description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-d", "--build-dir", metavar="DIR",
                        help="build directory (default: like west flash, normally ./build)")
    parser.add_argument("-r", "--runner", metavar="RUNNER",
                        help="west flash runner (default: the board's flash runner)")
    parser.add_argument("-i", "--dev-id", metavar="ID",
                        help="probe/board serial number (west flash --dev-id); `west utvm "
                        "run` then finds the board's serial port by it")
    parser.add_argument("--skip-rebuild", action="store_true",
                        help="flash the existing image without running west build first")
    parser.add_argument("--stop", action="store_true",
                        help="simulated boards: stop the one running for this build")
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    build = read_build(find_build_dir(arguments.build_dir))
    target = target_for(build)
    if arguments.stop:
        if not isinstance(target, SimulatedTarget):
            raise UtvmError(f"{build.board} is real hardware: --stop is for simulated boards.")
        print(f"utvm: {target.stop()}", file=sys.stderr)
        return 0
    if arguments.skip_rebuild and not build.elf_path.is_file():
        raise UtvmError(f"--skip-rebuild, but {build.build_dir} has no image yet: build first.")
    message = target.flash(FlashOptions(arguments.runner, arguments.dev_id,
                                        arguments.skip_rebuild), sys.stdout)
    print(f"utvm: {message}", file=sys.stderr)
    return 0
