"""`west utvm build`: bring the model into the build directory, then run `west build`.

Incremental by design: the model is staged into ``<build>/utvm/model`` touching only the
files that changed, and `west build` gets CMake arguments (which make it re-run CMake) only
when the build is new or something CMake reads at configure time changed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from utvm.board.apps import (
    MEMORY_SOURCE_VARIABLE,
    App,
    RpcServerApp,
    app_source_dir,
    resolve_app,
    rpc_memory_for,
    write_rpc_memory_source,
)
from utvm.board.build_dir import (
    UTVM_STATE_DIR,
    ZephyrBuild,
    find_build_dir,
    is_zephyr_build,
    read_build,
    same_path,
    west_config_value,
)
from utvm.board.cmake_cache import read_cmake_cache
from utvm.board.memory_fit import check_fit
from utvm.board.model_source import MlfSource, ModelSource, TvmModelSource, source_from_record
from utvm.board.model_stage import StageReport, stage_model
from utvm.board.network import (
    DEFAULT_LINK,
    LINKS,
    SLIRP_CONF,
    TCP_CONF,
    check_ethernet,
    check_tcp_board,
)
from utvm.board.qemu_machine import qemu_extra_flags
from utvm.board.state import BUILD_RECORD, read_record, write_record
from utvm.board.targets import board_looks_like_qemu, runs_on_this_computer
from utvm.board.zephyr_env import West, failure_message, require_zephyr
from utvm.errors import UtvmError
from utvm.mlf.cmsis_nn import detect as detect_cmsis_nn
from utvm.mlf.loader import open_mlf
from utvm.mlf.model import ModelLibrary
from utvm.npy_files import read_npy
from utvm.paths import repo_root

STAGED_MODEL_DIR = "model"


@dataclass
class BuildRequest:
    board: str | None = None
    build_dir: str | None = None
    pristine: bool = False
    mlf: Path | None = None
    model: Path | None = None
    app: str | None = None
    executor: str | None = None
    interface: str | None = None
    target: str | None = None
    inputs: list[Path] = field(default_factory=list)
    expected: list[Path] = field(default_factory=list)
    west_args: list[str] = field(default_factory=list)
    #: With --model: TVM's CMSIS-NN partitioning, and the core to size CMSIS-NN's buffers for.
    cmsis_nn: bool = False
    cmsis_nn_mcpu: str | None = None
    #: Firmware that loads model code at run time (LLEXT) and the build's EDK.
    loadable: bool = False
    #: How the host reaches the RPC server: "uart" (default) or "tcp" (boards with Ethernet).
    link: str | None = None
    #: How to run west (the Project API's west_cmd / zephyr_base); default: find both.
    west: West | None = None


@dataclass(frozen=True)
class BuildOutcome:
    build_dir: Path
    board: str
    app: str
    model: str | None
    configured: bool  # CMake ran (first build, or something it reads changed)
    stage: StageReport | None
    host_driven: bool  # the app serves RPC: `west utvm run` drives it


def build(request: BuildRequest, out: TextIO | None = None) -> BuildOutcome:
    """Stage the model and run `west build`; UtvmError on any failure."""
    stream = out if out is not None else sys.stdout
    if request.loadable and request.board:  # refused before looking for Zephyr
        check_loadable_board(request.board)
    west = request.west or West.for_zephyr(require_zephyr())
    build_dir = find_build_dir(request.build_dir, request.board,
                               app_source_dir(request.app) if request.app else None)
    existing = read_build(build_dir) if is_zephyr_build(build_dir) else None
    previous = (read_record(existing.state_dir, BUILD_RECORD) if existing else None) or {}
    app_choice = request.app or previous.get("app") or RpcServerApp.name
    input_paths = request.inputs or [Path(p) for p in previous.get("inputs", [])]
    expected_paths = request.expected or [Path(p) for p in previous.get("expected", [])]
    app = resolve_app(app_choice, _load_arrays(input_paths), _load_arrays(expected_paths))
    board = _choose_board(request.board, existing)
    _check_reuse(build_dir, existing, board, app, request.pristine)
    loadable = request.loadable or (bool(previous.get("loadable")) and not request.pristine)
    if loadable:
        check_loadable(board, app)
    link = request.link or (None if request.pristine else previous.get("link")) or DEFAULT_LINK
    check_link(link, board, app)
    source = _model_source(request, app, previous)
    if request.pristine and build_dir.exists():
        _make_pristine(build_dir, app.source_dir, stream)
        existing = None

    state_dir = build_dir / UTVM_STATE_DIR
    definitions: dict[str, str] = {"ZEPHYR_EXTRA_MODULES": str(repo_root())}
    stage, model_label = None, None
    if source is not None:
        stage, model_label = _bring_model_in(source, app, board, state_dir, definitions,
                                             stream)
    in_qemu = board_looks_like_qemu(board, existing)
    if in_qemu:
        qemu = qemu_extra_flags(app.host_driven, existing.app_dir if existing else None)
        definitions["QEMU_EXTRA_FLAGS"] = qemu.flags
    definitions.update(conf_files(loadable, link, in_qemu, existing))

    cache = existing.cache if existing else {}
    configure = _needs_configure(existing, cache, definitions, stage, request.west_args)
    if configure:
        # Configure alone first: the devicetree and Kconfig it produces say whether the
        # model fits the board before anything is compiled.
        _run_west_build(west, _west_build_args(build_dir, board, app, definitions, True,
                                               request.west_args, cmake_only=True),
                        board, stream)
        configured = read_build(build_dir)
        qemu = qemu_extra_flags(app.host_driven, configured.app_dir)
        wanted = {"QEMU_EXTRA_FLAGS": qemu.flags, **conf_files(loadable, link, True, existing)}
        if board_looks_like_qemu(board, configured) and \
                any(definitions.get(name) != value for name, value in wanted.items()):
            # Only configuring showed that this board runs in QEMU, or what QEMU runs.
            definitions.update(wanted)
            network = "; QEMU's user networking for RPC over TCP" if link == "tcp" else ""
            print(f"utvm: this board runs in QEMU; configuring again with {qemu.describe()}"
                  f"{network}", file=stream, flush=True)
            _run_west_build(west, _west_build_args(build_dir, board, app, definitions, True,
                                                   request.west_args, cmake_only=True),
                            board, stream)
        if link == "tcp":
            check_ethernet(read_build(build_dir))
    if stage is not None:
        with open_mlf(stage.folder) as staged:
            sizes = None
            if MEMORY_SOURCE_VARIABLE in definitions:  # the user's -D sizes win over ours
                sizes = {**rpc_memory_for(staged), **_user_sizes(request.west_args)}
                write_rpc_memory_source(state_dir, sizes)
            check_fit(read_build(build_dir), staged, app.host_driven, sizes)
    _run_west_build(west, _west_build_args(build_dir, board, app, definitions, False,
                                           request.west_args, compile_only=configure),
                    board, stream)

    built = read_build(build_dir)
    if loadable:
        _make_edk(west, built, board, stream)
    write_record(built.state_dir, BUILD_RECORD, {
        "board": board, "app": app_choice, "app_source_dir": str(app.source_dir),
        "host_driven": app.host_driven,
        "model": source.record() if source else None,
        "staged_model": str(stage.folder) if stage else None,
        "inputs": [str(p.absolute()) for p in input_paths],
        "expected": [str(p.absolute()) for p in expected_paths],
        "loadable": loadable,
        "link": link,
    })
    return BuildOutcome(build_dir, board, app.name, model_label, configure, stage,
                        app.host_driven)


LOADABLE_CONF = "loadable.conf"  # samples/rpc_server/loadable.conf


_OUR_CONFS = (LOADABLE_CONF, TCP_CONF, SLIRP_CONF)


def conf_files(loadable: bool, link: str, in_qemu: bool,
               existing: ZephyrBuild | None = None) -> dict[str, str]:
    """EXTRA_CONF_FILE for the rpc_server's options: loadable code, RPC over TCP (and QEMU's
    user networking for it). When none is asked for: nothing, or an empty value where the
    build had only ours (--link uart after tcp must configure the UART firmware again)."""
    files = [LOADABLE_CONF] if loadable else []
    if link == "tcp":
        files += [TCP_CONF, *([SLIRP_CONF] if in_qemu else [])]
    if files:
        return {"EXTRA_CONF_FILE": ";".join(files)}
    before = [f for f in (existing.cache.get("EXTRA_CONF_FILE", "") if existing else "").split(";")
              if f]
    return {"EXTRA_CONF_FILE": ""} if before and set(before) <= set(_OUR_CONFS) else {}


def check_link(link: str, board: str, app: App) -> None:
    """--link: a known one; tcp for the rpc_server app on a board that is not a program of
    this computer (whether it has Ethernet, configuring tells)."""
    if link not in LINKS:
        raise UtvmError(f"--link {link}: choose one of {', '.join(LINKS)}")
    if link == "tcp":
        check_tcp_board(board, runs_on_this_computer(board))
        if not isinstance(app, RpcServerApp):
            raise UtvmError(f"--link tcp is an option of the rpc_server app (the host drives "
                            f"the board over RPC), not of {app.name}")


def _make_edk(west: West, built: ZephyrBuild, board: str, out: TextIO) -> None:
    """The EDK: this build's flags and headers, which loaded model code is compiled with.
    Made afresh each time. Zephyr's EDK reads build_info.yml, which a reconfigure can leave
    with its values unexpanded (its JSON sources look unchanged): touching them makes the
    build write it again."""
    for source in built.zephyr_dir.glob("build_info_*.json"):
        source.touch()
    (built.zephyr_dir / "llext-edk.tar.xz").unlink(missing_ok=True)
    _run_west_build(west, ["build", "-d", str(built.build_dir), "-t", "llext-edk"], board, out)


def check_loadable(board: str, app: App) -> None:
    """--loadable needs the rpc_server app and a board with LLEXT support."""
    check_loadable_board(board)
    if not isinstance(app, RpcServerApp):
        raise UtvmError(f"--loadable is an option of the rpc_server app (the host loads model "
                        f"code over RPC), not of {app.name}")


def check_loadable_board(board: str) -> None:
    if runs_on_this_computer(board):
        raise UtvmError(f"{board} has no LLEXT support (Zephyr links extensions only on real "
                        "CPU architectures): --loadable needs an Arm board such as mps2/an385 "
                        "(QEMU). Build without --loadable to run the model built in.")


def _bring_model_in(source: ModelSource, app: App, board: str, state_dir: Path,
                    definitions: dict[str, str], out: TextIO) -> tuple[StageReport, str]:
    """Compiles or opens the model, checks it suits the app, stages it into the build
    folder and adds the app's CMake variables for it to ``definitions``."""
    print(f"utvm: model: {source.describe()}", file=out, flush=True)
    mlf_path = source.produce(state_dir, out)
    with open_mlf(mlf_path) as mlf:
        app.check_model(mlf)
        stage = stage_model(mlf, state_dir / STAGED_MODEL_DIR)
        definitions.update(app.cmake_definitions(stage.folder, mlf, state_dir))
        if not runs_on_this_computer(board):
            definitions.update(cmsis_nn_kconfig(mlf))
        label = f"{mlf.module_name} ({mlf.executor_kind})"
    print(f"utvm: {stage.describe()} in {stage.folder}", file=out, flush=True)
    return stage, label


