"""The by-reference writer (runtime/src/core/error.c with UTVM_ERROR_MESSAGE_TEXT=0): what it
records for every kind of argument (32- and 64-bit integers, strings, NULL, a code that is
not a constant, six arguments, its own last error), expanded by the host from the program's
.utvm_msgs, reads exactly as the text the same failures give with the text on the device.
Built for this machine and, where the compiler can, as a 32-bit program."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from utvm.rpc.messages import MessageTable

REPO = Path(__file__).resolve().parents[2]
PROGRAM = Path(__file__).parent / "c_reference" / "reference_messages.c"
ERROR_C = REPO / "runtime" / "src" / "core" / "error.c"
REFERENCE = re.compile(r"error 0x[0-9a-f]+ #[0-9a-f]{8}( \S+)*")
MESSAGE_SIZE = 256  # UTVM_ERROR_MESSAGE_SIZE's default


def _run(tmp: Path, flags: list[str], text: bool) -> tuple[Path, list[str]]:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    exe = tmp / ("text" if text else "reference")
    build = subprocess.run([cc, *flags, "-std=c11", "-Wall", "-Wextra", "-Werror",
                            f"-I{REPO / 'runtime' / 'include'}",
                            f"-DUTVM_ERROR_MESSAGE_TEXT={int(text)}", str(PROGRAM), str(ERROR_C),
                            "-o", str(exe)], capture_output=True, text=True, check=False)
    if build.returncode != 0 and flags:
        pytest.skip(f"the C compiler cannot build with {' '.join(flags)}: {build.stderr[-200:]}")
    assert build.returncode == 0, build.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return exe, out.splitlines()


@pytest.mark.parametrize("flags", [[], ["-m32", "-fshort-enums"]], ids=["native", "ilp32"])
def test_references_expand_to_the_text(tmp_path: Path, flags: list[str]) -> None:
    exe, references = _run(tmp_path, flags, text=False)
    _, texts = _run(tmp_path, flags, text=True)
    table = MessageTable.from_elf(exe)
    assert len(references) == len(texts) == 10
    for reference, text in zip(references[:-1], texts[:-1], strict=True):
        code, raw = reference.split(" ", 1)
        assert REFERENCE.fullmatch(raw), raw
        assert f"{code} {table.expand(raw)}" == text
    # A message longer than the buffer is cut at its end in both forms.
    assert len(references[-1].split(" ", 1)[1]) == MESSAGE_SIZE - 1
    assert len(texts[-1].split(" ", 1)[1]) == MESSAGE_SIZE - 1
