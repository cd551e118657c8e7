"""Compile one model with the user's TVM, in its own process (this file run as a script).

The parent (utvm.board.tvm_compile) puts ``$TVM_HOME/python`` on PYTHONPATH and passes a
JSON job file. Standard library only: the Python running it (``UTVM_TVM_PYTHON``) may have
TVM's requirements and nothing of utvm's. This uses TVM's Python API the way tvmc does:
``tvmc.load`` for the model,
``relay.backend.Executor`` / ``Runtime`` for the configuration, ``tvmc.compile`` with
``output_format="mlf"`` to write the Model Library Format archive. With a ``cmsis_nn_target``
the model is partitioned with ``partition_for_cmsisnn`` and built with ``relay.build`` for the
targets ``[target, cmsis_nn_target]`` (TVM 0.18 refuses the other order), then exported with
``export_model_library_format``. Lines starting with
``utvm:`` are progress; a failure ends with one ``utvm-error:`` line and exit status 3.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    del sys.path[0]  # this file's folder: its modules must not shadow TVM's imports

ERROR_PREFIX = "utvm-error: "
EXIT_FAILED = 3


def say(message: str) -> None:
    print(f"utvm: {message}", flush=True)


def fail(message: str) -> int:
    print(f"{ERROR_PREFIX}{message}", flush=True)
    return EXIT_FAILED


def compile_job(job: dict[str, Any]) -> int:
    try:
        import tvm
        from tvm.driver import tvmc
        from tvm.relay.backend import Executor, Runtime
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        if missing and not missing.startswith("tvm"):
            return fail(f"cannot import TVM from {job['tvm_python']}: its Python requirement "
                        f"'{missing}' is missing. Install TVM's requirements into the Python "
                        f"that runs TVM: {sys.executable} -m pip install {missing} (TVM 0.18 "
                        "needs attrs, cloudpickle, decorator, ml_dtypes, numpy, psutil, scipy, "
                        "tornado and typing_extensions, and tflite or onnx for the model), or "
                        "set UTVM_TVM_PYTHON to the python of an environment that has them.")
        return fail(f"cannot import TVM from {job['tvm_python']}: {exc}. " + _loaded_library())
    except Exception as exc:  # TVM raises its own errors when libtvm cannot be loaded
        return fail(f"TVM failed to load: {exc}. " + _loaded_library())
    say(f"TVM {getattr(tvm, '__version__', 'unknown version')} from {Path(tvm.__file__).parent}")
    say(f"loading {job['model']}")
    started = time.monotonic()
    try:
        model = tvmc.load(job["model"], shape_dict=job.get("shape_dict"))
    except Exception as exc:
        return fail(f"TVM could not load {job['model']}: {exc}")
    executor = Executor(job["executor"]["name"], job["executor"]["attrs"])
    runtime = Runtime(job["runtime"]["name"], job["runtime"]["attrs"])
    if job.get("cmsis_nn_target"):
        return compile_with_cmsis_nn(job, model, executor, runtime, started)
    say(f"compiling for target '{job['target']}' with {executor} and {runtime} "
        "(this can take a few minutes)")
    try:
        tvmc.compile(
            model,
            target=job["target"],
            executor=executor,
            runtime=runtime,
            pass_context_configs=job["pass_configs"],
            package_path=job["output"],
            output_format="mlf",
            mod_name=job["module_name"],
        )
    except Exception as exc:
        return fail(f"TVM could not compile {job['model']}: {type(exc).__name__}: {exc}")
    if not Path(job["output"]).is_file():
        return fail(f"TVM finished but wrote no Model Library Format at {job['output']}")
    say(f"compiled in {time.monotonic() - started:.1f} s")
    return 0


def _loaded_library() -> str:
    """Which TVM library was loaded, when it has no compiler (only the runtime), or what to
    build when none could be."""
    import os

    base = sys.modules.get("tvm._ffi.base")
    library = getattr(getattr(base, "_LIB", None), "_name", None)
    chosen = "TVM_LIBRARY_PATH and TVM_USE_RUNTIME_LIB choose which library TVM loads"
    if library and "runtime" in Path(library).name:
        return (f"This TVM has no compiler: it loaded {library}, TVM's runtime only. Build the "
                "full libtvm.so (cmake with USE_MICRO ON) and let TVM find it: "
                f"{chosen} (now TVM_LIBRARY_PATH="
                f"{os.environ.get('TVM_LIBRARY_PATH', '<unset>')}, TVM_USE_RUNTIME_LIB="
                f"{os.environ.get('TVM_USE_RUNTIME_LIB', '<unset>')}).")
    if library:
        return f"It loaded {library}; {chosen}."
    return ("Build TVM first (mkdir build; cp cmake/config.cmake build/; set USE_MICRO ON; "
            f"cmake ..; make); {chosen}.")


def compile_with_cmsis_nn(job: dict[str, Any], model: Any, executor: Any, runtime: Any,
                          started: float) -> int:
    """TVM's CMSIS-NN partitioning, then relay.build for [target, cmsis-nn target]."""
    try:
        from tvm.driver.tvmc.pass_config import parse_configs
        from tvm.ir.transform import PassContext
        from tvm.micro import export_model_library_format
        from tvm.relay import build
        from tvm.relay.op.contrib.cmsisnn import partition_for_cmsisnn
        from tvm.target import Target
    except ImportError as exc:
        return fail(f"this TVM lacks what CMSIS-NN partitioning needs: {exc}")

    targets = [Target(job["target"]), Target(job["cmsis_nn_target"])]
    say(f"partitioning for CMSIS-NN, then compiling for targets {[str(t) for t in targets]} "
        f"with {executor} and {runtime} (this can take a few minutes)")
    try:
        mod = partition_for_cmsisnn(model.mod, model.params, mod_name=job["module_name"])
        config = parse_configs(job["pass_configs"])
        if job.get("cmsis_nn_mcpu"):
            # TVM sizes CMSIS-NN's scratch buffers from this option, not from the target's
            # -mcpu: without it they are sized for a core without DSP.
            config["relay.ext.cmsisnn.options"] = {"mcpu": job["cmsis_nn_mcpu"]}
        with PassContext(opt_level=3, config=config):
            module = build(mod, target=targets, executor=executor, runtime=runtime,
                           params=model.params, mod_name=job["module_name"])
        export_model_library_format(module, job["output"])
    except Exception as exc:
        return fail(f"TVM could not compile {job['model']} with CMSIS-NN: "
                    f"{type(exc).__name__}: {exc}")
    if not Path(job["output"]).is_file():
        return fail(f"TVM finished but wrote no Model Library Format at {job['output']}")
    say(f"compiled in {time.monotonic() - started:.1f} s")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python tvm_worker.py JOB.json", file=sys.stderr)
        return 2
    job = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    return compile_job(job)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