def _user_sizes(west_args: list[str]) -> dict[str, str]:
    """CONFIG_UTVM_ARENA_SIZE / _RPC_MAX_PACKET_SIZE given after `--`."""
    sizes = {}
    for argument in split_west_args(west_args)[1]:
        name, _, value = argument[2:].partition("=")
        if argument.startswith("-D") and name.split(":")[0] in (
                "CONFIG_UTVM_ARENA_SIZE", "CONFIG_UTVM_RPC_MAX_PACKET_SIZE"):
            sizes[name.split(":")[0]] = value
    return sizes


def cmsis_nn_kconfig(mlf: ModelLibrary) -> dict[str, str]:
    """Zephyr's CMSIS-NN options for exactly the kernel groups the model calls (utvm_add_model()
    stops a plain `west build` that lacks them; here they are simply set). Cortex-M boards
    only: elsewhere (native_sim) utvm_add_model() compiles CMSIS-NN's portable code itself."""
    use = detect_cmsis_nn(mlf.c_sources, mlf.targets)
    return {} if use is None else {f"CONFIG_{symbol}": "y" for symbol in use.kconfig_symbols}


def _load_arrays(paths: list[Path]) -> list[np.ndarray]:
    # Headers are checked before any data is read; the model checks sizes later.
    return [read_npy(path) for path in paths]


