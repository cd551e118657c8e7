"""With a Zephyr tree, an Arm toolchain and qemu-system-arm: a firmware built with
`--loadable --link tcp` for mps2/an385 serves RPC over the board's Ethernet (QEMU's lan9118
on its user networking, a port of this computer forwarded to the board's), and `west utvm
run` swaps models onto it over that link, each bit-exact to TVM 0.18's own output."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from westsupport import require_mps2_an385_in_qemu, run_utvm

from testsupport import (
    FIXTURES_ROOT,
    ZEPHYR_BUILD_REQUIREMENTS,
    require_zephyr_python,
)

require_mps2_an385_in_qemu("the RPC-over-TCP board tests")

BOARD = "mps2/an385"
SWAPPED = ("kws_ref_model", "ad01_int8", "kws_ref_model")


@pytest.fixture(scope="module")
def tcp_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A loadable rpc_server firmware serving RPC over TCP, started as `west utvm flash`
    starts it (UTVM_TCP_BUILD_DIR reuses a build)."""
    require_zephyr_python(os.environ["ZEPHYR_BASE"], ZEPHYR_BUILD_REQUIREMENTS)
    build_dir = Path(os.environ.get("UTVM_TCP_BUILD_DIR")
                     or tmp_path_factory.mktemp("tcp") / "build")
    run_utvm("build", "-b", BOARD, "-d", str(build_dir), "--loadable", "--link", "tcp")
    run_utvm("flash", "-d", str(build_dir), "--skip-rebuild")
    try:
        yield build_dir
    finally:
        run_utvm("flash", "-d", str(build_dir), "--stop", check=False)


def test_models_swap_over_tcp_bit_exact(tcp_build: Path, tmp_path: Path) -> None:
    from utvm.board.state import SIMULATOR_RECORD, read_record

    port = read_record(tcp_build / "utvm", SIMULATOR_RECORD)["tcp_port"]
    for step, model in enumerate(SWAPPED):
        folder = FIXTURES_ROOT / model / "aot_packed"
        out = tmp_path / f"{step}-{model}"
        result = run_utvm("run", "-d", str(tcp_build), "--mlf", str(folder),
                          "--input", str(folder / "input_0.npy"), "-o", str(out))
        assert f"over tcp://127.0.0.1:{port}" in result.stdout, result.stdout
        assert "uploading" in result.stderr  # the model's code went up over TCP
        expected = np.load(folder / "tvm_crt_output_0.npy")
        np.testing.assert_array_equal(np.load(out / "output_0.npy"), expected,
                                      err_msg=f"{model} (step {step}) over TCP")


def test_a_new_host_replaces_a_silent_one(tcp_build: Path) -> None:
    """A host that vanished without closing its connection must not lock the board: the
    next one to connect is served."""
    from utvm.board.state import SIMULATOR_RECORD, read_record
    from utvm.rpc import Session
    from utvm.transport import TcpTransport

    port = read_record(tcp_build / "utvm", SIMULATOR_RECORD)["tcp_port"]
    silent = Session(TcpTransport("127.0.0.1", port, boot_wait=30.0), reply_timeout=60.0)
    silent.open(retry_timeout=2.0, start_timeout=60.0)
    try:
        assert silent.client.max_packet_size() > 0
        newer = Session(TcpTransport("127.0.0.1", port, boot_wait=30.0), reply_timeout=60.0)
        newer.open(retry_timeout=2.0, start_timeout=60.0)
        try:
            assert newer.client.max_packet_size() > 0
        finally:
            newer.close()
    finally:
        silent.transport.close()
    print(f"served a second host on port {port}", file=sys.stderr)
