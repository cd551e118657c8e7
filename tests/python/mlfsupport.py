"""Helpers for tests that build MLFs by hand and run them through utvm_add_model()."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np

from testsupport import REPO_ROOT, cmake_build

# A plain (non-Zephyr) CMake application that adds a model with utvm_add_model().
APP = REPO_ROOT / "tests" / "python" / "add_model_app"
# TVM's parameter blob of an empty dict (crt-abi.md §8.3): magic, reserved, 0 names, 0 arrays.
EMPTY_PARAMS = struct.pack("<QQQQ", 0xF7E58D4F05049CB7, 0, 0, 0)


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    """Writes ``files`` (relative path -> text or bytes) under ``root``; returns ``root``."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def run_app(mlf: Path, build: Path, inputs: list[np.ndarray], outputs: int) -> list[bytes]:
    """Builds the plain CMake app with ``mlf`` and runs it; the outputs' raw bytes."""
    cmake_build(APP, build, UTVM_TEST_MLF=str(mlf))
    in_files = []
    for i, array in enumerate(inputs):
        in_files.append(build / f"in{i}.bin")
        array.tofile(in_files[-1])
    out_files = [build / f"out{i}.bin" for i in range(outputs)]
    proc = subprocess.run([str(build / "app"), *map(str, in_files), *map(str, out_files)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return [path.read_bytes() for path in out_files]
