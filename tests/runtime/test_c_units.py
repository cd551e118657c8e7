"""Runs every C unit-test case of tests/runtime/c under AddressSanitizer and UBSan.

Each UTEST case becomes one pytest test, run in its own process, so a sanitizer report
or a crash fails exactly that case.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from testsupport import REPO_ROOT, cmake_build

C_TESTS = REPO_ROOT / "tests" / "runtime" / "c"
CASE = re.compile(r"^UTEST\((\w+)\)", re.MULTILINE)


def _cases() -> list[tuple[str, str]]:
    return [
        (src.stem, name)
        for src in sorted(C_TESTS.glob("test_*.c"))
        for name in CASE.findall(src.read_text())
    ]


@pytest.fixture(scope="module")
def c_test_build(build_root: Path) -> Path:
    return cmake_build(C_TESTS, build_root / "c-unit-tests", UTVM_SANITIZE="ON",
                       CMAKE_BUILD_TYPE="Debug")


@pytest.mark.parametrize(("program", "case"), _cases(), ids=lambda v: v)
def test_c_case(c_test_build: Path, program: str, case: str) -> None:
    exe = c_test_build / program
    if not exe.exists():
        pytest.skip(f"{program} is not built: the runtime component it tests is not present yet")
    env = {"ASAN_OPTIONS": "detect_leaks=0", "UBSAN_OPTIONS": "print_stacktrace=1",
           "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([str(exe), case], capture_output=True, text=True, timeout=120,
                          check=False, env=env)
    assert proc.returncode == 0, f"{program} {case} failed:\n{proc.stdout}\n{proc.stderr}"
    assert f"PASS {case}" in proc.stdout
