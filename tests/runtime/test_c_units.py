"""Runs every C unit-test case of tests/runtime/c under AddressSanitizer and UBSan.

Each UTEST case becomes one pytest test, run in its own process, so a sanitizer report
or a crash fails exactly that case. Every case runs built for this machine and built as a
32-bit device with one-byte enums (-m32 -fshort-enums, the data model of a Cortex-M under
the ARM EABI), where pointer widths and enum sizes differ from the wire's; each of the two
with message text in the program and with messages by reference (UTVM_ERROR_MESSAGE_TEXT=0,
the devices' default). With text the program checks its messages itself; by reference it
prints each message check (tests/runtime/c/utest.h) and the check is done here, on the
message expanded from the program's own .utvm_msgs, as the host expands a board's.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testsupport import REPO_ROOT, cmake_build
from utvm.rpc.messages import SECTION, MessageTable

C_TESTS = REPO_ROOT / "tests" / "runtime" / "c"
CASE = re.compile(r"^UTEST\((\w+)\)", re.MULTILINE)


def _cases() -> list[tuple[str, str]]:
    return [
        (src.stem, name)
        for src in sorted(C_TESTS.glob("test_*.c"))
        for name in CASE.findall(src.read_text())
    ]


@dataclass(frozen=True)
class Flavour:
    flags: str = ""  # extra C flags
    by_reference: bool = False  # messages by reference (UTVM_ERROR_MESSAGE_TEXT=OFF)


ILP32 = "-m32 -fshort-enums"
FLAVOURS = {
    "native": Flavour(),
    "ilp32-short-enums": Flavour(ILP32),
    "by-reference": Flavour(by_reference=True),
    "ilp32-by-reference": Flavour(ILP32, by_reference=True),
}

# What utest.h prints for a message check by reference (lengths in bytes, then the texts).
EXPECTATION = re.compile(rb"^utest-expect \w+ (\S+:\d+) (has|is) ", re.MULTILINE)
UNEXPANDED = re.compile(r"error 0x[0-9a-f]+ #([0-9a-f]{8})")
# The checks of a message's text in a case's source (utest.h, test_rpc_support.h).
MESSAGE_CHECK = re.compile(r"\b(CHECK_FAILS_WITH|CHECK_LAST_ERROR_HAS|CHECK_LAST_ERROR_IS"
                           r"|is_exception)\(")


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


@dataclass(frozen=True)
class CTestBuild:
    path: Path
    by_reference: bool


@pytest.fixture(scope="module", params=list(FLAVOURS))
def c_test_build(request: pytest.FixtureRequest, build_root: Path) -> CTestBuild:
    flavour = FLAVOURS[request.param]
    out = build_root / f"c-unit-tests-{request.param}"
    if flavour.flags:
        out.mkdir(parents=True, exist_ok=True)
        if not _compiler_can(flavour.flags, out):
            pytest.skip(f"the C compiler cannot build with {flavour.flags} and sanitizers "
                        "(apt-get install gcc-multilib): the 32-bit cases were SKIPPED")
    cmake_build(C_TESTS, out, UTVM_SANITIZE="ON", CMAKE_BUILD_TYPE="Debug",
                CMAKE_C_FLAGS=flavour.flags,
                UTVM_ERROR_MESSAGE_TEXT="OFF" if flavour.by_reference else "ON")
    return CTestBuild(out, flavour.by_reference)


@pytest.mark.parametrize(("program", "case"), _cases(), ids=lambda v: v)
def test_c_case(c_test_build: CTestBuild, program: str, case: str) -> None:
    exe = c_test_build.path / program
    if not exe.exists():
        pytest.skip(f"{program} is not built: the runtime component it tests is not present yet")
    env = {"ASAN_OPTIONS": "detect_leaks=0", "UBSAN_OPTIONS": "print_stacktrace=1",
           "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([str(exe), case], capture_output=True, timeout=120, check=False,
                          env=env)
    stdout = proc.stdout.decode(errors="replace")
    assert proc.returncode == 0, (f"{program} {case} failed:\n{stdout}\n"
                                  f"{proc.stderr.decode(errors='replace')}")
    assert f"PASS {case}" in stdout
    if c_test_build.by_reference:
        _check_messages_by_reference(exe, program, case, proc.stdout)


def _check_messages_by_reference(exe: Path, program: str, case: str, stdout: bytes) -> None:
    """Every message check the case printed holds on the message expanded from the ELF, and
    every reference in it expands."""
    checks = list(_printed_checks(stdout))
    if MESSAGE_CHECK.search(_case_source(program, case)):
        assert checks, f"{program} {case} checks messages but printed no check by reference"
    table = _message_table(exe)
    problems = []
    for where, kind, expected, message in checks:
        expanded = table.expand(message)
        wanted = f"expected it to {'be' if kind == 'is' else 'contain'} {expected!r}"
        unknown = UNEXPANDED.search(expanded)
        if unknown is not None:
            why = (f"its arguments do not read as {unknown.group(1)}'s"
                   if table.lookup(int(unknown.group(1), 16))
                   else f"#{unknown.group(1)} is no message of the program's {SECTION}")
            problems.append(f"{where}: {message!r} does not expand ({why}); {wanted}")
        elif not (expanded == expected if kind == "is" else expected in expanded):
            problems.append(f"{where}: {expanded!r} (sent as {message!r}); {wanted}")
    if problems:
        pytest.fail(f"{program} {case}: messages by reference, expanded from the ELF:\n"
                    + "\n".join(problems), pytrace=False)


def _printed_checks(stdout: bytes) -> Iterator[tuple[str, str, str, str]]:
    """(file:line, "has" or "is", expected text, message) of each check utest.h printed."""
    for m in EXPECTATION.finditer(stdout):
        expected, end = _counted(stdout, m.end())
        message, _ = _counted(stdout, end + 1)
        where = m.group(1).decode()
        yield Path(where).name, m.group(2).decode(), expected, message


def _counted(out: bytes, pos: int) -> tuple[str, int]:
    """The text `<length>:<bytes>` at out[pos:], and where it ends."""
    colon = out.index(b":", pos)
    end = colon + 1 + int(out[pos:colon])
    return out[colon + 1:end].decode(errors="replace"), end


@functools.cache
def _case_source(program: str, case: str) -> str:
    """The source of one UTEST case: from its UTEST line to the next (or the file's end)."""
    text = (C_TESTS / f"{program}.c").read_text()
    starts = list(CASE.finditer(text))
    for here, after in zip(starts, [*starts[1:], None], strict=True):
        if here.group(1) == case:
            return text[here.start():after.start() if after else len(text)]
    raise AssertionError(f"no UTEST({case}) in {program}.c")


@functools.cache
def _message_table(exe: Path) -> MessageTable:
    return MessageTable.from_elf(exe)
