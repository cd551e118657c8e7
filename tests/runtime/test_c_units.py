"""Runs every C unit-test case of tests/runtime/c under AddressSanitizer and UBSan.

Each UTEST case becomes one pytest test, run in its own process, so a sanitizer report
or a crash fails exactly that case. Every case runs twice: built for this machine, and
built as a 32-bit device with one-byte enums (-m32 -fshort-enums, the data model of a
Cortex-M under the ARM EABI), where pointer widths and enum sizes differ from the wire's.
"""

from __future__ import annotations

import re
import shutil
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


# build flavour -> extra C flags
FLAVOURS = {"native": "", "ilp32-short-enums": "-m32 -fshort-enums"}


def _compiler_can(flags: str, scratch: Path) -> bool:
    """Whether the C compiler links a program with these flags (-m32 needs gcc-multilib)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return False
    source = scratch / "probe.c"
    source.write_text("#include <stdio.h>\nint main(void) { puts(\"\"); return 0; }\n")
    proc = subprocess.run([cc, *flags.split(), "-fsanitize=address,undefined", str(source),
                           "-o", str(scratch / "probe")], capture_output=True, check=False)
    return proc.returncode == 0


@pytest.fixture(scope="module", params=list(FLAVOURS))
def c_test_build(request: pytest.FixtureRequest, build_root: Path) -> Path:
    flags = FLAVOURS[request.param]
    out = build_root / f"c-unit-tests-{request.param}"
    if flags:
        out.mkdir(parents=True, exist_ok=True)
        if not _compiler_can(flags, out):
            pytest.skip(f"the C compiler cannot build with {flags} and sanitizers "
                        "(apt-get install gcc-multilib): the 32-bit cases were SKIPPED")
    return cmake_build(C_TESTS, out, UTVM_SANITIZE="ON", CMAKE_BUILD_TYPE="Debug",
                       CMAKE_C_FLAGS=flags)


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
