"""What ``utvm_add_model()`` knows about an MLF: the host package's reading, written for CMake.

``cmake/utvm.cmake`` runs this step (through ``cmake/utvm_describe.py``) while CMake
configures, so CMake and ``utvm info``/``utvm run`` read every MLF version the same way
(``open_mlf``). It writes into ``--out-dir``:

* ``model.cmake``: ``set(UTVM_DESCRIBED_<KEY> ...)`` lines that ``utvm_add_model()``
  includes (executor, interface, module, sources, sizes, ...), and
  ``UTVM_DESCRIBED_VARIABLES``, the list of every <KEY>, which it sets in its caller's scope;
* generated C for the application (the C-interface tables of ``<utvm/model.h>``, the
  operator signature table of ``<utvm/signatures.h>``, the checked CMSIS-NN calls), listed
  in ``UTVM_DESCRIBED_GENERATED_SOURCES``;
* what the model needs from CMSIS-NN on the build's core (``UTVM_DESCRIBED_CMSIS_NN_*``),
  from the ``--cmsis-nn-*`` facts CMake gives about the core and the CMSIS-NN sources.

Each entry of ``GENERATORS`` is one function that adds variables or files to a
``Description``; adding what CMake should learn about a model is one more function there.
Files are rewritten only when their content changes, so a reconfigure rebuilds nothing.

Usage: ``python -m utvm.mlf.describe --mlf <dir or tar> --out-dir <dir> [--name <NAME>]
[--module <module>] [--cmsis-nn-* ...]`` (``--help`` lists them). Failures print one
``error:`` line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from utvm.errors import UtvmError
from utvm.mlf.archive import is_tar_archive
from utvm.mlf.arm_code import find_arm_code, where_it_runs
from utvm.mlf.c_interface import generate_c_interface
from utvm.mlf.c_sources import sanitize_name
from utvm.mlf.cmsis_nn import CmsisNnBuild, cmake_values, detect
from utvm.mlf.loader import open_mlf
from utvm.mlf.model import ModelLibrary
from utvm.mlf.signatures import signature_source

FRAGMENT_NAME = "model.cmake"
VARIABLE_PREFIX = "UTVM_DESCRIBED_"


@dataclass
class Description:
    """What the generators learn about one model, and the files they produce."""

    library: ModelLibrary
    name: str  # utvm_add_model(... NAME <name>): names the generated tables
    out_dir: Path
    given_path: Path  # the MLF as the user named it (an archive, not its extracted copy)
    cmsis_nn: CmsisNnBuild = field(default_factory=CmsisNnBuild)  # the build's core, sources
    variables: dict[str, str | list[str]] = field(default_factory=dict)
    generated_sources: list[Path] = field(default_factory=list)

    def write_file(self, file_name: str, text: str) -> Path:
        """Write ``text`` under ``out_dir`` unless the file already holds exactly that."""
        return write_if_changed(self.out_dir / file_name, text)


Generator = Callable[[Description], None]


def model_variables(description: Description) -> None:
    """The model's executor, interface, files and sizes (the UTVM_MODEL_<NAME>_* values)."""
    library = description.library
    files = {
        "DIR": library.root,
        "GRAPH": library.graph_json_path,
        "PARAMS": library.params_path,
        "INTERFACE_HEADER": library.interface_header,
        "RELAY": library.relay_path,
    }
    description.variables.update({
        "MLF_VERSION": str(library.mlf_version),
        "TVM_VERSION": library.tvm_version or "",
        "MODULE": library.module_name,
        "EXECUTOR": library.executor,
        "INTERFACE": library.interface,
        "EXECUTOR_KIND": library.executor_kind,
        "SOURCES": [path.as_posix() for path in library.c_sources],
        "OBJECT_FILES": [path.as_posix() for path in library.object_files],
        "NUM_INPUTS": str(len(library.inputs)),
        "NUM_OUTPUTS": str(len(library.outputs)),
        "WORKSPACE_SIZE_BYTES": str(library.workspace_size_bytes),
        "CONSTANTS_SIZE_BYTES": str(library.constants_size_bytes),
        "TARGETS": list(library.targets),
    })
    for key, path in files.items():
        description.variables[key] = "" if path is None else path.as_posix()


