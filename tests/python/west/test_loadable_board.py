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

from testsupport import (
    FIXTURES_MISSING,
    FIXTURES_ROOT,
    ZEPHYR_BUILD_REQUIREMENTS,
    require_zephyr_python,
)
from utvm.errors import UtvmError

pytest.importorskip("west", reason="west is not installed (pip install west)")
if not os.environ.get("ZEPHYR_BASE"):
    pytest.skip("ZEPHYR_BASE is not set: the loadable-firmware test needs a Zephyr tree",
                allow_module_level=True)
if shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None:
    pytest.skip("qemu-system-arm and arm-none-eabi-gcc are needed for mps2/an385",
                allow_module_level=True)
if not FIXTURES_ROOT.is_dir():
    pytest.skip(FIXTURES_MISSING, allow_module_level=True)

BOARD = "mps2/an385"
SWAPPED = ("kws_ref_model", "ad01_int8", "kws_ref_model")


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
def board(loadable_build: Path):
    """One running QEMU board and an open RPC session with it, for the whole module."""
    from utvm.board.build_dir import read_build
    from utvm.board.targets import DEFAULT_BAUD, LinkOptions, target_for
    from utvm.rpc import Session

    build = read_build(loadable_build, must_be_built=True)
    target = target_for(build)
    link_context = target.link(LinkOptions(None, DEFAULT_BAUD, None), sys.stderr)
    link = link_context.__enter__()
    try:
        session = Session(link, reply_timeout=120.0)
        session.open(retry_timeout=2.0, start_timeout=target.start_timeout)
        yield build, session.client
    finally:
        link_context.__exit__(None, None, None)


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
