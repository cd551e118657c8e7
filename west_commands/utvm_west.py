"""`west utvm`: the west front end of utvm's host package (python/utvm).

Only argument parsing lives here; every subcommand is the package's own (`utvm.cli`), so
`west utvm X` and `python -m utvm X` behave the same. When the package is not installed,
it is used straight from this module's python/ folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import ModuleType

from west.commands import CommandError, WestCommand

_PACKAGE_PARENT = Path(__file__).resolve().parent.parent / "python"
_HELP = "build, flash and run TVM models on Zephyr boards (utvm)"


def _load_cli() -> tuple[ModuleType | None, str]:
    """utvm.cli, or None and why it could not be imported."""
    try:
        from utvm import cli
    except ImportError:
        sys.path.insert(0, str(_PACKAGE_PARENT))
        try:
            from utvm import cli
        except ImportError as exc:
            return None, str(exc)
    return cli, ""


class UtvmCommand(WestCommand):
    def __init__(self) -> None:
        super().__init__("utvm", _HELP, "Build, flash and run TVM models on Zephyr boards.")
        self._cli, self._import_error = _load_cli()

    def do_add_parser(self, parser_adder):
        cli = self._cli
        if cli is None:  # still give west a parser; do_run explains what is missing
            parser = parser_adder.add_parser(
                self.name, help=self.help,
                description=f"{self.description}\n\nNot usable yet: {self._missing()}",
                formatter_class=argparse.RawDescriptionHelpFormatter)
            parser.add_argument("anything", nargs=argparse.REMAINDER)
            return parser
        parser = parser_adder.add_parser(
            self.name, help=self.help, description=cli.DESCRIPTION,
            epilog=cli.EPILOG_TEMPLATE.format(prog="west utvm"),
            formatter_class=argparse.RawDescriptionHelpFormatter)
        # Not "command": west's own parser keeps the west command's name there.
        commands = parser.add_subparsers(dest="utvm_command", metavar="COMMAND")
        commands.required = True
        cli.add_commands(commands)
        return parser

    def _missing(self) -> str:
        """What cannot be imported, and the install command for the Python west runs in."""
        return (f"the utvm host package cannot be imported ({self._import_error}). Install it "
                f"and what it needs into the Python west runs in: {sys.executable} -m pip "
                f"install -e {_PACKAGE_PARENT}")

    def do_run(self, args, unknown):
        if self._cli is None:
            self.die(self._missing())
        status = self._cli.dispatch(args)
        if status:
            raise CommandError(returncode=status)
