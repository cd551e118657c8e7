"""``utvm footprint`` / ``west utvm footprint``: ROM and RAM of a build, part by part."""

from __future__ import annotations

import argparse
import json
from typing import Any

from utvm.board.build_dir import find_build_dir, read_build
from utvm.board.builder import cached_model_dir
from utvm.board.footprint import measure_build

_DESCRIPTION = """\
Show how much ROM and RAM a build's image uses, split into the utvm runtime, the model
(TVM's generated code and its constants and workspace), Zephyr (kernel, drivers, C library,
other modules) and the application. Read from the image with pyelftools: each function and
variable is attributed to its source file through the debug information, and bytes without
a symbol (strings, tables) through the linker map. What nothing explains is "other".
"""

_EPILOG = """\
examples:
  west utvm footprint
  west utvm footprint -d build-f746 --json | jq '.parts.model'

ROM counts code, constants and the initial values of data; RAM counts data, bss and
noinit. On native_sim the image is a host program: "other" holds its dynamic linking.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "footprint", help="ROM/RAM of the image: runtime, model, Zephyr, app",
        description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-d", "--build-dir", metavar="DIR",
                        help="build directory (default: like west build, normally ./build)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    build = read_build(find_build_dir(arguments.build_dir), must_be_built=True)
    footprint = measure_build(build, cached_model_dir(build))
    if arguments.json:
        report = footprint.to_json()
        report["board"] = build.board
        print(json.dumps(report, indent=2))
    else:
        print(f"footprint of {footprint.elf} ({build.board})")
        print(footprint.table())
        if footprint.buffers:
            print()
            print(footprint.buffer_table())
    return 0
