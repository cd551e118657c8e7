"""A graph whose tables need more than 4 GiB, parsed by a 32-bit build: refused as out of
memory with the true size, where a size cut to 32 bits would lay the tables out in a block
of a few bytes and write past it (graph_parse.c's align8). Needs a 32-bit C compiler
(gcc-multilib) and some 600 MB of memory; built without sanitizers, which would not fit."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "runtime"
PROGRAM = Path(__file__).parent / "c_large" / "graph_tables_past_4gib.c"
SOURCES = [*sorted((RUNTIME / "src" / "core").glob("*.c")),
           *sorted((RUNTIME / "src" / "memory").glob("*.c")),
           *sorted((RUNTIME / "src" / "executors" / "common").glob("*.c")),
           RUNTIME / "src" / "executors" / "graph" / "graph_json.c",
           RUNTIME / "src" / "executors" / "graph" / "graph_parse.c",
           RUNTIME / "ports" / "posix" / "platform.c"]


def test_tables_past_4gib_are_out_of_memory_on_32_bits(tmp_path: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    probe = tmp_path / "probe.c"
    probe.write_text("int main(void) { return 0; }\n")
    if subprocess.run([cc, "-m32", str(probe), "-o", str(tmp_path / "probe")],
                      capture_output=True, check=False).returncode != 0:
        pytest.skip("the C compiler cannot build 32-bit programs (apt-get install "
                    "gcc-multilib): SKIPPED")
    exe = tmp_path / "graph_tables_past_4gib"
    build = subprocess.run(
        [cc, "-m32", "-fshort-enums", "-O2", "-std=gnu11", "-DUTVM_ERROR_MESSAGE_TEXT=1",
         f"-I{RUNTIME / 'include'}", f"-I{RUNTIME / 'src' / 'executors' / 'graph'}",
         str(PROGRAM), *map(str, SOURCES), "-o", str(exe)],
        capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, f"the parse crashed ({run.returncode}):\n{run.stdout}{run.stderr}"
    if run.stdout.startswith("SKIP"):
        pytest.skip(run.stdout.strip())
    # kTvmErrorPlatformNoMemory, and the tables' true size: past 2^32.
    words = run.stdout.split()
    n, entry = int(words[1]), int(words[3])
    assert "0x503 out of memory: the graph's tables need" in run.stdout, run.stdout
    need = int(run.stdout.rsplit("need ", 1)[1].split()[0])
    assert need > 1 << 32
    assert need >= n * entry