def _choose_board(requested: str | None, existing: ZephyrBuild | None) -> str:
    board = (requested or (existing.board if existing else None)
             or west_config_value("build.board") or os.environ.get("BOARD"))
    if not board:
        raise UtvmError("which board? Give it with -b BOARD (e.g. -b native_sim, -b "
                        "nucleo_f746zg), or set it once with `west config build.board BOARD`.")
    return board


def _check_reuse(build_dir: Path, existing: ZephyrBuild | None, board: str, app: App,
                 pristine: bool) -> None:
    """The same refusals as `west build`, before anything in the folder is touched."""
    if pristine:
        return
    if (build_dir.is_dir() and existing is None and any(build_dir.iterdir())
            and not (build_dir / "CMakeCache.txt").exists() and not (build_dir / "utvm").is_dir()):
        raise UtvmError(f"{build_dir} exists and is not a build directory; give another one "
                        "with -d, or empty it.")
    if existing is None:
        return
    if existing.board != board:
        raise UtvmError(f"build directory {build_dir} is for board {existing.board}, not "
                        f"{board}. Add -p to start over (pristine), or use another -d.")
    if existing.source_dir and not same_path(existing.source_dir, app.source_dir):
        raise UtvmError(f"build directory {build_dir} is for the application "
                        f"{existing.source_dir}, not {app.source_dir}. Add -p to start over "
                        "(pristine), or use another -d.")


