"""``utvm info`` / ``west utvm info``: describe what an MLF contains."""

from __future__ import annotations

import argparse
import json
from typing import Any

from utvm.errors import UtvmError
from utvm.mlf import ModelLibrary, open_mlf
from utvm.mlf.arm_code import SIMULATED_DSP_BOARD, find_arm_code
from utvm.mlf.releases import writer

_EPILOG = """\
examples:
  utvm info model.tar
  utvm info build/mlf/ --json | jq '.inputs'
  west utvm info                  the model of ./build (what `west utvm build` staged)
  west utvm info -d build-f746

An archive is opened safely (no absolute paths, no '..', no links or device files, no
absurd sizes) and metadata.json is checked against the schema of its version (5 to 7,
TVM 0.13 to 0.18), so a broken or foreign archive gets a precise message.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "info",
        help="show executor, inputs/outputs and memory needs of an MLF",
        description="Show what a Model Library Format holds: executor and interface, "
        "inputs and outputs (in model order, with shapes and dtypes), workspace and "
        "constant memory, and the TVM / MLF versions.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("mlf", metavar="MLF", nargs="?",
                        help="MLF folder, .tar or .tar.gz (default: the model of the build)")
    parser.add_argument("-d", "--build-dir", metavar="DIR",
                        help="without MLF: the build whose model to show (default ./build)")
    parser.add_argument("--module", metavar="NAME", help="module to show (MLFs with several)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    with _open(arguments) as mlf:
        if arguments.json:
            print(json.dumps(mlf.summary(), indent=2))
        else:
            print(render(mlf))
    return 0


def _open(arguments: argparse.Namespace) -> ModelLibrary:
    if arguments.mlf is not None:
        if arguments.build_dir is not None:
            raise UtvmError("give an MLF or a build directory (-d), not both.")
        return open_mlf(arguments.mlf, module=arguments.module)
    from utvm.board.build_dir import find_build_dir, read_build
    from utvm.board.builder import open_build_model

    return open_build_model(read_build(find_build_dir(arguments.build_dir)))


def render(mlf: ModelLibrary) -> str:
    interface = {"c": "C interface (tvmgen_<mod>_run)", "packed": "packed"}[mlf.interface]
    lines = [
        f"model library: {mlf.source}",
        f"  module:      {mlf.module_name}"
        + (f"  (archive has: {', '.join(mlf.module_names)})" if len(mlf.module_names) > 1 else ""),
        f"  executor:    {mlf.executor}, {interface}",
        f"  target:      {', '.join(mlf.targets)}",
        f"  versions:    MLF {mlf.mlf_version}, TVM {mlf.tvm_version or 'not recorded'} "
        f"(MLF {mlf.mlf_version} comes from {writer(mlf.mlf_version)})",
        *_memory_lines(mlf),
    ]
    if mlf.has_params:
        lines.append(f"  parameters:  {len(mlf.param_names)} tensors loaded at run time "
                     f"({mlf.params_path.name if mlf.params_path else ''})")
    for title, tensors in (("inputs", mlf.inputs), ("outputs", mlf.outputs)):
        lines.append(f"  {title}:")
        for index, tensor in enumerate(tensors):
            shape = "shape unknown" if tensor.shape is None else f"shape {list(tensor.shape)}"
            lines.append(f"    [{index}] {tensor.name}: {tensor.dtype}, {shape}, "
                         f"{_bytes(tensor.size_bytes)}")
        if not tensors:
            lines.append("    (none recorded)")
    lines.append(f"  order from:  {mlf.order_source}")
    arm = find_arm_code(mlf)
    if arm is not None:
        lines.append(f"  runs on:     {arm.requirement()} only, e.g. {SIMULATED_DSP_BOARD} "
                     f"(QEMU); {'; '.join(arm.evidence)}")
    return "\n".join(lines)


def _memory_lines(mlf: ModelLibrary) -> list[str]:
    """Who holds which bytes: the model's code (static workspace, constants), the runtime's
    arena, the host; TVM's own io_size_bytes only labelled as TVM's figure."""
    from utvm.mlf.runtime_memory import model_memory

    memory = model_memory(mlf)
    if memory.static_workspace_bytes:
        workspace = f"{_bytes(memory.static_workspace_bytes)}, static in the model's code"
    elif mlf.executor == "graph":
        workspace = (f"{_bytes(memory.runtime_workspace_bytes)} (largest operator, one at a "
                     f"time) from the runtime's memory; TVM's workspace_size_bytes "
                     f"{_bytes(mlf.workspace_size_bytes)}")
    else:
        workspace = f"{_bytes(mlf.workspace_size_bytes)}, from the runtime's memory"
    held = (f"parameters uploaded by the host {_bytes(memory.params_bytes)}"
            if memory.params_bytes else f"constants {_bytes(mlf.constants_size_bytes)}")
    lines = [f"  memory:      workspace {workspace}",
             f"               {held}, inputs+outputs (tensors) {_bytes(memory.io_bytes)}"]
    if memory.graph_storage_bytes:
        lines.append(f"               graph storage {_bytes(memory.graph_storage_bytes)}"
                     + (" (parameters included)" if memory.params_bytes else ""))
    if mlf.interface == "packed":
        from utvm.board.apps import rpc_memory_for

        arena = int(rpc_memory_for(mlf)["CONFIG_UTVM_ARENA_SIZE"])
        lines.append(f"               runtime arena {_bytes(arena)} (the CONFIG_UTVM_ARENA_SIZE "
                     "`west utvm build` gives host-driven apps)")
    if mlf.io_size_bytes is not None:
        lines.append(f"               TVM's io_size_bytes {_bytes(mlf.io_size_bytes)} (TVM's "
                     "own accounting, not the tensors' size)")
    return lines


def _bytes(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    return f"{count} B ({count / 1024:.1f} KiB)"
