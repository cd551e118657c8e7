"""Long runs over RPC: the first error is the one reported, the timed runs get a limit that
fits the work (--timeout, or one scaled from a first timed run), never the link's short
reply timeout."""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np
import pytest
from hostrpc_transcripts import REPO_ROOT

from utvm.cli import main
from utvm.rpc import Session, TransportTimeout
from utvm.rpc.model_run import (
    FIRST_RUN_TIMEOUT_S,
    RUN_TIMEOUT_FACTOR,
    RUN_TIMEOUT_MARGIN_S,
    run_model,
    scaled_run_timeout,
    timed_runs,
)

BUNDLED = REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "aot_packed"
BUNDLED_DATA = BUNDLED.parent / "test_data"
MANY_RUNS = 10_000_000  # minutes of work for the host board, and the server's largest batch


def _require_tools() -> None:
    if shutil.which("cmake") is None or shutil.which("cc") is None:
        pytest.skip("cmake and a C compiler are needed to build the host board")


class _RecordingExecutor:
    """Stands in for an executor: records the timed calls and the limits they got."""

    def __init__(self, seconds_per_run: float) -> None:
        self.calls: list[tuple[int, float | None]] = []
        self.seconds_per_run = seconds_per_run

    def time(self, number: int = 1, repeat: int = 1, min_repeat_ms: int = 0,
             timeout: float | None = None) -> list[float]:
        self.calls.append((number, timeout))
        return [self.seconds_per_run]


def test_the_default_limit_comes_from_a_first_timed_run() -> None:
    executor: Any = _RecordingExecutor(0.002)
    seconds, last_run_limit = timed_runs(executor, 1000)
    assert seconds == 0.002
    (first, first_limit), (number, limit) = executor.calls
    assert (first, first_limit) == (1, FIRST_RUN_TIMEOUT_S)
    assert number == 1000
    assert limit == pytest.approx(RUN_TIMEOUT_MARGIN_S + RUN_TIMEOUT_FACTOR * 1000 * 0.002,
                                  abs=1.0)  # plus the (tiny) duration of the first call
    assert last_run_limit < limit


def test_one_run_is_timed_once() -> None:
    executor: Any = _RecordingExecutor(0.5)
    timed_runs(executor, 1)
    assert executor.calls == [(1, FIRST_RUN_TIMEOUT_S)]


def test_a_given_timeout_is_used_as_is() -> None:
    executor: Any = _RecordingExecutor(0.5)
    assert timed_runs(executor, 20, timeout=7.5) == (0.5, 7.5)
    assert executor.calls == [(20, 7.5)]


def test_the_scaled_limit_grows_with_the_work() -> None:
    assert scaled_run_timeout(10, 0.1, 0.2) < scaled_run_timeout(100, 0.1, 0.2)
    # A board whose timer reads 0 (QEMU without icount): the call's own time stands in.
    assert scaled_run_timeout(100, 0.0, 0.2) == pytest.approx(
        RUN_TIMEOUT_MARGIN_S + 0.2 + RUN_TIMEOUT_FACTOR * 100 * 0.2)


@pytest.fixture
def board() -> Any:
    _require_tools()
    from utvm.host.board import start_host_board
    from utvm.mlf import open_mlf

    with open_mlf(BUNDLED) as mlf, Session(start_host_board(mlf, "pipe")) as session:
        yield session, mlf


def test_a_timed_call_that_times_out_reports_the_timeout_not_the_cleanup(board: Any) -> None:
    session, _ = board
    with pytest.raises(TransportTimeout) as info, session.create_aot_executor() as executor:
        executor.time(number=MANY_RUNS, repeat=1, timeout=0.3)
    message = str(info.value)
    assert "no reply" in message and "within 0.3 s" in message
    assert "time_evaluator('run')" in message and "earlier request" not in message


def test_run_model_names_the_limit_and_the_option(board: Any) -> None:
    session, mlf = board
    data = np.load(BUNDLED_DATA / "input_0.npy")
    with pytest.raises(TransportTimeout) as info:
        run_model(session.client, mlf, [data], repeat=MANY_RUNS, timeout=0.3)
    message = str(info.value)
    assert f"did not finish {MANY_RUNS} runs within 0.3 s" in message
    assert "--timeout" in message


def test_cli_timeout_ends_a_long_run_with_one_error_line(capsys: Any, tmp_path: Any) -> None:
    _require_tools()
    code = main(["run", str(BUNDLED), "--repeat", str(MANY_RUNS), "--timeout", "0.3",
                 "--output-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code != 0
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "within 0.3 s" in errors[0], err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf", "soon"])
def test_cli_refuses_a_timeout_that_is_not_a_positive_number(capsys: Any, bad: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", str(BUNDLED), "--timeout", bad])
    assert info.value.code == 2
    assert "expected a positive number of seconds" in capsys.readouterr().err
