"""Simulated boards and serial links end to end, without Zephyr: the host board (our runtime
and RPC server as a local program on a PTY) plays native_sim, wrapped so it announces its
PTY the way native_sim does. `utvm run` then drives a real RPC session over it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from westsupport import BUNDLED_DATA, BUNDLED_MODEL, python_script, write_zephyr_build

from utvm.board.build_dir import read_build
from utvm.board.simulator import (
    RunningSimulator,
    native_sim_pty_picker,
    qemu_pty_picker,
    start_simulator,
)
from utvm.board.state import BUILD_RECORD, SIMULATOR_RECORD, read_record, write_record
from utvm.board.targets import NativeSimTarget, target_for
from utvm.cli import main
from utvm.errors import UtvmError
from utvm.mlf import open_mlf

INPUT = BUNDLED_DATA / "input_0.npy"
EXPECTED = BUNDLED_DATA / "tvm_crt_output_0.npy"

NATIVE_SIM_DTS = """/ {
	chosen { zephyr,console = &uart0; };
	uart0: uart { };
	uart1: uart_1 { };
};
"""


@pytest.fixture(scope="module")
def host_board() -> Path:
    from utvm.host import build_host_board

    if shutil.which("cmake") is None:
        pytest.skip("cmake not found: the host board cannot be built")
    with open_mlf(BUNDLED_MODEL) as mlf:
        return build_host_board(mlf)


def fake_native_sim(tmp_path: Path, board: Path) -> Path:
    """A native_sim-like build folder whose zephyr.exe is the host board on a PTY."""
    folder = write_zephyr_build(tmp_path / "build", kconfig={"CONFIG_ARCH_POSIX": "y",
                                                             "CONFIG_UTVM_TIMER_HOST_CLOCK": "y"},
                                cache={"UTVM_MODEL:PATH": str(BUNDLED_MODEL)})
    (folder / "zephyr" / "zephyr.elf").write_bytes(b"")
    (folder / "zephyr" / "zephyr.dts").write_text(NATIVE_SIM_DTS)
    python_script(folder / "zephyr" / "zephyr.exe", f"""
        import re, subprocess, sys
        board = subprocess.Popen([{str(board)!r}, "--pty"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for line in board.stderr:
            found = re.search(rb"pty (\\S+)", line)
            if found:
                print("uart_1 connected to pseudotty: /dev/null-not-this-one", flush=True)
                print("uart connected to pseudotty: " + found.group(1).decode(), flush=True)
                break
        sys.exit(board.wait())
    """)
    return folder


def check_output(output_dir: Path) -> None:
    output = np.load(output_dir / "output_0.npy")
    assert output.tobytes() == np.load(EXPECTED).tobytes()  # TVM 0.18's result, bit for bit


def test_run_starts_the_simulator_for_the_run(tmp_path: Path, host_board: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = fake_native_sim(tmp_path, host_board)
    status = main(["run", "-d", str(folder), "--input", str(INPUT), "--repeat", "2",
                   "--output-dir", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    check_output(tmp_path / "out")
    assert "started native_sim for this run" in captured.err
    assert re.search(r"time per inference: .* \(native_sim over /dev/pts/\d+, timed on the "
                     r"board, aot_packed, mean of 2 runs\)", captured.out)
    assert ("note: times are this computer's monotonic clock (native_sim's own clock stands "
            "still while code runs)") in captured.err
    pid = int(re.search(r"pid (\d+)", captured.err).group(1))
    assert not _running(pid)  # stopped after the run


def test_native_sim_without_the_host_clock_says_its_timer_cannot_measure(tmp_path: Path) -> None:
    folder = write_zephyr_build(tmp_path / "build", kconfig={"CONFIG_ARCH_POSIX": "y"})
    kind = NativeSimTarget(read_build(folder)).time_kind()
    assert kind.startswith("none: native_sim's clock stands still")
    assert "Rebuild with CONFIG_UTVM_TIMER_HOST_CLOCK=y" in kind


def test_upload_in_slices_with_progress(tmp_path: Path, host_board: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from utvm.board import board_run
    from utvm.board.progress import ByteProgress

    monkeypatch.setattr(board_run, "UPLOAD_SLICE_BYTES", 1000)  # 3072 bytes: 4 slices
    monkeypatch.setattr(board_run, "ByteProgress",
                        lambda label, out: ByteProgress(label, out, min_bytes=0))
    folder = fake_native_sim(tmp_path, host_board)
    assert main(["run", "-d", str(folder), "--input", str(INPUT),
                 "--output-dir", str(tmp_path / "out")]) == 0
    check_output(tmp_path / "out")
    err = capsys.readouterr().err
    for percent in (25, 50, 75, 100):
        assert f"utvm: uploading input 'input': {percent}% of 3.0 KiB" in err


def test_run_without_model_or_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 2
    assert "nothing to run: no MLF given" in capsys.readouterr().err


def test_flash_keeps_it_running_for_later_runs(tmp_path: Path, host_board: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    folder = fake_native_sim(tmp_path, host_board)
    assert main(["flash", "-d", str(folder), "--skip-rebuild"]) == 0
    simulator = RunningSimulator.from_record(read_record(folder / "utvm", SIMULATOR_RECORD))
    assert simulator is not None and simulator.alive()
    try:
        for run in range(2):
            assert main(["run", "-d", str(folder), "--input", str(INPUT),
                         "--output-dir", str(tmp_path / f"out{run}")]) == 0
            check_output(tmp_path / f"out{run}")
        assert "using the native_sim board started by flash" in capsys.readouterr().err
        # Flashing again replaces the running simulator.
        assert main(["flash", "-d", str(folder), "--skip-rebuild"]) == 0
        assert not _running(simulator.pid)
    finally:
        assert main(["flash", "-d", str(folder), "--stop"]) == 0
    assert read_record(folder / "utvm", SIMULATOR_RECORD) is None
    assert "stopped the native_sim board" in capsys.readouterr().err


def test_run_after_a_rebuild_restarts_the_board_flash_started(
        tmp_path: Path, host_board: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A build since flash made a new image: run does not talk to the old firmware."""
    folder = fake_native_sim(tmp_path, host_board)
    assert main(["flash", "-d", str(folder), "--skip-rebuild"]) == 0
    old = RunningSimulator.from_record(read_record(folder / "utvm", SIMULATOR_RECORD))
    assert old is not None and old.alive()
    try:
        later = time.time() + 5
        os.utime(folder / "zephyr" / "zephyr.elf", (later, later))  # what a rebuild leaves
        assert main(["run", "-d", str(folder), "--input", str(INPUT),
                     "--output-dir", str(tmp_path / "out")]) == 0
        check_output(tmp_path / "out")
        err = capsys.readouterr().err
        assert (f"the native_sim board started by flash (pid {old.pid}) runs the firmware "
                "from before the last build; starting the new one in its place") in err
        assert not _running(old.pid)
        new = RunningSimulator.from_record(read_record(folder / "utvm", SIMULATOR_RECORD))
        assert new is not None and new.pid != old.pid and new.alive()
    finally:
        assert main(["flash", "-d", str(folder), "--stop"]) == 0


def test_flash_options_that_make_no_sense_for_a_simulator(tmp_path: Path, host_board: Path,
                                                          capsys) -> None:
    folder = fake_native_sim(tmp_path, host_board)
    assert main(["flash", "-d", str(folder), "--runner", "jlink"]) == 2
    assert "simulated on this computer: --runner and --dev-id do not apply" in \
        capsys.readouterr().err


def test_run_over_a_serial_port(tmp_path: Path, host_board: Path) -> None:
    """--port opens the link with pyserial (here the host board's PTY): no build needed."""
    board = subprocess.Popen([str(host_board), "--pty"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        port = re.search(rb"pty (\S+)", board.stderr.readline()).group(1).decode()
        assert main(["run", str(BUNDLED_MODEL), "--port", port, "--input", str(INPUT),
                     "--output-dir", str(tmp_path / "out")]) == 0
        check_output(tmp_path / "out")
    finally:
        board.terminate()
        board.wait()


def test_serial_port_that_is_gone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["run", str(BUNDLED_MODEL), "--port", str(tmp_path / "ttyACM9")])
    assert status == 2
    assert "ttyACM9" in capsys.readouterr().err


def test_standalone_app_builds_are_not_run_over_rpc(tmp_path: Path, host_board: Path,
                                                    capsys) -> None:
    folder = fake_native_sim(tmp_path, host_board)
    write_record(folder / "utvm", BUILD_RECORD, {"app": "aot_inference", "host_driven": False})
    assert main(["run", "-d", str(folder)]) == 2
    assert "runs the model by itself" in capsys.readouterr().err


def test_flash_runs_a_standalone_app_in_the_foreground(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_zephyr_build(tmp_path / "build", kconfig={"CONFIG_ARCH_POSIX": "y"})
    (folder / "zephyr" / "zephyr.elf").write_bytes(b"")
    python_script(folder / "zephyr" / "zephyr.exe", """
        print("output[0] output float32[40 bytes]: 0.026974", flush=True)
        print("aot_inference: PASS", flush=True)
    """)
    write_record(folder / "utvm", BUILD_RECORD, {"app": "aot_inference", "host_driven": False})
    assert main(["flash", "-d", str(folder), "--skip-rebuild"]) == 0
    captured = capsys.readouterr()
    assert "aot_inference: PASS" in captured.out  # streamed as it came
    assert "native_sim exited with status 0" in captured.err
    assert read_record(folder / "utvm", SIMULATOR_RECORD) is None  # nothing left running


def test_flash_of_a_standalone_app_exits_with_its_status(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """aot_inference ends native_sim and QEMU with 1 after FAIL: flash fails with it, so
    scripts and CI see the result."""
    folder = write_zephyr_build(tmp_path / "build", kconfig={"CONFIG_ARCH_POSIX": "y"})
    (folder / "zephyr" / "zephyr.elf").write_bytes(b"")
    python_script(folder / "zephyr" / "zephyr.exe", """
        import sys
        print("aot_inference: FAIL", flush=True)
        sys.exit(1)
    """)
    write_record(folder / "utvm", BUILD_RECORD, {"app": "aot_inference", "host_driven": False})
    assert main(["flash", "-d", str(folder), "--skip-rebuild"]) != 0
    captured = capsys.readouterr()
    assert "aot_inference: FAIL" in captured.out
    assert "error: native_sim exited with status 1" in captured.err


def test_simulator_that_dies_shows_its_output(tmp_path: Path) -> None:
    script = python_script(tmp_path / "sim.py", """
        print("No PTY for you: SDL missing", flush=True)
        raise SystemExit(3)
    """)
    with pytest.raises(UtvmError, match=r"(?s)stopped \(exit status 3\).*SDL missing"):
        start_simulator("native_sim", [str(script)], tmp_path / "log",
                        native_sim_pty_picker("uart"))


def test_simulator_that_never_reports_a_pty_is_stopped(tmp_path: Path) -> None:
    script = python_script(tmp_path / "sim.py", """
        import time
        print("booting", flush=True)
        time.sleep(60)
    """)
    started = time.monotonic()
    with pytest.raises(UtvmError, match=r"(?s)did not report a pseudo-terminal.*booting"):
        start_simulator("qemu", [str(script)], tmp_path / "log", qemu_pty_picker(),
                        timeout=2)
    assert time.monotonic() - started < 30


def test_pty_pickers() -> None:
    native = native_sim_pty_picker("uart_1")
    text = "uart connected to pseudotty: /dev/pts/3\nuart_1 connected to pseudotty: /dev/pts/4\n"
    assert native(text) == "/dev/pts/4"
    assert native_sim_pty_picker(None)(text) == "/dev/pts/3"
    assert native("booting\n") is None
    qemu = qemu_pty_picker()
    assert qemu("char device redirected to /dev/pts/1 (label con)\n") is None
    assert qemu("char device redirected to /dev/pts/1 (label con)\n"
                "char device redirected to /dev/pts/2 (label serial1)\n") == "/dev/pts/2"


def test_qemu_pty_picker_takes_the_rpc_uarts_serial_port() -> None:
    """mps2/an521 gives its second UART a PTY of its own (label hostS0, QEMU's third serial
    port after ours), printed before the one `west utvm build` adds: RPC is on serial1."""
    text = ("char device redirected to /dev/pts/5 (label hostS0)\n"
            "char device redirected to /dev/pts/6 (label serial1)\n")
    assert qemu_pty_picker(1)(text) == "/dev/pts/6"
    assert qemu_pty_picker(1)(text.splitlines()[0]) is None  # serial1 is still to come
    assert qemu_pty_picker(None)(text) == "/dev/pts/5"


def test_simulator_record_round_trip(tmp_path: Path) -> None:
    folder = write_zephyr_build(tmp_path / "b", kconfig={"CONFIG_ARCH_POSIX": "y"})
    target = target_for(read_build(folder))
    assert isinstance(target, NativeSimTarget) and target.running() is None
    record = RunningSimulator("native_sim", 2**22 + 12345, "/dev/pts/999", "log").to_record()
    write_record(folder / "utvm", SIMULATOR_RECORD, record)
    assert RunningSimulator.from_record(record) == RunningSimulator(**record)
    assert target.running() is None  # that process does not exist
    assert RunningSimulator.from_record({"pid": "x"}) is None


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

