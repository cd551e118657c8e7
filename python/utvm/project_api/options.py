"""The project options this server offers, and turning what a client sends into values.

TVM's clients send every option they know of to every method (``GeneratedProject`` fills
each unset one with its default, so most arrive as ``null``), and ``tvmc`` sends values as
strings (``"4096"``, ``"true"``). So every method accepts every option of the list below and
ignores those it does not use; an option *not* in the list is refused, naming the ones
there are, since that is a typo or a TVM template's option this module does not have.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from utvm.errors import UtvmError

OptionType = Literal["bool", "str", "int"]

GENERATE, BUILD, FLASH, OPEN = "generate_project", "build", "flash", "open_transport"
# generate_project only writes files: west and Zephyr are needed from build on.
WEST_METHODS = [BUILD, FLASH, OPEN]

PROJECT_TYPES = ["host_driven"]


@dataclass(frozen=True)
class ProjectOption:
    """What ``server_info_query`` lists for one option (TVM's ProjectOption fields)."""

    name: str
    type: OptionType
    help: str
    required: list[str] | None = None
    optional: list[str] | None = None
    choices: list[Any] | None = None
    default: Any = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


OPTIONS: tuple[ProjectOption, ...] = (
    ProjectOption("board", "str", required=[GENERATE], optional=[BUILD, FLASH, OPEN],
                  help="Zephyr board to build for (any board your Zephyr knows, e.g. "
                  "native_sim, nucleo_f746zg, qemu_cortex_m3). Later methods check that it "
                  "matches the project's board."),
    ProjectOption("project_type", "str", optional=[GENERATE], choices=PROJECT_TYPES,
                  default="host_driven",
                  help="Which application to generate: host_driven (utvm's RPC server sample "
                  "with the model; TVM's host drives it)."),
    ProjectOption("verbose", "bool", optional=[GENERATE, BUILD, FLASH, OPEN], default=False,
                  help="Show west's and CMake's output as they run (errors are always "
                  "shown)."),
    ProjectOption("west_cmd", "str", optional=WEST_METHODS, default=None,
                  help="How to run west, split on spaces (default: this Python's west "
                  "module, else `west` on PATH)."),
    ProjectOption("zephyr_base", "str", optional=[BUILD], default=None,
                  help="The zephyr/ folder of your west workspace (default: $ZEPHYR_BASE, "
                  "else the workspace of the current directory); flash and open_transport "
                  "use the Zephyr the build was made with."),
    ProjectOption("serial_number", "str", optional=[FLASH, OPEN], default=None,
                  help="USB serial number of the board's probe: west flash --dev-id, and "
                  "the serial port whose USB serial number it is."),
    ProjectOption("serial_port", "str", optional=[OPEN], default=None,
                  help="The board's RPC UART, when it cannot be found by serial number: a "
                  "device (/dev/ttyACM0, COM3), any pyserial URL, or tcp:HOST:PORT."),
    ProjectOption("serial_baud", "int", optional=[OPEN], default=None,
                  help="Baud rate of the serial port (default: current-speed of the RPC UART "
                  "in the built devicetree, else 115200)."),
    ProjectOption("flash_runner", "str", optional=[FLASH], default=None,
                  help="west flash --runner (default: the board's own flash runner)."),
    ProjectOption("reuse_firmware", "bool", optional=WEST_METHODS, default=None,
                  help="AutoTVM's operator-style projects on a board that can load code "
                  "(LLEXT) and is simulated here, e.g. mps2/an385 in QEMU: build one loadable "
                  "firmware once, keep it running and load each candidate into it instead of "
                  "building and flashing a firmware per trial. Default: wherever possible "
                  "(elsewhere, e.g. native_sim, every trial is built and flashed); false: "
                  "build and flash every trial; true: an error where it is not possible."),
    ProjectOption("config_main_stack_size", "int", optional=[GENERATE], default=None,
                  help="CONFIG_MAIN_STACK_SIZE in bytes (the RPC server and the model's "
                  "operators run on the main thread; default: the sample's 8192)."),
    ProjectOption("arena_size_bytes", "int", optional=[GENERATE], default=None,
                  help="CONFIG_UTVM_ARENA_SIZE: runtime memory for tensors, workspace and "
                  "what the host allocates (default: enough for this model)."),
    ProjectOption("workspace_size_bytes", "int", optional=[GENERATE], default=None,
                  help="TVM's Zephyr template name for the same memory as arena_size_bytes "
                  "(give one of the two)."),
    ProjectOption("compile_definitions", "str", optional=[GENERATE], default=None,
                  help="Extra preprocessor definitions for the application, e.g. "
                  "FOO=1 (a list, or a string of items separated by spaces or ';')."),
    ProjectOption("cmsis_nn", "bool", optional=[GENERATE], default=None,
                  help="The model was compiled with TVM's CMSIS-NN partitioning (tvmc --target "
                  "'cmsis-nn, c'; relay.build targets c, then cmsis-nn): link Zephyr's "
                  "cmsis-nn module with exactly the kernel groups it calls (CONFIG_CMSIS_NN_*)."
                  " Default: read from the model; true refuses a model that calls no "
                  "CMSIS-NN, false one that does."),
    ProjectOption("extra_files_tar", "str", optional=[GENERATE], default=None,
                  help="A tar archive unpacked into the generated project."),
    ProjectOption("warning_as_error", "bool", optional=[GENERATE], default=False,
                  help="Build with CONFIG_COMPILER_WARNINGS_AS_ERRORS=y."),
)

BY_NAME = {option.name: option for option in OPTIONS}

_TRUE = {"true", "1", "yes", "on", "y"}
_FALSE = {"false", "0", "no", "off", "n", ""}


def parse_options(method: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values of every option (defaults filled in); UtvmError naming the problem."""
    unknown = sorted(name for name in given if name not in BY_NAME)
    if unknown:
        raise UtvmError(
            f"{method}: unknown project option(s) {', '.join(unknown)}. This server "
            f"(utvm's Zephyr template) has: {', '.join(BY_NAME)}. See "
            "template_project/README.md in the utvm module for what each one does.")
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = given.get(option.name)
        values[option.name] = option.default if raw is None else _convert(option, raw, method)
    for option in OPTIONS:
        if option.required and method in option.required and values[option.name] is None:
            raise UtvmError(f"{method} needs the project option {option.name}: "
                            f"{option.help}")
    return values


def _convert(option: ProjectOption, raw: Any, method: str) -> Any:
    def bad(expected: str) -> UtvmError:
        return UtvmError(f"{method}: project option {option.name}={raw!r} is not {expected}.")

    if option.name == "compile_definitions":
        return _definitions(raw, bad)
    if option.type == "bool":
        if isinstance(raw, bool):
            value: Any = raw
        elif isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            value = raw.strip().lower() in _TRUE  # tvmc passes "true"/"false" as text
        else:
            raise bad("a boolean (true or false)")
    elif option.type == "int":
        if isinstance(raw, bool):
            raise bad("a whole number")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str):
            try:
                value = int(raw.strip(), 0)  # tvmc passes "4096"; 0x1000 works too
            except ValueError:
                raise bad("a whole number") from None
        else:
            raise bad("a whole number")
        if value <= 0:
            raise bad("a positive number")
    else:
        if not isinstance(raw, str):
            raise bad("a string")
        value = raw
    if option.choices is not None and value not in option.choices:
        raise UtvmError(f"{method}: project option {option.name}={raw!r} is not one of "
                        f"{', '.join(map(str, option.choices))}.")
    return value


def _definitions(raw: Any, bad: Any) -> list[str]:
    # TVM declares it a string yet iterates it as a list: take either.
    if isinstance(raw, str):
        items = raw.replace(";", " ").split()
    elif isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        items = [item.strip() for item in raw if item.strip()]
    else:
        raise bad("a string or a list of strings")
    return [item[2:] if item.startswith("-D") else item for item in items]


def server_info_options() -> list[dict[str, Any]]:
    return [option.to_json() for option in OPTIONS]
