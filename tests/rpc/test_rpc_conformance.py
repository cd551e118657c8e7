"""The host board answers TVM 0.18's real host exactly as TVM's own server did.

For every host-driven fixture (aot_packed, graph, graph_params), the recorded host side of
transcript.jsonl is replayed into utvm_host_board built for that MLF (with TVM's 2048-byte
packets, so the host's copy chunks are the recorded ones). Handles and pointers are mapped
from the recorded device's values to ours; everything else must match, including every byte
of the model's outputs. The CMSIS-NN fixture with a transcript (kws_ref_model
cmsis_nn_aot_packed) is replayed the same way, with CMSIS-NN's portable C code compiled in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from board import Board, build_host_board
from replay import load_transcript, replay

from testsupport import (
    CMSIS_NN_FIXTURES_MISSING,
    FIXTURES_MISSING,
    cmsis_nn_dir,
    cmsis_nn_variants,
    fixture_variants,
)


def _transcript_variants(variants: list[Path]) -> list[Path]:
    return [v for v in variants if (v / "transcript.jsonl").exists()]


VARIANTS = _transcript_variants(fixture_variants())
CMSIS_NN_VARIANTS = _transcript_variants(cmsis_nn_variants())


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS or [None],
                         ids=lambda v: f"{v.parent.name}-{v.name}" if v else "no-fixtures")
def test_replay_matches_tvm_server(variant: Path | None, build_root: Path) -> None:
    if variant is None:
        pytest.skip(FIXTURES_MISSING + " (no transcript.jsonl to replay)")
    _replay_into(build_host_board(build_root, variant), variant)


@pytest.mark.slow
@pytest.mark.parametrize("variant", CMSIS_NN_VARIANTS or [None],
                         ids=lambda v: f"{v.parent.name}-{v.name}" if v else "no-fixtures")
def test_cmsis_nn_replay_matches_tvm_server(variant: Path | None, build_root: Path) -> None:
    if variant is None:
        pytest.skip(CMSIS_NN_FIXTURES_MISSING + " (no transcript.jsonl to replay)")
    _replay_into(build_host_board(build_root, variant, cmsis_nn=cmsis_nn_dir()), variant)


def _replay_into(exe: Path, variant: Path) -> None:
    transcript = load_transcript(variant / "transcript.jsonl")
    board = Board(exe)
    try:
        checked = replay(board, transcript)
    finally:
        stderr = board.close()
    assert checked > 20, f"only {checked} requests were replayed"
    assert "ERROR: AddressSanitizer" not in stderr and "runtime error" not in stderr, stderr
    assert board.proc.returncode == 0, f"the board exited with {board.proc.returncode}: {stderr}"


@pytest.mark.parametrize("variants", [VARIANTS, CMSIS_NN_VARIANTS], ids=["plain", "cmsis_nn"])
def test_transcript_outputs_are_tvms_outputs(variants: list[Path]) -> None:
    """The recorded CopyFromRemote bytes are the fixture's TVM output: the replay's byte
    comparison therefore checks bit-exact model outputs."""
    if not variants:
        pytest.skip(FIXTURES_MISSING)
    from wire_codec import MSG_NORMAL, RPC_COPY_ACK, parse_packet

    variant = variants[0]
    transcript = load_transcript(variant / "transcript.jsonl")
    acks = [parse_packet(m.body[8:]) for m in transcript.device if m.type == MSG_NORMAL]
    received = b"".join(p.data for p in acks if p.code == RPC_COPY_ACK)
    expected = np.load(variant / "tvm_crt_output_0.npy").tobytes()
    assert received.endswith(expected)
