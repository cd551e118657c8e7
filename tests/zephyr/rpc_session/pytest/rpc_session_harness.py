"""Twister pytest harness (testcase.yaml): utvm's host client drives a whole RPC session
against the rpc_server sample running on native_sim, over its UART's pseudo-terminal, as a
user would. Twister launches the board (`dut`); the plain repo-level pytest run does not
collect this file (its name does not start with test_), tests/zephyr/test_zephyr_module.py
runs it through twister when ZEPHYR_BASE is set."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from twister_harness import DeviceAdapter

REPO_ROOT = Path(__file__).resolve().parents[4]
try:
    import utvm  # noqa: F401  (installed: pip install -e ./python)
except ImportError:
    sys.path.insert(0, str(REPO_ROOT / "python"))

from utvm.rpc import RemoteError, Session  # noqa: E402
from utvm.transport import PtyTransport  # noqa: E402

MODEL_DATA = REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "test_data"


def uart_pty(dut: DeviceAdapter) -> str:
    """native_sim says where its UART went: `uart connected to pseudotty: /dev/pts/N`."""
    lines = dut.readlines_until(regex=r"uart connected to pseudotty: /dev/pts/\d+", timeout=30)
    return re.search(r"(/dev/pts/\d+)", lines[-1]).group(1)


@pytest.fixture
def board(dut: DeviceAdapter) -> Iterator[Session]:
    # The board's error messages travel as references into its ELF, which utvm reads as
    # `west utvm run` does.
    firmware = Path(dut.device_config.build_dir) / "zephyr" / "zephyr.exe"
    session = Session(PtyTransport(uart_pty(dut)), reply_timeout=30.0,
                      firmware=firmware).open(start_timeout=20.0)
    yield session
    session.close()


def test_aot_inference_matches_tvm(board: Session) -> None:
    """Executor, input upload, run, output download: TVM 0.18's own result, bit for bit."""
    with board.create_aot_executor() as executor:
        assert executor.get_num_inputs() == 1 and executor.get_num_outputs() == 1
        assert executor.get_input_name(0) == "input"
        executor.set_input("input", np.load(MODEL_DATA / "input_0.npy").astype(np.float32))
        executor.run()
        output = executor.get_output(0)
    expected = np.load(MODEL_DATA / "tvm_crt_output_0.npy")
    assert output.dtype == expected.dtype and output.shape == expected.shape
    assert output.tobytes() == expected.tobytes()


def times_with_the_host_clock(dut: DeviceAdapter) -> bool:
    """Whether this build times code with the host's clock (CONFIG_UTVM_TIMER_HOST_CLOCK)."""
    config = Path(dut.device_config.build_dir) / "zephyr" / ".config"
    return "CONFIG_UTVM_TIMER_HOST_CLOCK=y" in config.read_text().splitlines()


def test_time_evaluator_runs_on_the_board(dut: DeviceAdapter, board: Session) -> None:
    if not times_with_the_host_clock(dut):
        pytest.skip("built without CONFIG_UTVM_TIMER_HOST_CLOCK: its timer cannot measure")
    with board.create_aot_executor() as executor:
        seconds = executor.time(number=2, repeat=3)
    # Times of the host's clock, which vary: only their count and sign are asserted.
    assert len(seconds) == 3 and all(s > 0 for s in seconds), seconds


def test_time_evaluator_fails_when_the_clock_stands_still(dut: DeviceAdapter,
                                                          board: Session) -> None:
    """native_sim's own clock does not move while code runs: the evaluator says it cannot
    measure, instead of a time of 0 that AutoTVM would rank as the fastest."""
    if times_with_the_host_clock(dut):
        pytest.skip("built with CONFIG_UTVM_TIMER_HOST_CLOCK: its timer measures")
    with board.create_aot_executor() as executor, pytest.raises(RemoteError) as caught:
        executor.time(number=2, repeat=3)
    # min_repeat_ms=0: the first reading of 0 ends the try (TVM's rule), and fails it.
    assert "timer did not advance over 2 calls (readings: 1): it cannot measure" in \
        str(caught.value)
    # The board still serves after the failure.
    assert board.get_system_lib() is not None


def test_device_memory_round_trip(board: Session) -> None:
    """Copies larger than one packet are chunked both ways and come back unchanged."""
    data = np.arange(1500, dtype=np.int32) * 7919
    with board.array(data) as tensor:
        assert np.array_equal(tensor.numpy(), data)


def test_server_restarts_after_shutdown(dut: DeviceAdapter) -> None:
    """After the host's kShutdown the server starts over and takes a new session."""
    transport = PtyTransport(uart_pty(dut))
    first = Session(transport, reply_timeout=30.0).open(start_timeout=20.0)
    first.client.shutdown()
    again = Session(transport, reply_timeout=30.0).open(start_timeout=20.0)
    try:
        assert again.session_id != 0
        assert again.get_system_lib() is not None
    finally:
        again.close()