def _model_source(request: BuildRequest, app: App,
                  previous: dict[str, Any] | None) -> ModelSource | None:
    if request.mlf and request.model:
        raise UtvmError("give either --mlf (a compiled Model Library Format) or --model (a "
                        ".tflite/.onnx file TVM compiles), not both.")
    compile_choices = (request.executor or request.interface or request.target
                       or request.cmsis_nn or request.cmsis_nn_mcpu)
    if request.mlf:
        if compile_choices:
            raise UtvmError("--executor, --interface, --target and --cmsis-nn choose how "
                            "--model is compiled; an --mlf is already compiled.")
        return MlfSource(request.mlf)
    if request.model:
        options = app.compile_options(request.executor, request.interface, request.target)
        options = dataclasses.replace(
            options, cmsis_nn=request.cmsis_nn or request.cmsis_nn_mcpu is not None,
            cmsis_nn_mcpu=request.cmsis_nn_mcpu)
        return TvmModelSource(request.model, options)
    if compile_choices:
        raise UtvmError("--executor, --interface, --target and --cmsis-nn need --model (the "
                        "model to compile).")
    return source_from_record((previous or {}).get("model"))


def _make_pristine(build_dir: Path, source_dir: Path, out: TextIO) -> None:
    if not is_zephyr_build(build_dir) and not (build_dir / "utvm").is_dir():
        if any(build_dir.iterdir()):
            raise UtvmError(f"refusing to empty {build_dir} for -p: it is not a Zephyr build "
                            "directory. Give the right one with -d.")
        return
    resolved = build_dir.resolve()
    if resolved == source_dir.resolve() or resolved in source_dir.resolve().parents:
        raise UtvmError(f"refusing to empty {build_dir} for -p: it holds the application.")
    print(f"utvm: -p: emptying {build_dir}", file=out, flush=True)
    for child in build_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _needs_configure(existing: ZephyrBuild | None, cache: dict[str, str],
                     definitions: dict[str, str], stage: StageReport | None,
                     west_args: list[str]) -> bool:
    if existing is None or not existing.configured:
        return True
    if stage is not None and stage.needs_configure:
        return True
    user_west, user_cmake = split_west_args(west_args)
    if any(_configure_option(a) for a in user_west):
        return True
    wanted = dict(definitions)
    for argument in user_cmake:  # the user's -D values win over ours, as on the command line
        if not argument.startswith("-D") or "=" not in argument:
            return True
        name, _, value = argument[2:].partition("=")
        name = name.split(":")[0]
        if name in ("ZEPHYR_EXTRA_MODULES", "EXTRA_ZEPHYR_MODULES"):
            if not all(any(same_path(module, m) for m in existing.extra_modules)
                       for module in value.strip('"').split(";") if module):
                return True
            continue
        wanted[name] = value.strip('"')
    for name, value in wanted.items():
        if name == "ZEPHYR_EXTRA_MODULES":
            if not any(same_path(value, m) for m in existing.extra_modules):
                return True
        elif name.startswith("CONFIG_"):
            # Zephyr moves Kconfig values given to CMake out of the cache into .config.
            if existing.kconfig().get(name) != value:
                return True
        elif cache.get(name) != value:
            return True
    return False


