"""``utvm build`` / ``west utvm build``: bring a model into a Zephyr app and build it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from utvm.board.builder import BuildRequest, build

_DESCRIPTION = """\
Build a Zephyr application with a TVM model in it, with `west build`.

The model is either a Model Library Format you already have (--mlf), or a .tflite / .onnx
file that your own TVM compiles first (--model; TVM is found through TVM_HOME and must be
0.18 or older, the last releases with microTVM). The MLF is checked, staged into
BUILD_DIR/utvm/model and handed to the app through CMake's UTVM_MODEL, which the app gives
to utvm_add_model(). Building again with the same model reconfigures nothing (west build
options such as -o=-j2 do not either; new -D values and configure options such as --shield
do); a changed model recompiles only the files that changed.

Before compiling, the board's devicetree (zephyr,sram and zephyr,flash) is checked against
what the model and utvm take: the runtime arena (sized for what the runtime allocates for
this model), the workspace TVM's code holds itself, the RPC buffer, the main stack and the
model's constants. A model that cannot fit is refused with the numbers and what to try.
"""

_EPILOG = """\
apps (--app):
  rpc_server      (default) the board serves microTVM RPC on its UART; `west utvm run`
                  then sets inputs, runs and reads outputs from this computer.
                  Needs a host-driven model: AOT with the packed interface, or graph.
  aot_inference   the board runs the model on its own, on inputs built into the image
                  (--input, zeros by default) and prints the outputs. Needs an AOT model
                  built with interface-api=c.
  PATH            your own Zephyr app; it reads the model from the UTVM_MODEL CMake
                  variable: utvm_add_model(app MLF ${UTVM_MODEL}).

examples:
  west utvm build -b native_sim --mlf model.tar
  west utvm build -b nucleo_f746zg --model kws.tflite          (needs TVM_HOME)
  west utvm build -b qemu_cortex_m3 --mlf model.tar -p
  west utvm build -b native_sim --app aot_inference --mlf model_c.tar --input x.npy
  west utvm build -b mps2/an385 --mlf kws.tar --loadable    (then `west utvm run vww.tar`)
  west utvm build -b mps2/an385 --loadable --link tcp       (RPC over QEMU's Ethernet)
  west utvm build                                              (rebuild, same model)
  west utvm build -b nrf52840dk/nrf52840 --mlf m.tar -- -DCONFIG_UTVM_ARENA_SIZE=32768
  west utvm build -b frdm_k64f --mlf m.tar -- --shield foo -- -DEXTRA_CONF_FILE=x.conf

Everything after `--` goes to `west build`; after a second `--`, to CMake (a lone list
of -D options goes to CMake too). Zephyr must be available: ZEPHYR_BASE set, or the
current directory inside your west workspace.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "build", help="build a Zephyr app with a model in it (west build)",
        description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-b", "--board", metavar="BOARD",
                        help="Zephyr board (default: the build directory's, or build.board)")
    parser.add_argument("-d", "--build-dir", metavar="DIR",
                        help="build directory (default: like west build, normally ./build)")
    parser.add_argument("-p", "--pristine", action="store_true",
                        help="empty the build directory first")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--mlf", type=Path, metavar="PATH",
                       help="a compiled Model Library Format (folder, .tar, .tar.gz)")
    model.add_argument("--model", type=Path, metavar="FILE",
                       help="a .tflite or .onnx model to compile with $TVM_HOME's TVM")
    parser.add_argument("--app", metavar="APP",
                        help="rpc_server (default), aot_inference, or your app's folder")
    parser.add_argument("--executor", choices=("aot", "graph"),
                        help="with --model: the TVM executor (default aot)")
    parser.add_argument("--interface", choices=("packed", "c"),
                        help="with --model: AOT interface (default: packed for rpc_server, "
                        "c for aot_inference)")
    parser.add_argument("--target", metavar="TARGET",
                        help="with --model: TVM target (default 'c -keys=cpu -model=host')")
    parser.add_argument("--cmsis-nn", action="store_true",
                        help="with --model: offload what CMSIS-NN supports with TVM's CMSIS-NN "
                        "partitioning (targets TARGET, then cmsis-nn); the build links "
                        "Zephyr's cmsis-nn module with the kernel groups the model calls")
    parser.add_argument("--cmsis-nn-mcpu", metavar="CPU",
                        help="with --model: implies --cmsis-nn and sizes CMSIS-NN's buffers for "
                        "this core (e.g. cortex-m4, cortex-m33: its DSP code); default: none, "
                        "CMSIS-NN's portable code, right on any core")
    parser.add_argument("--input", dest="inputs", type=Path, action="extend", nargs="+",
                        default=[], metavar="FILE.npy",
                        help="aot_inference: inputs built into the image, one per model input")
    parser.add_argument("--expected", type=Path, action="extend", nargs="+", default=[],
                        metavar="FILE.npy",
                        help="aot_inference: outputs the board compares its results with")
    parser.add_argument("--loadable", action="store_true",
                        help="rpc_server: firmware that loads model code while it runs (Zephyr "
                        "LLEXT, Arm boards) and the build's EDK; `west utvm run MLF` then "
                        "uploads and runs any model without a new build")
    parser.add_argument("--link", choices=("uart", "tcp"),
                        help="rpc_server: how this computer reaches the board's RPC server: "
                        "uart (default: its serial port) or tcp (boards with Ethernet: the "
                        "board listens on TCP port CONFIG_UTVM_RPC_TCP_PORT, 4242; in QEMU, "
                        "`west utvm flash` forwards a free local port to it through QEMU's user "
                        "networking; a real board is reached with `west utvm run --port "
                        "tcp:ADDRESS:4242`). Much faster uploads of inputs and --loadable model "
                        "code. A board whose build enables no Ethernet driver is refused before "
                        "compiling. Kept for later builds of the folder until --link uart")
    parser.add_argument("west_args", nargs=argparse.REMAINDER, metavar="-- ...",
                        help="arguments for west build (and, after another --, CMake)")
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    if arguments.west_args and arguments.west_args[0] != "--":
        raise_unexpected(arguments.west_args[0])
    outcome = build(BuildRequest(
        board=arguments.board, build_dir=arguments.build_dir, pristine=arguments.pristine,
        mlf=arguments.mlf, model=arguments.model, app=arguments.app,
        executor=arguments.executor, interface=arguments.interface, target=arguments.target,
        cmsis_nn=arguments.cmsis_nn, cmsis_nn_mcpu=arguments.cmsis_nn_mcpu,
        inputs=arguments.inputs, expected=arguments.expected, west_args=arguments.west_args,
        loadable=arguments.loadable, link=arguments.link))
    model = outcome.model or "the app's default model"
    how = "configured and built" if outcome.configured else "built (no reconfigure needed)"
    print(f"utvm: {how} {outcome.app} for {outcome.board} with {model} in {outcome.build_dir}",
          file=sys.stderr)
    if outcome.host_driven:
        print("utvm: next: `west utvm flash` to put it on the board (or start the simulator), "
              "then `west utvm run`", file=sys.stderr)
    else:
        print("utvm: next: `west utvm flash`; the board then runs the model and prints its "
              "outputs on its console", file=sys.stderr)
    return 0


def raise_unexpected(argument: str) -> None:
    from utvm.errors import UtvmError

    raise UtvmError(f"unexpected argument {argument!r}. Options for west build go after "
                    "`--`, e.g. `west utvm build -b BOARD --mlf M -- -DCONFIG_X=y`.")
