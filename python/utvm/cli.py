"""The ``utvm`` command line: argument parsing and error reporting for all subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from utvm import __version__
from utvm.commands import info, run
from utvm.errors import UtvmError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

_DESCRIPTION = """\
Inspect and run TVM models packaged as Model Library Format (MLF): the .tar that
`tvmc compile --output-format mlf` or tvm.micro.export_model_library_format() writes,
or the folder it unpacks to.
"""

_EPILOG = """\
examples:
  utvm info model.tar                  what is inside: executor, inputs, outputs, memory
  utvm info model.tar --json           the same as JSON, for scripts
  utvm run model.tar                   run once on this computer with all-zero inputs
  utvm run model.tar --input x.npy     run on your own input (one --input per model input)
  utvm run model.tar --input x.npy --repeat 100 --output-dir out/

Run `utvm COMMAND --help` for the options of one command.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="utvm",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"utvm {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    info.register(commands)
    run.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``utvm`` console script; returns the process exit status."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        return arguments.handler(arguments)
    except UtvmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
