"""With a Zephyr tree, an Arm toolchain and qemu-system-arm: one firmware built with
`--loadable` for mps2/an385 runs in QEMU while models are swapped onto it over RPC (their
code compiled into .llext files with the build's EDK, uploaded, linked by LLEXT). Each model
must give TVM 0.18's own output bit for bit; hostile files must be refused with a clear
reply while the board keeps serving; load/unload cycles must leave no memory behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from westsupport import require_mps2_an385_in_qemu

from testsupport import (
    FIXTURES_ROOT,
    ZEPHYR_BUILD_REQUIREMENTS,
    require_zephyr_python,
)
from utvm.errors import UtvmError
from utvm.transport.base import TransportTimeouts

require_mps2_an385_in_qemu("the loadable-firmware tests")

BOARD = "mps2/an385"
# A model's image travels in one message of up to 640 KiB; on a loaded machine QEMU may take
# in nothing for more than the simulator link's usual 10 s.
PATIENT_LINK = TransportTimeouts(2.0, 60.0, 120.0)
SWAPPED = ("kws_ref_model", "ad01_int8", "vww_96_int8", "kws_ref_model")


@pytest.fixture(scope="module")
def loadable_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A loadable rpc_server firmware for mps2/an385 (UTVM_LOADABLE_BUILD_DIR reuses one)."""
    from utvm.board.builder import BuildRequest, build

    require_zephyr_python(os.environ["ZEPHYR_BASE"], ZEPHYR_BUILD_REQUIREMENTS)
    build_dir = Path(os.environ.get("UTVM_LOADABLE_BUILD_DIR")
                     or tmp_path_factory.mktemp("loadable") / "build")
    with pytest.MonkeyPatch.context() as env:
        if not os.environ.get("ZEPHYR_TOOLCHAIN_VARIANT"):
            env.setenv("ZEPHYR_TOOLCHAIN_VARIANT", "gnuarmemb")
            gcc = Path(shutil.which("arm-none-eabi-gcc") or "").resolve()
            env.setenv("GNUARMEMB_TOOLCHAIN_PATH", str(gcc.parent.parent))
        build(BuildRequest(board=BOARD, build_dir=str(build_dir), loadable=True),
              out=sys.stderr)
    return build_dir


@pytest.fixture(scope="module")
def running_board(loadable_build: Path):
    """The firmware running in QEMU for the whole module (started as `west utvm flash`
    starts it): its build and its RPC UART."""
    from utvm.board.build_dir import read_build
    from utvm.board.targets import FlashOptions, target_for

    build = read_build(loadable_build, must_be_built=True)
    target = target_for(build)
    target.flash(FlashOptions(skip_rebuild=True), sys.stderr)
    try:
        yield build, target.running().pty
    finally:
        target.stop()


def _session(build, pty: str):
    from utvm.rpc import Session
    from utvm.transport import PtyTransport

    # The board's error messages travel as references into its ELF, which utvm reads as
    # `west utvm run` does.
    session = Session(PtyTransport(pty), reply_timeout=120.0, firmware=build.elf_path,
                      timeouts=PATIENT_LINK)
    return session.open(retry_timeout=2.0, start_timeout=60.0)


@pytest.fixture
def board(running_board):
    """A session of utvm's host with the running board, for one test (a new session frees
    what the last one made)."""
    build, pty = running_board
    session = _session(build, pty)
    try:
        yield build, session.client
    finally:
        session.close()


def _image(build, model: str, variant: str = "aot_packed") -> tuple[object, bytes]:
    from utvm.loadable.edk import read_edk
    from utvm.loadable.image import build_image
    from utvm.mlf import open_mlf

    mlf = open_mlf(FIXTURES_ROOT / model / variant)
    return mlf, build_image(mlf, read_edk(build), build.state_dir / "llext").read_bytes()


def _run_loaded(client, mlf, module) -> np.ndarray:
    from utvm.rpc.model_run import create_executor

    folder = Path(mlf.source)
    with create_executor(client, mlf, module) as executor:
        for index, info in enumerate(mlf.inputs):
            executor.set_input(info.name, np.load(folder / f"input_{index}.npy"))
        executor.run()
        return executor.get_output(0)


def test_models_swap_on_one_running_firmware_bit_exact(board) -> None:
    from utvm.loadable.session import board_can_load, load_image

    build, client = board
    assert board_can_load(client)
    for model in SWAPPED:
        mlf, data = _image(build, model)
        with mlf:
            module = load_image(client, data)
            output = _run_loaded(client, mlf, module)
            expected = np.load(FIXTURES_ROOT / model / "aot_packed" / "tvm_crt_output_0.npy")
            assert output.tobytes() == expected.tobytes(), model


def _refused(client, data: bytes) -> str:
    from utvm.loadable.session import load_image

    with pytest.raises(UtvmError) as caught:
        load_image(client, data)
    return str(caught.value)


def _object(tmp_path: Path, compiler: str, source: str, *flags: str) -> bytes:
    c_file, obj = tmp_path / "x.c", tmp_path / "x.o"
    c_file.write_text(source)
    subprocess.run([compiler, *flags, "-c", str(c_file), "-o", str(obj)], check=True)
    return obj.read_bytes()


