"""``utvm decode`` / ``west utvm decode``: expand error messages a board sent by reference."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from utvm.errors import UtvmError
from utvm.rpc.messages import MessageTable

_EPILOG = """\
examples:
  utvm decode --elf build/zephyr/zephyr.elf "error 0x803 #1d283005 4:data"
  west build -t run | utvm decode --elf build/zephyr/zephyr.elf
  west utvm decode "error 0x803 #1d283005 4:data"     the ELF of ./build

A runtime built with messages by reference (the default) reports a failure as
'error 0x<code> #<id> <arguments>': the text stays in the firmware's ELF. `utvm run` and
`west utvm run` expand it by themselves; this command does it for text from elsewhere (TVM's
own host, a console, a log). Lines without such references pass through unchanged.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "decode",
        help="expand error messages sent by reference, using the firmware's ELF",
        description="Replace each 'error 0x<code> #<id> ...' in the given text (or in "
        "standard input, line by line) with the message the firmware's ELF holds for it.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("text", nargs="*", metavar="TEXT",
                        help="text to expand (default: read standard input)")
    parser.add_argument("--elf", metavar="FILE",
                        help="the firmware's ELF (default: zephyr/zephyr.elf of the build)")
    parser.add_argument("-d", "--build-dir", metavar="DIR",
                        help="without --elf: the build whose ELF to read (default ./build)")
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    if arguments.elf:
        elf = Path(arguments.elf)
    else:
        from utvm.board.build_dir import find_build_dir, read_build

        elf = read_build(find_build_dir(arguments.build_dir), must_be_built=True).elf_path
    if not elf.is_file():
        raise UtvmError(f"{elf} does not exist: give the firmware's ELF with --elf.")
    table = MessageTable.from_elf(elf)
    if arguments.text:
        print(table.expand(" ".join(arguments.text)))
        return 0
    for line in sys.stdin:
        sys.stdout.write(table.expand(line))
        sys.stdout.flush()
    return 0
