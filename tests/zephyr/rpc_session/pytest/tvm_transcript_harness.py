"""Twister pytest harness (testcase.yaml, scenario utvm.rpc_session.tvm_transcript): the
bytes TVM 0.18's own host sent in a recorded session (a shared fixture's transcript.jsonl)
are replayed against the rpc_server sample built for native_sim with its UART on
stdin/stdout; every reply must match what TVM's own server answered, outputs bit for bit.
This is TVM's host talking to the Zephyr build, as far as it can be shown without TVM."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from twister_harness import DeviceAdapter

REPO_ROOT = Path(__file__).resolve().parents[4]
# The replay and its wire codec are the RPC server's conformance helpers (tests/rpc).
sys.path[:0] = [str(REPO_ROOT / "tests" / "rpc"), str(REPO_ROOT / "tests")]

from board import Board  # noqa: E402
from replay import load_transcript, replay  # noqa: E402

VARIANT = REPO_ROOT / ".." / "shared" / "fixtures" / "tvm-0.18" / "tiny_conv_f32" / "aot_packed"


def test_tvm_host_transcript_replays(unlaunched_dut: DeviceAdapter) -> None:
    transcript_path = VARIANT / "transcript.jsonl"
    if not transcript_path.is_file():
        pytest.skip(f"no TVM 0.18 transcript at {transcript_path.resolve()} (the shared "
                    "fixtures beside the repo are absent)")
    exe = Path(unlaunched_dut.device_config.app_build_dir) / "zephyr" / "zephyr.exe"
    board = Board(exe)  # stdin/stdout: the UART (CONFIG_NATIVE_UART_0_ON_STDINOUT)
    try:
        checked = replay(board, load_transcript(transcript_path))
    finally:
        board.proc.kill()
        board.proc.wait()
    assert checked > 20, f"only {checked} requests were replayed"