def test_hostile_images_are_refused_and_the_board_keeps_serving(board, tmp_path: Path) -> None:
    from utvm.loadable.edk import read_edk
    from utvm.loadable.session import upload_image

    build, client = board
    mlf, good = _image(build, "kws_ref_model")
    edk = read_edk(build)
    assert "not a 32-bit ELF" in _refused(client, b"hello, board" * 10)
    assert "truncated" in _refused(client, good[: len(good) // 2])
    if shutil.which("cc"):
        host = _object(tmp_path, "cc", "int f(void) { return 1; }", "-m32") \
            if subprocess.run(["cc", "-m32", "-E", "-x", "c", "/dev/null"],
                              capture_output=True).returncode == 0 else None
        if host is not None:
            assert "this board runs Arm code" in _refused(client, host)
    unresolved = _object(tmp_path, str(edk.compiler),
                         "extern int utvm_not_exported(void);\n"
                         "int f(void) { return utvm_not_exported(); }\n",
                         *edk.cflags, "-O2")
    assert "does not export" in _refused(client, unresolved)
    with pytest.raises(UtvmError, match="upload store holds"):
        upload_image(client, bytes(build_store_size(client) + 1))
    with mlf:  # still serving: a good model loads and is right
        from utvm.loadable.session import load_image

        output = _run_loaded(client, mlf, load_image(client, good))
        expected = np.load(FIXTURES_ROOT / "kws_ref_model" / "aot_packed" / "tvm_crt_output_0.npy")
        assert output.tobytes() == expected.tobytes()


def build_store_size(client) -> int:
    func = client.get_global_func("utvm.loadable.StoreSize")
    with func:
        return func()


def test_load_unload_cycles_leave_memory_where_it_started(board) -> None:
    from utvm.loadable.session import bytes_in_use, load_image, unload
    from utvm.rpc.model_run import create_executor

    build, client = board
    cycles = int(os.environ.get("UTVM_LOADABLE_CYCLES", "100"))
    mlf, data = _image(build, "tiny_conv_f32")
    with mlf:
        unload(client)
        start = bytes_in_use(client)
        for _ in range(cycles):
            module = load_image(client, data)
            with create_executor(client, mlf, module) as executor:
                executor.run()
            module.free()
            unload(client)  # also releases the executor the AOT module keeps alive
            assert bytes_in_use(client) == start


def test_a_graph_executor_runs_on_loaded_code_bit_exact(board) -> None:
    from utvm.loadable.session import load_image

    build, client = board
    folder = FIXTURES_ROOT / "tiny_conv_f32" / "graph"
    mlf, data = _image(build, "tiny_conv_f32", "graph")
    with mlf:
        output = _run_loaded(client, mlf, load_image(client, data))
    assert output.tobytes() == np.load(folder / "tvm_crt_output_0.npy").tobytes()


TVM_DRIVER = Path(__file__).with_name("tvm_loadable_driver.py")


def _tvm_python() -> tuple[str, dict[str, str]]:
    """TVM 0.18's Python (TVM_PY: a Python with TVM's requirements; TVM_HOME: the built TVM
    whose python/ it imports) and the environment to run it in."""
    tvm_py, tvm_home = os.environ.get("TVM_PY"), os.environ.get("TVM_HOME")
    if not tvm_home or not tvm_py or not Path(tvm_py).is_file():
        pytest.skip("TVM_HOME and TVM_PY are not set: TVM 0.18's own host cannot be run (set "
                    "them to a built TVM 0.18 and the Python it runs with)")
    env = dict(os.environ, PYTHONPATH=str(Path(tvm_home) / "python"))
    probe = subprocess.run([tvm_py, "-c", "import tvm, tvm.micro; print(tvm.__version__)"],
                           capture_output=True, text=True, check=False, env=env)
    if probe.returncode != 0 or not probe.stdout.startswith("0.18"):
        pytest.skip(f"TVM_PY cannot import TVM 0.18 with tvm.micro: "
                    f"{(probe.stderr or probe.stdout).strip()[-200:]}")
    return tvm_py, env


@pytest.fixture(scope="module")
def tvm_host() -> tuple[str, dict[str, str]]:
    """Named before running_board: where TVM 0.18 cannot be run, skip before building."""
    return _tvm_python()


def _tvm_drives(tvm_host: tuple[str, dict[str, str]], pty: str, image: Path, kind: str,
                mlf_dir: Path, out: Path) -> dict:
    """A session of TVM's host with the running board."""
    import json

    tvm_py, env = tvm_host
    result = subprocess.run([tvm_py, str(TVM_DRIVER), pty, str(image), kind, str(mlf_dir),
                             str(mlf_dir / "input_0.npy"), str(out)],
                            capture_output=True, text=True, timeout=900, check=False, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("model", "kind"), [("kws_ref_model", "aot"),
                                             ("ad01_int8", "aot"),  # the largest image
                                             ("tiny_conv_f32", "graph")])
def test_tvm_s_own_host_uploads_loads_and_times_a_model(tvm_host, running_board,
                                                         tmp_path: Path, model: str,
                                                         kind: str) -> None:
    """TVM 0.18's tvm.micro.Session: remote.upload(bytearray, "m.llext") sends the whole image
    in one call, remote.load_module links it; the model's output is TVM's own, bit for bit,
    and mod.time_evaluator measures on the loaded code."""
    from utvm.loadable.edk import read_edk
    from utvm.loadable.image import build_image
    from utvm.mlf import open_mlf

    build, pty = running_board
    variant = "aot_packed" if kind == "aot" else "graph"
    folder = FIXTURES_ROOT / model / variant
    with open_mlf(folder) as mlf:
        image = build_image(mlf, read_edk(build), build.state_dir / "llext")
    out = tmp_path / "output.npy"
    report = _tvm_drives(tvm_host, pty, image, kind, folder, out)
    assert report["tvm"].startswith("0.18")
    assert "upload_error" not in report, report
    assert np.load(out).tobytes() == np.load(folder / "tvm_crt_output_0.npy").tobytes()
    results = report["time_results"]
    assert len(results) == 2 and all(seconds > 0 for seconds in results)
    print(f"{model} ({kind}): {image.stat().st_size} bytes uploaded by TVM's host in "
          f"{report['upload_seconds']:.2f} s; {report['timed']} {results}")


def test_a_session_reopened_while_a_loaded_model_runs_reloads_it_without_leaking(
        running_board) -> None:
    """Recovery on a noisy link reopens the session mid-run; the board then frees what the
    old session made (executors, arrays). The loaded code stays linked until the next load
    replaces it: the redone work uploads and loads the model again, its output is right, and
    the board's memory is where one clean run leaves it, however often that happens."""
    from utvm.loadable.session import bytes_in_use, load_image
    from utvm.rpc import Session
    from utvm.rpc.framing import encode_frame
    from utvm.rpc.recovery import run_with_recovery
    from utvm.rpc.retry_policy import RetryState
    from utvm.transport import PtyTransport, Transport

    class ResetWhenArmed(Transport):
        """The board's link; once armed, the ``after``-th read is a TerminateSession, as a
        board sends when it restarts (the host then opens a new session)."""

        def __init__(self, inner: Transport) -> None:
            self.inner, self.after = inner, 0
            self.name, self.hint, self.timeouts = inner.name, inner.hint, inner.timeouts

        def _open(self) -> None:
            self.inner.open()

        def _close(self) -> None:
            self.inner.close()

        def _read(self, n: int, timeout: float | None) -> bytes:
            if self.after > 0:
                self.after -= 1
                if self.after == 0:
                    return encode_frame(b"\x00\x00\x02", lead_nop=True)
            return self.inner.read(n, timeout)

        def _write(self, data: bytes, timeout: float | None) -> None:
            self.inner.write(data, timeout)

    build, pty = running_board
    mlf, data = _image(build, "kws_ref_model")
    expected = np.load(FIXTURES_ROOT / "kws_ref_model" / "aot_packed" / "tvm_crt_output_0.npy")
    link = ResetWhenArmed(PtyTransport(pty))
    session = Session(link, reply_timeout=120.0, firmware=build.elf_path, timeouts=PATIENT_LINK)
    session.open(retry_timeout=2.0, start_timeout=60.0)
    try:
        with mlf:
            def work(client) -> bytes:
                return _run_loaded(client, mlf, load_image(client, data)).tobytes()

            assert run_with_recovery(session, work) == expected.tobytes()
            one_model = bytes_in_use(session.client)
            for after in (40, 60, 80):  # during the upload, the executor, the run
                lines: list[str] = []
                state = RetryState(report=lines.append)
                link.after = after
                assert run_with_recovery(session, work, state) == expected.tobytes()
                assert state.restarts == 1, lines
                assert bytes_in_use(session.client) == one_model
    finally:
        session.close()


def test_tvm_s_own_host_is_told_the_limit_of_one_upload(tvm_host, running_board,
                                                        tmp_path: Path) -> None:
    """TVM's upload is one message: a file larger than the board's receive buffer gets an
    error reply naming the limit (a reference into the firmware's ELF, which `utvm decode`
    expands), and the board keeps serving TVM's host."""
    from utvm.rpc.messages import MessageTable

    build, pty = running_board
    limit = int(build.kconfig()["CONFIG_UTVM_RPC_MAX_PACKET_SIZE"])
    image = tmp_path / "big.llext"
    image.write_bytes(bytes(limit))
    folder = FIXTURES_ROOT / "kws_ref_model" / "aot_packed"
    report = _tvm_drives(tvm_host, pty, image, "aot", folder, tmp_path / "output.npy")
    error = MessageTable.from_elf(build.elf_path).expand(report["upload_error"])
    assert f"bytes > max packet: the board receives messages of at most {limit - 3}" in error
    assert "UTVM_RPC_MAX_PACKET_SIZE" in error
    assert report["max_packet"] > 0
