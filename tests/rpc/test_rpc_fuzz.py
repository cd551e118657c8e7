"""Builds the libFuzzer target of the RPC server (fuzz/) and fuzzes it for a bounded time.

Any crash, sanitizer report, leak of the time budget or hang fails the test; libFuzzer
prints the input that triggered it (fuzz/README.md says how to reproduce).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testsupport import REPO_ROOT, cmake_build

FUZZ_DIR = REPO_ROOT / "fuzz"
FUZZ_SECONDS = 20


@pytest.fixture(scope="module")
def fuzzer(build_root: Path) -> Path:
    clang = shutil.which("clang")
    if clang is None:
        pytest.skip("clang not found: the libFuzzer target needs it (apt-get install -y clang)")
    out = cmake_build(FUZZ_DIR, build_root / "rpc-fuzzer", CMAKE_C_COMPILER=clang)
    return out / "rpc_server_fuzzer"


def test_rpc_server_survives_fuzzing(fuzzer: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    subprocess.run([sys.executable, str(FUZZ_DIR / "make_seeds.py"), str(corpus)], check=True)
    assert any(corpus.iterdir()), "make_seeds.py wrote no seeds"
    cmd = [str(fuzzer), f"-dict={FUZZ_DIR / 'rpc_server.dict'}", f"-max_total_time={FUZZ_SECONDS}",
           "-timeout=10", "-rss_limit_mb=2048", f"-artifact_prefix={tmp_path}/", "-seed=1",
           str(corpus)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=FUZZ_SECONDS + 120,
                          check=False)
    artifacts = [p.name for p in tmp_path.iterdir() if p.name != "corpus"]
    assert proc.returncode == 0 and not artifacts, (
        f"the fuzzer found a failure ({artifacts}):\n{proc.stderr[-6000:]}")
    assert "Done" in proc.stderr
