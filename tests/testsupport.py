"""Helpers the tests share: where the repo and the shared fixtures are, CMake builds."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Real TVM 0.18 output lives beside the repo, never inside it.
FIXTURES_ROOT = REPO_ROOT / ".." / "shared" / "fixtures" / "tvm-0.18"
FIXTURES_MISSING = (
    f"TVM 0.18 fixtures not found at {os.path.normpath(FIXTURES_ROOT)} "
    "(expected ../shared/fixtures beside the repo)"
)


def fixture_variants() -> list[Path]:
    """Every <model>/<variant> folder of the shared fixtures, or [] when absent."""
    if not FIXTURES_ROOT.is_dir():
        return []
    return sorted(p.parent for p in FIXTURES_ROOT.glob("*/*/fixture.json"))


def native_sim_toolchain() -> str:
    """ZEPHYR_TOOLCHAIN_VARIANT for native_sim builds: the host's compiler (or LLVM, when that
    is the user's choice), whatever cross toolchain the environment names for other boards."""
    return "llvm" if os.environ.get("ZEPHYR_TOOLCHAIN_VARIANT") == "llvm" else "host"


def cmake_exe() -> str:
    exe = shutil.which("cmake")
    if exe is None:
        pytest.skip("cmake not found: install it (apt-get install cmake, or pip install cmake)")
    return exe


def cmake_build(source: Path, build_dir: Path, **defs: str) -> Path:
    """Configures and builds a CMake project; fails the test with CMake's output on error."""
    args = [cmake_exe(), "-S", str(source), "-B", str(build_dir)]
    args += [f"-D{k}={v}" for k, v in defs.items()]
    for step in (args, [cmake_exe(), "--build", str(build_dir), "-j2"]):
        proc = subprocess.run(step, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            pytest.fail(f"{' '.join(step)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return build_dir