# `west build` options that change what CMake configures (the rest: -o, -t, -v act when
# compiling, and make no reconfiguration).
_CONFIGURE_OPTIONS = ("--shield", "--snippet", "-S", "--extra-conf", "--extra-dtc-overlay",
                      "--sysbuild", "--no-sysbuild", "--cmake", "-c", "--domain")


def _configure_option(argument: str) -> bool:
    return any(argument == o or argument.startswith(o + "=") for o in _CONFIGURE_OPTIONS) \
        or (argument.startswith("-S") and argument != "-S")


def _compile_west_args(user_west: list[str]) -> list[str]:
    """The user's west build options without those configuring already took."""
    kept, skip = [], False
    for argument in user_west:
        if skip:
            skip = False
            continue
        if _configure_option(argument):
            skip = "=" not in argument and argument in ("--shield", "--snippet", "-S",
                                                        "--extra-conf", "--extra-dtc-overlay",
                                                        "--domain")
            continue
        kept.append(argument)
    return kept


def _west_build_args(build_dir: Path, board: str, app: App, definitions: dict[str, str],
                     configure: bool, west_args: list[str], cmake_only: bool = False,
                     compile_only: bool = False) -> list[str]:
    """``cmake_only``: configure without compiling; ``compile_only``: the build that follows
    it (options that configure were already given)."""
    user_west, user_cmake = split_west_args(west_args)
    if compile_only:
        user_west = _compile_west_args(user_west)
    # --pristine=never: our staged model lives in the build folder, and -p is ours to do.
    command = ["build", "-d", str(build_dir), "-b", board, "--pristine=never", *user_west,
               *(["--cmake-only"] if cmake_only else []), str(app.source_dir)]
    if configure:
        merged = dict(definitions)
        # The user's extra modules join ours, under either of Zephyr's names for them (it
        # reads EXTRA_ZEPHYR_MODULES first: given alone, it would replace utvm's module).
        for argument in list(user_cmake):
            if argument.startswith(("-DZEPHYR_EXTRA_MODULES=", "-DEXTRA_ZEPHYR_MODULES=")):
                user_cmake.remove(argument)
                merged["ZEPHYR_EXTRA_MODULES"] += ";" + argument.split("=", 1)[1]
        command += ["--", *[f"-D{name}={value}" for name, value in merged.items()], *user_cmake]
    return command


