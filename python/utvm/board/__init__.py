"""Zephyr boards through west: everything `west utvm` (and `utvm build/flash/run/footprint`)
does, as a library.

- ``builder.build(BuildRequest)`` stages a model (an MLF, or a .tflite/.onnx compiled with the
  TVM of TVM_HOME, see ``tvm_compile``) into a build folder and runs `west build`.
- ``build_dir.find_build_dir`` / ``read_build`` find and read build folders like west does.
- ``targets.target_for(build)`` gives the board's strategy: ``NativeSimTarget``,
  ``QemuTarget`` or ``HardwareTarget``, each with ``flash()`` and a ``link()`` context that
  yields an open transport to the board's RPC UART.
- ``board_run.run_over_link`` runs a model over such a link (utvm.rpc).
- ``footprint.measure_build`` splits an image's ROM/RAM into runtime, model, Zephyr and app.
"""

from utvm.board.build_dir import ZephyrBuild, find_build_dir, read_build
from utvm.board.builder import BuildOutcome, BuildRequest, build
from utvm.board.footprint import Footprint, measure, measure_build
from utvm.board.targets import FlashOptions, LinkOptions, Target, target_for
from utvm.board.tvm_compile import CompileOptions, compile_model
from utvm.board.tvm_home import TvmInstall, find_tvm

__all__ = [
    "BuildOutcome",
    "BuildRequest",
    "CompileOptions",
    "FlashOptions",
    "Footprint",
    "LinkOptions",
    "Target",
    "TvmInstall",
    "ZephyrBuild",
    "build",
    "compile_model",
    "find_build_dir",
    "find_tvm",
    "measure",
    "measure_build",
    "read_build",
    "target_for",
]