def c_interface_tables(description: Description) -> None:
    """utvm_model_<name>.c: <utvm/model.h>'s tables and run for C-interface models."""
    library = description.library
    if library.interface != "c":
        return
    text = generate_c_interface(library, description.name)
    description.generated_sources.append(
        description.write_file(f"utvm_model_{description.name}.c", text)
    )


def arm_only_code(description: Description) -> None:
    """ARM_CODE_REASON / ARM_CODE_NEEDS_DSP: code only an Arm (DSP) core compiles, or ""."""
    arm = find_arm_code(description.library)
    description.variables["ARM_CODE_REASON"] = "" if arm is None else arm.reason()
    description.variables["ARM_CODE_NEEDS_DSP"] = "1" if arm is not None and arm.needs_dsp else ""
    description.variables["ARM_CODE_WHERE_IT_RUNS"] = where_it_runs(description.given_path)


def operator_signatures(description: Description) -> None:
    """utvm_signatures_<name>.c: what each operator the host may call was compiled for (the
    runtime checks every host-steered call into generated code against it)."""
    text = signature_source(description.library)
    description.generated_sources.append(
        description.write_file(f"utvm_signatures_{description.name}.c", text)
    )


def cmsis_nn_needs(description: Description) -> None:
    """CMSIS_NN_*: the kernel groups the generated code calls, how CMSIS-NN is compiled for the
    build's core (the code TVM sized its buffers for), the source tree checked against TVM
    0.18's calls; with checked calls or depthwise calls run as convolutions,
    utvm_cmsis_nn_calls_<name>.c (the --wrap wrappers)."""
    library = description.library
    values, shim = cmake_values(detect(library.c_sources, library.targets),
                                description.cmsis_nn)
    for key, value in values.items():
        description.variables[f"CMSIS_NN_{key}"] = value
    if shim is not None:
        path = description.write_file(f"utvm_cmsis_nn_calls_{description.name}.c", shim)
        description.generated_sources.append(path)
        description.variables["CMSIS_NN_CALLS_SOURCE"] = path.as_posix()


GENERATORS: list[Generator] = [model_variables, c_interface_tables, arm_only_code,
                               operator_signatures, cmsis_nn_needs]