def split_west_args(args: list[str]) -> tuple[list[str], list[str]]:
    """What follows `--`: west build options, then (after another `--`) CMake arguments.

    Without a second `--`, -D definitions are taken as CMake arguments, since `west build`
    itself takes none.
    """
    rest = args[1:] if args[:1] == ["--"] else list(args)
    if "--" in rest:
        split = rest.index("--")
        return rest[:split], rest[split + 1:]
    west = [a for a in rest if not a.startswith("-D")]
    cmake = [a for a in rest if a.startswith("-D")]
    return west, cmake


def _run_west_build(west: West, args: list[str], board: str, out: TextIO) -> None:
    print(f"utvm: running west {' '.join(args)}", file=out, flush=True)
    result = west.run(args, out)
    if result.returncode != 0:
        raise UtvmError(failure_message("west build", west.command(*args), result,
                                        build_failure_hint(result.diagnosis(), board)))


def build_failure_hint(diagnosis: list[str], board: str) -> str:
    """What to do, for the kind of failure the build's own messages show."""
    text = "\n".join(diagnosis)
    if "No board named" in text or "Invalid BOARD" in text:
        return (f"'{board}' is not a board this Zephyr knows: `west boards` lists them (some "
                "need a qualifier, e.g. nrf52840dk/nrf52840).")
    if "Zephyr-sdk" in text:
        return ("no toolchain for this board: install the Zephyr SDK, or name another one: "
                "ZEPHYR_TOOLCHAIN_VARIANT=host for native_sim; for Cortex-M boards Debian's "
                "arm-none-eabi-gcc with ZEPHYR_TOOLCHAIN_VARIANT=gnuarmemb "
                "GNUARMEMB_TOOLCHAIN_PATH=/usr (see the README's toolchain table).")
    overflow = re.search(r"region .(\w+). overflowed by (\d+) bytes", text)
    if overflow:
        return (f"the image is {int(overflow.group(2)):,} bytes too large for the board's "
                f"{overflow.group(1)}: `west utvm info` shows what the model needs; try a board "
                "with more memory, the other executor, or a smaller CONFIG_UTVM_ARENA_SIZE "
                "(-- -DCONFIG_UTVM_ARENA_SIZE=<bytes>).")
    compiled = re.search(r"(\S+?):\d+(?::\d+)?: (?:fatal )?error:", text)
    if compiled:
        where = compiled.group(1)
        if f"/{UTVM_STATE_DIR}/{STAGED_MODEL_DIR}/" in where:
            return ("the model's generated code does not compile (above, with file and line): "
                    "compile the model again with TVM, or fix the MLF.")
        return "fix the code at the file and line named above, then build again."
    return "Fix what Zephyr reports above, then build again."


def cached_model_dir(build: ZephyrBuild) -> Path | None:
    """The MLF a build uses: what `west utvm build` staged, else the app's UTVM_MODEL."""
    record = read_record(build.state_dir, BUILD_RECORD) or {}
    staged = record.get("staged_model")
    if staged and Path(staged).is_dir():
        return Path(staged)
    value = read_cmake_cache(build.app_dir / "CMakeCache.txt").get("UTVM_MODEL")
    return Path(value) if value else None


def open_build_model(build: ZephyrBuild) -> ModelLibrary:
    path = cached_model_dir(build)
    if path is None or not path.exists():
        raise UtvmError(f"{build.build_dir} records no model: it was not built by `west utvm "
                        "build` and its CMake cache has no UTVM_MODEL. Give the model with "
                        "--mlf.")
    return open_mlf(path)
