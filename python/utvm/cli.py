"""The ``utvm`` command line: argument parsing and error reporting for all subcommands.

The same subcommands are `west utvm ...` (west_commands/ only parses with the parser built
here and calls `dispatch`), so they behave the same with and without west.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from utvm import __version__
from utvm.commands import build, decode, flash, footprint, info, run
from utvm.errors import UtvmError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

DESCRIPTION = """\
Build, flash and run TVM models on Zephyr boards, and inspect them. Models are TVM Model
Library Format (MLF) exports — the .tar that `tvmc compile --output-format mlf` or
tvm.micro.export_model_library_format() writes, or the folder it unpacks to — or .tflite /
.onnx files that your own TVM 0.18 (TVM_HOME) compiles.
"""

EPILOG_TEMPLATE = """\
examples:
  on this computer:
  {prog} info model.tar                  what is inside: executor, inputs, outputs, memory
  {prog} run model.tar --input x.npy     run it here (host board over RPC)

  on a Zephyr board (from inside your west workspace, or with ZEPHYR_BASE set):
  {prog} build -b native_sim --mlf model.tar      build the RPC server app with the model
  {prog} flash                                    flash it (simulators: start it)
  {prog} run --input x.npy                        run it on the board from here
  {prog} footprint                                ROM/RAM: runtime, model, Zephyr, app
  {prog} decode "error 0x803 #..."                 expand an error message sent by reference

Run `{prog} COMMAND --help` for the options of one command.
"""


def add_commands(commands: Any) -> None:
    """Adds every subcommand to an argparse subparsers object (utvm's or west's)."""
    for module in (build, flash, run, info, footprint, decode):
        module.register(commands)


def build_parser(prog: str = "utvm") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        epilog=EPILOG_TEMPLATE.format(prog=prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"utvm {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    add_commands(commands)
    return parser


def dispatch(arguments: argparse.Namespace) -> int:
    """Runs a parsed subcommand; problems the user can fix become `error: ...` and status 2."""
    try:
        return arguments.handler(arguments)
    except UtvmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`utvm info ... | head`): stop quietly, as Python's docs advise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``utvm`` console script; returns the process exit status."""
    return dispatch(build_parser().parse_args(argv))
