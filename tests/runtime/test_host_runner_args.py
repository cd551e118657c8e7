"""The host runner's own command line refuses what `utvm run` refuses (issue 11).

`--repeat` has the bound of a board's time evaluator (UTVM_RPC_TIME_EVALUATOR_MAX_NUMBER),
so a runner started by hand cannot spin for 2**63 inferences either.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testsupport import FIXTURES_MISSING, FIXTURES_ROOT

MODEL = FIXTURES_ROOT / "tiny_conv_f32" / "aot_packed"


@pytest.mark.skipif(not MODEL.is_dir(), reason=FIXTURES_MISSING)
@pytest.mark.parametrize("repeat", ["9223372036854775808", "10000001", "0", "12abc", ""])
def test_repeat_outside_the_boards_bound_is_refused(host_runner, tmp_path: Path,
                                                    repeat: str) -> None:
    exe = host_runner(MODEL)
    (tmp_path / "in.bin").write_bytes(bytes(4 * 490))
    proc = subprocess.run([str(exe), "--repeat", repeat, "--input", str(tmp_path / "in.bin"),
                           "--output", str(tmp_path / "out.bin")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert f"error: --repeat must be a whole number from 1 to 10000000, got '{repeat}'" in (
        proc.stderr)
    assert proc.stdout == ""
