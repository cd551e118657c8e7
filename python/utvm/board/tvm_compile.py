"""Compile a .tflite / .onnx model into a Model Library Format with the user's TVM.

TVM runs in a child process (utvm.board.tvm_worker) with ``$TVM_HOME/python`` on its path,
so its heavy import never touches this process. That process is this Python, or the one
``UTVM_TVM_PYTHON`` names (e.g. the virtual environment TVM's requirements live in: the worker
needs nothing of utvm's). The result is cached by a hash of the
model file, the options and the TVM checkout: building again with the same model does not
recompile it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from utvm.board.tvm_home import TvmInstall, find_tvm
from utvm.errors import UtvmError
from utvm.mlf.cmsis_nn import paths_for_target

MODEL_SUFFIXES = (".tflite", ".onnx")
DEFAULT_TARGET = "c -keys=cpu -model=host"
_CACHE_FORMAT = "utvm-tvm-compile-2"  # 2: CMSIS-NN buffers sized for mcpu
_TICK_SECONDS = 15.0
TVM_PYTHON_VAR = "UTVM_TVM_PYTHON"


@dataclass(frozen=True)
class CompileOptions:
    """What the app needs from the model, as TVM 0.18 options (see the MLF doc, tvmc)."""

    executor: Literal["aot", "graph"] = "aot"
    interface: Literal["c", "packed"] = "packed"
    target: str = DEFAULT_TARGET
    module_name: str = "default"
    input_shapes: dict[str, list[int]] = field(default_factory=dict)
    #: Offload what CMSIS-NN supports with TVM's CMSIS-NN partitioning (targets c, then
    #: cmsis-nn); cmsis_nn_mcpu sizes CMSIS-NN's buffers for that core (None: TVM's default,
    #: a core without DSP, which then runs CMSIS-NN's portable code).
    cmsis_nn: bool = False
    cmsis_nn_mcpu: str | None = None

    def __post_init__(self) -> None:
        if self.executor == "graph" and self.interface == "c":
            raise UtvmError("the graph executor has no C interface: use --executor aot for "
                            "standalone (interface-api=c) models")
        if self.cmsis_nn_mcpu is not None:
            if not self.cmsis_nn:
                raise UtvmError("a CMSIS-NN mcpu is given without CMSIS-NN partitioning: add "
                                "--cmsis-nn")
            paths_for_target(self.cmsis_nn_target() or "")  # refuses a core TVM cannot size for

    def cmsis_nn_target(self) -> str | None:
        """The second target TVM gets with CMSIS-NN partitioning (TVM 0.18 wants it second)."""
        if not self.cmsis_nn:
            return None
        return "cmsis-nn" + (f" -mcpu={self.cmsis_nn_mcpu}" if self.cmsis_nn_mcpu else "")

    def executor_config(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {"link-params": True}
        if self.interface == "c":
            attrs.update({"interface-api": "c", "unpacked-api": True})
        return {"name": self.executor, "attrs": attrs}

    def runtime_config(self) -> dict[str, Any]:
        # Host-driven models are looked up by name through the system library.
        attrs = {} if self.interface == "c" else {"system-lib": True}
        return {"name": "crt", "attrs": attrs}

    def pass_configs(self) -> list[str]:
        configs = ["tir.disable_vectorize=1"]
        if self.interface == "c":
            configs.append("tir.usmp.enable=1")
        return configs

    def describe(self) -> str:
        kind = "graph" if self.executor == "graph" else f"aot, interface-api={self.interface}"
        cmsis_nn = f" then '{self.cmsis_nn_target()}'" if self.cmsis_nn else ""
        return f"{kind}, target '{self.target}'{cmsis_nn}"


@dataclass(frozen=True)
class CompiledModel:
    archive: Path
    reused: bool
    tvm: TvmInstall


def compile_model(model: Path, out_dir: Path, options: CompileOptions,
                  progress: TextIO | None = None,
                  environ: dict[str, str] | None = None) -> CompiledModel:
    """``out_dir/model.tar`` compiled from ``model``; reused when nothing changed."""
    out = progress if progress is not None else sys.stderr
    env = dict(os.environ if environ is None else environ)
    if not model.is_file():
        raise UtvmError(f"model file {model} does not exist.")
    if model.suffix.lower() not in MODEL_SUFFIXES:
        raise UtvmError(f"{model} is not a model TVM can import here: give a "
                        f"{' or '.join(MODEL_SUFFIXES)} file with --model, or an already "
                        "compiled Model Library Format with --mlf.")
    tvm = find_tvm(env)
    archive = out_dir / "model.tar"
    record = out_dir / "compile.json"
    key = _cache_key(model, options, tvm)
    if archive.is_file() and _recorded_key(record) == key:
        print(f"utvm: {model.name} unchanged since it was compiled; reusing {archive}",
              file=out, flush=True)
        return CompiledModel(archive, True, tvm)
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".partial.tar")
    partial.unlink(missing_ok=True)
    job = {
        "model": str(model.resolve()), "output": str(partial.resolve()),
        "target": options.target, "cmsis_nn_target": options.cmsis_nn_target(),
        "cmsis_nn_mcpu": options.cmsis_nn_mcpu,
        "executor": options.executor_config(),
        "runtime": options.runtime_config(), "pass_configs": options.pass_configs(),
        "module_name": options.module_name, "shape_dict": options.input_shapes or None,
        "tvm_python": str(tvm.python_dir),
    }
    job_file = out_dir / "compile-job.json"
    job_file.write_text(json.dumps(job, indent=2), encoding="utf-8")
    print(f"utvm: compiling {model.name} with TVM {tvm.version or '(version unknown)'} at "
          f"{tvm.home} ({options.describe()})", file=out, flush=True)
    _run_worker(job_file, tvm, env, out)
    partial.replace(archive)
    record.write_text(json.dumps({"key": key, "model": str(model.resolve()),
                                  "options": asdict(options), "tvm_home": str(tvm.home),
                                  "tvm_version": tvm.version}, indent=2), encoding="utf-8")
    return CompiledModel(archive, False, tvm)


def tvm_python(env: dict[str, str]) -> str:
    """The Python TVM runs in: ``UTVM_TVM_PYTHON``, else this one."""
    named = env.get(TVM_PYTHON_VAR)
    if not named:
        return sys.executable
    found = shutil.which(named)
    if found is None:
        raise UtvmError(f"{TVM_PYTHON_VAR}={named} is not a Python program: name the python "
                        "of the environment that has TVM's requirements (e.g. "
                        "<venv>/bin/python), or unset it to run TVM in this Python.")
    return found


def _run_worker(job_file: Path, tvm: TvmInstall, env: dict[str, str], out: TextIO) -> None:
    python = tvm_python(env)
    paths = [str(tvm.python_dir)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    # Imported here, not at the top: the worker runs as a script, standard library only, so
    # that a Python without utvm's requirements (UTVM_TVM_PYTHON) can run it.
    from utvm.board import tvm_worker

    command = [python, str(Path(tvm_worker.__file__).resolve()), str(job_file)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True, errors="replace", env=env)
    assert process.stdout is not None
    started = time.monotonic()
    last_output = [started]
    stop = threading.Event()

    def tick() -> None:  # TVM is silent for minutes at a time: show that it is alive
        while not stop.wait(_TICK_SECONDS):
            if time.monotonic() - last_output[0] >= _TICK_SECONDS:
                print(f"utvm: still compiling ({time.monotonic() - started:.0f} s)",
                      file=out, flush=True)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    error: str | None = None
    tail: list[str] = []
    try:
        for line in process.stdout:
            last_output[0] = time.monotonic()
            if line.startswith(tvm_worker.ERROR_PREFIX):
                error = line[len(tvm_worker.ERROR_PREFIX):].strip()
                continue
            out.write(line)
            out.flush()
            tail = [*tail[-20:], line.rstrip()]
        code = process.wait()
    except KeyboardInterrupt:
        process.kill()
        process.wait()
        raise
    finally:
        stop.set()
    if code != 0:
        if error is None:
            last = "\n  ".join(tail[-10:]) or "(nothing)"
            error = f"TVM stopped with exit status {code}; its last output:\n  {last}"
        raise UtvmError(f"compiling the model failed: {error}")


def _cache_key(model: Path, options: CompileOptions, tvm: TvmInstall) -> str:
    digest = hashlib.sha256(_CACHE_FORMAT.encode())
    digest.update(json.dumps(asdict(options), sort_keys=True).encode())
    digest.update(f"\0{tvm.home}\0{tvm.version}\0".encode())
    with open(model, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _recorded_key(record: Path) -> str | None:
    try:
        return json.loads(record.read_text(encoding="utf-8")).get("key")
    except (OSError, ValueError, AttributeError):
        return None
