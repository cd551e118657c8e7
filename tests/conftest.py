"""Session fixtures shared by all tests (helpers live in testsupport.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from testsupport import REPO_ROOT, cmake_build


@pytest.fixture(scope="session")
def build_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build tree per test session, shared by the tests that compile C."""
    return tmp_path_factory.mktemp("builds")


@pytest.fixture(scope="session")
def host_runner(build_root: Path):
    """Builds (once per MLF and flavour) the host runner for a model; returns its path."""

    def build(mlf: Path, sanitize: bool = True, cmsis_nn: Path | None = None) -> Path:
        """``cmsis_nn``: the CMSIS-NN source tree, for models that call CMSIS-NN."""
        key = hashlib.sha256(f"{mlf.resolve()}:{sanitize}:{cmsis_nn}".encode()).hexdigest()[:12]
        out = build_root / f"runner-{mlf.parent.name}-{mlf.name}-{key}"
        exe = out / "utvm_host_runner"
        if not exe.exists():
            extra = {} if cmsis_nn is None else {"UTVM_CMSIS_NN_DIR": str(cmsis_nn)}
            cmake_build(
                REPO_ROOT / "runtime" / "host_runner",
                out,
                UTVM_MLF_DIR=str(mlf.resolve()),
                UTVM_SANITIZE="ON" if sanitize else "OFF",
                CMAKE_BUILD_TYPE="Release",
                **extra,
            )
        return exe

    return build
