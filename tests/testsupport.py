"""Helpers the tests share: where the repo and the shared fixtures are, CMake builds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
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


# Models compiled with TVM's CMSIS-NN partitioning: a root of their own, and the CMSIS-NN
# source tree they need (UTVM_CMSIS_NN_DIR, else the copy beside the fixtures).
CMSIS_NN_FIXTURES_ROOT = REPO_ROOT / ".." / "shared" / "fixtures" / "tvm-0.18-cmsis-nn"
CMSIS_NN_FIXTURES_MISSING = (
    f"TVM 0.18 CMSIS-NN fixtures not found at {os.path.normpath(CMSIS_NN_FIXTURES_ROOT)}"
)


def cmsis_nn_variants() -> list[Path]:
    """Every <model>/<variant> folder of the CMSIS-NN fixtures, or [] when absent."""
    if not CMSIS_NN_FIXTURES_ROOT.is_dir():
        return []
    return sorted(p.parent for p in CMSIS_NN_FIXTURES_ROOT.glob("*/*/fixture.json"))


def cmsis_nn_dir() -> Path:
    """The CMSIS-NN source tree for tests: UTVM_CMSIS_NN_DIR, else
    ../shared/third_party/cmsis-nn-*; skips the test when there is none."""
    named = os.environ.get("UTVM_CMSIS_NN_DIR")
    if named:
        return Path(named).resolve()
    third_party = REPO_ROOT / ".." / "shared" / "third_party"
    trees = sorted(third_party.glob("cmsis-nn-*/Include/arm_nnfunctions.h"))
    if not trees:
        pytest.skip("no CMSIS-NN source tree: set UTVM_CMSIS_NN_DIR to a CMSIS-NN v4.1.0 "
                    "checkout (or put one at ../shared/third_party/cmsis-nn-<commit>)")
    return trees[-1].parents[1].resolve()


def native_sim_toolchain() -> str:
    """ZEPHYR_TOOLCHAIN_VARIANT for native_sim builds: the host's compiler (or LLVM, when that
    is the user's choice), whatever cross toolchain the environment names for other boards."""
    return "llvm" if os.environ.get("ZEPHYR_TOOLCHAIN_VARIANT") == "llvm" else "host"


# Zephyr's own pip requirements (in <ZEPHYR_BASE>/scripts): its build scripts need the base
# list; twister needs the build-test and run-test lists too.
ZEPHYR_BUILD_REQUIREMENTS = ("requirements-base.txt",)
ZEPHYR_TWISTER_REQUIREMENTS = (*ZEPHYR_BUILD_REQUIREMENTS, "requirements-build-test.txt",
                               "requirements-run-test.txt")


def require_zephyr_python(zephyr_base: str | Path, files: tuple[str, ...]) -> None:
    """Fails with the pip command to run when this Python lacks packages Zephyr's requirement
    ``files`` list (instead of a ModuleNotFoundError deep inside a Zephyr script)."""
    from packaging.requirements import InvalidRequirement, Requirement

    missing = []
    for name in files:
        path = Path(zephyr_base) / "scripts" / name
        if not path.is_file():
            continue  # an older or trimmed tree: its scripts say what they miss
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue  # a pip option or URL form this check does not need to understand
            if req.marker is not None and not req.marker.evaluate():
                continue
            try:
                metadata.distribution(req.name)
            except metadata.PackageNotFoundError:
                missing.append(req.name)
    if missing:
        lists = " ".join(f"-r {Path(zephyr_base) / 'scripts' / f}" for f in files)
        pytest.fail(f"Zephyr's Python requirements are not all installed for {sys.executable} "
                    f"(missing: {', '.join(sorted(set(missing)))}). Install them in the same "
                    f"environment: python3 -m pip install {lists}", pytrace=False)


def cmake_exe() -> str:
    exe = shutil.which("cmake")
    if exe is None:
        pytest.skip("cmake not found: install it (apt-get install cmake, or pip install cmake)")
    return exe


def cmake_build(source: Path, build_dir: Path, **defs: str) -> Path:
    """Configures and builds a CMake project; fails the test with CMake's output on error.

    utvm_add_model() reads models with this Python (it has the utvm package's needs),
    unless ``Python3_EXECUTABLE`` is given.
    """
    defs.setdefault("Python3_EXECUTABLE", sys.executable)
    args = [cmake_exe(), "-S", str(source), "-B", str(build_dir)]
    args += [f"-D{k}={v}" for k, v in defs.items()]
    for step in (args, [cmake_exe(), "--build", str(build_dir), "-j2"]):
        proc = subprocess.run(step, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            pytest.fail(f"{' '.join(step)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return build_dir