def describe(
    mlf: Path, name: str | None, out_dir: Path, module: str | None = None,
    generators: list[Generator] | None = None, cmsis_nn: CmsisNnBuild | None = None,
) -> Path:
    """Run every generator for the MLF at ``mlf``; return the path of the CMake fragment.

    ``name`` (default: the module's name, made a C identifier) names the generated tables.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with open_mlf(_extracted(mlf, out_dir), module=module) as library:
        name = name or sanitize_name(library.module_name)
        if not name.isidentifier() or not name.isascii():
            raise UtvmError(
                f"utvm_add_model(... NAME {name}): the name becomes part of C symbols "
                "(utvm_model_<NAME>_run); use letters, digits and '_' only."
            )
        description = Description(library, name, out_dir, mlf, cmsis_nn or CmsisNnBuild())
        description.variables["NAME"] = name
        for generator in GENERATORS if generators is None else generators:
            generator(description)
        description.variables["GENERATED_SOURCES"] = [
            path.as_posix() for path in description.generated_sources
        ]
        return write_if_changed(out_dir / FRAGMENT_NAME, cmake_fragment(description))


def _extracted(mlf: Path, out_dir: Path) -> Path:
    """An archive is extracted once per content into ``out_dir``; folders are used as is."""
    if mlf.is_dir() or not mlf.is_file() or not is_tar_archive(mlf):
        return mlf  # open_mlf explains what is wrong with anything else
    digest = hashlib.sha256(mlf.read_bytes()).hexdigest()[:16]
    target = out_dir / f"mlf-{digest}"
    if not target.is_dir():
        for stale in out_dir.glob("mlf-*"):
            shutil.rmtree(stale, ignore_errors=True)
        partial = out_dir / f"partial-{digest}"
        shutil.rmtree(partial, ignore_errors=True)
        with open_mlf(mlf, extract_to=partial):
            pass  # open_mlf extracts safely (and checks) before anything is used
        partial.rename(target)
    return target


def cmake_fragment(description: Description) -> str:
    """``set()`` lines for every variable, each value a bracket argument (no escaping)."""
    lines = [f"# Written by utvm.mlf.describe for utvm_add_model(... NAME {description.name})."]
    for key, value in description.variables.items():
        values = value if isinstance(value, list) else [value]
        quoted = " ".join(cmake_bracket(item) for item in values)
        lines.append(f"set({VARIABLE_PREFIX}{key} {quoted})".rstrip())
    # The list utvm_add_model() hands on to its caller: every key, whichever generator set it.
    lines.append(f"set({VARIABLE_PREFIX}VARIABLES {' '.join(description.variables)})")
    return "\n".join(lines) + "\n"


def cmake_bracket(text: str) -> str:
    """``text`` as a CMake bracket argument: nothing inside is interpreted, ';' included."""
    equals = "="
    while f"]{equals}]" in text:
        equals += "="
    return f"[{equals}[{text}]{equals}]"


def write_if_changed(path: Path, text: str) -> Path:
    """Write ``text`` atomically; leave the file (and its time stamp) alone when equal."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return path
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m utvm.mlf.describe",
        description="Describe a Model Library Format for utvm_add_model() (cmake/utvm.cmake).",
    )
    parser.add_argument("--mlf", required=True, type=Path, help="MLF folder or .tar(.gz)")
    parser.add_argument("--name", help="NAME given to utvm_add_model() (default: the module's)")
    parser.add_argument("--out-dir", required=True, type=Path, help="where to write")
    parser.add_argument("--module", help="module to use when the MLF holds several")
    cmsis = parser.add_argument_group("CMSIS-NN (for models whose generated code calls it)")
    cmsis.add_argument("--cmsis-nn-core", help="the board's core as in -mcpu (omit: the host)")
    cmsis.add_argument("--cmsis-nn-core-dsp", action="store_true", help="the core has DSP")
    cmsis.add_argument("--cmsis-nn-core-mve", action="store_true", help="the core has MVE")
    cmsis.add_argument("--cmsis-nn-core-dsp-left-off", action="store_true",
                       help="the core's DSP extension is optional and the build leaves it off")
    cmsis.add_argument("--cmsis-nn-use-core-dsp", action="store_true",
                       help="with --cmsis-nn-core-dsp-left-off: compile CMSIS-NN with DSP anyway")
    cmsis.add_argument("--cmsis-nn-tree", type=Path, help="CMSIS-NN source tree to check")
    cmsis.add_argument("--cmsis-nn-tree-origin", default="CMSIS-NN",
                       help="where --cmsis-nn-tree came from (for messages)")
    cmsis.add_argument("--cmsis-nn-tree-advice", default="",
                       help="how to get a fitting tree there (for messages)")
    cmsis.add_argument("--cmsis-nn-checked", action="store_true",
                       help="wrap the CMSIS-NN calls so that a failing kernel fails the run")
    cmsis.add_argument("--cmsis-nn-depthwise-as-conv", action="store_true",
                       help="run depthwise calls of one-channel inputs as convolutions")
    args = parser.parse_args(argv)
    cmsis_nn = CmsisNnBuild(
        core=args.cmsis_nn_core, core_dsp=args.cmsis_nn_core_dsp,
        core_mve=args.cmsis_nn_core_mve, core_dsp_left_off=args.cmsis_nn_core_dsp_left_off,
        use_core_dsp=args.cmsis_nn_use_core_dsp, tree=args.cmsis_nn_tree,
        tree_origin=args.cmsis_nn_tree_origin, tree_advice=args.cmsis_nn_tree_advice,
        checked=args.cmsis_nn_checked, depthwise_as_conv=args.cmsis_nn_depthwise_as_conv)
    try:
        describe(args.mlf, args.name, args.out_dir, args.module, cmsis_nn=cmsis_nn)
    except UtvmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot read or write the model's files: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
