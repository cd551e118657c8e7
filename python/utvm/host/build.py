"""Build host programs for one MLF — the host runner and the host board — and cache them.

A build is keyed by a hash of the MLF's content, the runtime sources and the build
options, and lives in ``<cache>/<program>/<key>/``. The binary is used only once the
``complete`` stamp exists, so an interrupted build is simply redone.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from utvm.errors import UtvmError
from utvm.host.cmake_tool import find_cmake
from utvm.mlf.arm_code import find_arm_code
from utvm.mlf.folder import MLF_ENTRIES
from utvm.mlf.model import ModelLibrary
from utvm.paths import cache_dir, repo_root


@dataclass(frozen=True)
class HostProgram:
    """A CMake project under runtime/ that compiles one MLF into a host executable."""

    label: str  # for messages and the cache folder, e.g. "host-runner"
    subdir: Path  # relative to the repo
    executable: str

    @property
    def title(self) -> str:
        return self.label.replace("-", " ")


HOST_RUNNER = HostProgram("host-runner", Path("runtime") / "host_runner", "utvm_host_runner")
HOST_BOARD = HostProgram("host-board", Path("runtime") / "host_board", "utvm_host_board")
RUNNER_NAME = HOST_RUNNER.executable
HOST_RUNNER_SUBDIR = HOST_RUNNER.subdir
_CACHE_FORMAT = "utvm-host-runner-cache-1"
_MLF_ENTRIES = MLF_ENTRIES
# utvm_add_model() reads the MLF with utvm.mlf (cmake/utvm_describe.py): part of the build.
_SOURCE_DIRS = ("runtime", "cmake", "python/utvm/mlf")
_LOG_TAIL_LINES = 40
_CONFIGURE_TIMEOUT_S = 300
_BUILD_TIMEOUT_S = 1800


def host_runner_source_dir() -> Path:
    """``<repo>/runtime/host_runner``; UtvmError if this checkout does not have it."""
    return _source_dir(HOST_RUNNER)


def _source_dir(program: HostProgram) -> Path:
    source = repo_root() / program.subdir
    if not (source / "CMakeLists.txt").is_file():
        raise UtvmError(
            f"the {program.title} sources are missing ({source / 'CMakeLists.txt'} does not "
            "exist). Update your utvm-zephyr checkout, or point UTVM_ROOT at a complete one."
        )
    return source


def build_host_runner(
    mlf: ModelLibrary,
    sanitize: bool = False,
    verbose: bool = False,
    progress: TextIO | None = None,
) -> Path:
    """Return the path of a host runner built for ``mlf``, building it if not cached.

    Build output goes to ``build.log`` in the cache folder; with ``verbose`` it is also
    streamed to ``progress`` (stderr by default), else only a short summary is.
    """
    return build_host_program(HOST_RUNNER, mlf, sanitize, verbose, progress)


def build_host_board(
    mlf: ModelLibrary,
    sanitize: bool = False,
    verbose: bool = False,
    progress: TextIO | None = None,
    max_packet: int = 65536,
) -> Path:
    """The host "board" (runtime + RPC server + model) for ``mlf``, built if not cached."""
    return build_host_program(HOST_BOARD, mlf, sanitize, verbose, progress,
                              [f"-DUTVM_RPC_MAX_PACKET_SIZE={max_packet}"])


def build_host_program(
    program: HostProgram,
    mlf: ModelLibrary,
    sanitize: bool = False,
    verbose: bool = False,
    progress: TextIO | None = None,
    extra_options: list[str] | None = None,
) -> Path:
    out = progress if progress is not None else sys.stderr
    arm = find_arm_code(mlf)
    if arm is not None:
        raise UtvmError(arm.message(f"this computer, so the {program.title} cannot run it",
                                    mlf.source))
    source = _source_dir(program)
    cmake = find_cmake()
    # This Python reads the MLF for utvm_add_model() and generates the operator signatures.
    options = ["-DCMAKE_BUILD_TYPE=Release", f"-DUTVM_SANITIZE={'ON' if sanitize else 'OFF'}",
               f"-DPython3_EXECUTABLE={sys.executable}", *(extra_options or [])]
    key = build_key(mlf, repo_root(), [str(cmake), program.label, *options])
    workdir = cache_dir() / program.label / key
    binary = workdir / "build" / program.executable
    stamp = workdir / "complete"
    if stamp.is_file() and binary.is_file():
        return binary
    workdir.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(workdir.with_name(f"{key}.lock")):
        if stamp.is_file() and binary.is_file():  # another process finished it meanwhile
            return binary
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        mlf_copy = _copy_mlf(mlf, workdir / "mlf")
        log_path = workdir / "build.log"
        print(f"utvm: building the {program.title} for '{mlf.module_name}' "
              f"({mlf.executor_kind}); cached in {workdir}", file=out, flush=True)
        steps = [
            ("configure", [str(cmake), "-S", str(source), "-B", str(workdir / "build"),
                           f"-DUTVM_MLF_DIR={mlf_copy}", *options], _CONFIGURE_TIMEOUT_S),
            ("compile", [str(cmake), "--build", str(workdir / "build"), "-j2"], _BUILD_TIMEOUT_S),
        ]
        with open(log_path, "w", encoding="utf-8") as log:
            for name, command, timeout in steps:
                _run_step(name, command, timeout, log, log_path, out if verbose else None)
                print(f"utvm: {name} done", file=out, flush=True)
        if not binary.is_file():
            raise UtvmError(
                f"the {program.title} build finished but produced no {binary}. See {log_path}; "
                f"{program.subdir}/CMakeLists.txt must build '{program.executable}'."
            )
        stamp.write_text(f"{mlf.source}\n", encoding="utf-8")
    return binary


def build_key(mlf: ModelLibrary, repo: Path, options: list[str]) -> str:
    """Hash of everything the runner binary depends on: MLF, runtime sources, options."""
    digest = hashlib.sha256(_CACHE_FORMAT.encode())
    for option in options:
        digest.update(b"option\0" + option.encode() + b"\0")
    for variable in ("CC", "CFLAGS", "LDFLAGS", "UTVM_CMSIS_NN_DIR"):
        digest.update(f"env\0{variable}={os.environ.get(variable, '')}\0".encode())
    for entry in _MLF_ENTRIES:
        _hash_tree(digest, mlf.root / entry, f"mlf/{entry}")
    for folder in _SOURCE_DIRS:
        _hash_tree(digest, repo / folder, f"repo/{folder}")
    return digest.hexdigest()[:32]


def _hash_tree(digest: hashlib._Hash, path: Path, label: str) -> None:
    if path.is_file():
        # Names are hashed as the bytes the file system has (they need not be UTF-8).
        digest.update(b"file\0" + os.fsencode(label) + f"\0{path.stat().st_size}\0".encode())
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return
    if not path.is_dir():
        return
    for child in sorted(path.iterdir()):
        if child.name.startswith(".") or (child.is_dir() and child.name.startswith("build")):
            continue  # hidden files and in-tree build folders do not affect the result
        if child.is_symlink() and child.is_dir():
            continue  # never followed: it could loop back (open_mlf refuses them anyway)
        if child.name == "__pycache__":
            continue  # written by Python whenever the package is imported
        _hash_tree(digest, child, f"{label}/{child.name}")


def _copy_mlf(mlf: ModelLibrary, destination: Path) -> Path:
    """Keep the MLF next to its build so the cached build stays self-contained."""
    destination.mkdir(parents=True)
    for entry in _MLF_ENTRIES:
        path = mlf.root / entry
        if path.is_dir():
            shutil.copytree(path, destination / entry)
        elif path.is_file():
            shutil.copy2(path, destination / entry)
    return destination


def _run_step(
    name: str,
    command: list[str],
    timeout: int,
    log: TextIO,
    log_path: Path,
    echo: TextIO | None,
) -> None:
    log.write(f"$ {' '.join(command)}\n")
    log.flush()
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace",
        )
    except OSError as exc:
        raise UtvmError(f"cannot start {command[0]} for the host runner {name}: {exc}") from exc
    assert process.stdout is not None
    # A silent, hung step never yields a line, so the time limit is a separate timer.
    watchdog = threading.Timer(timeout, process.kill)
    watchdog.start()
    try:
        with process:
            for line in process.stdout:
                log.write(line)
                if echo is not None:
                    echo.write(line)
            code = process.wait()
    finally:
        watchdog.cancel()
    log.flush()
    if time.monotonic() - started >= timeout:
        raise UtvmError(f"the host runner {name} took over {timeout} s and was stopped; "
                        f"see {log_path}.")
    if code != 0:
        tail = _tail(log_path)
        raise UtvmError(
            f"the host runner {name} step failed (exit code {code}). Last lines of "
            f"{log_path}:\n{tail}"
        )


def _tail(path: Path) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(lines[-_LOG_TAIL_LINES:])


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Serialize builds of the same key across processes (POSIX advisory lock)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: builds of one key are simply not serialized
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
