"""Hostile input to `utvm run`: input files, --repeat, byte order (issue 11).

Each case is refused with one `error:` line before anything is built or allocated, or,
for byte order, handled by the same rule on every board.
"""

from __future__ import annotations

import shutil
import struct
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from utvm.cli import main
from utvm.commands.run import load_inputs
from utvm.errors import UtvmError
from utvm.host import run_on_host
from utvm.host.runner import MAX_REPEAT, model_arrays
from utvm.mlf import TensorInfo, open_mlf
from utvm.npy_files import read_npy

REPO_ROOT = Path(__file__).resolve().parents[2]
TVM_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "tvm-0.18"
FLOAT_MODEL = TVM_FIXTURES / "tiny_conv_f32" / "aot_packed"


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def npy_header(descr: str, shape: tuple[int, ...]) -> bytes:
    """A version 1.0 .npy header that claims ``shape`` (the data is up to the caller)."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    text += " " * (63 - (10 + len(text)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def assert_one_error_line(code: int, out: str, err: str) -> None:
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "Traceback" not in err


# ----------------------------------------------------------------------------------------
# .npy and .npz files: header checked before anything is allocated


def test_an_npz_holding_an_object_array_is_one_error(capsys, aot_c_mlf, tmp_path):
    archive = tmp_path / "in.npz"
    np.savez(archive, input_1=np.array([{"x": 1}, None], dtype=object))
    code, out, err = run_cli(capsys, "run", aot_c_mlf, "--input", archive)
    assert_one_error_line(code, out, err)
    assert "holds an array of dtype object" in err and "never loads Python objects" in err


def test_an_npy_holding_an_object_array_is_one_error(capsys, aot_c_mlf, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.array([1, "a"], dtype=object), allow_pickle=True)
    code, out, err = run_cli(capsys, "run", aot_c_mlf, "--input", path)
    assert_one_error_line(code, out, err)
    assert "dtype object" in err


def test_an_npy_claiming_terabytes_is_refused_before_allocating(capsys, aot_c_mlf, tmp_path):
    path = tmp_path / "huge.npy"
    path.write_bytes(npy_header("|i1", (1_000_000_000_000,)) + bytes(72))
    assert path.stat().st_size == 200
    code, out, err = run_cli(capsys, "run", aot_c_mlf, "--input", path)
    assert_one_error_line(code, out, err)
    assert ("holds shape [1000000000000] of int8 (1000000000000 bytes), but the model's "
            "input 'input_1' takes 12 bytes") in err


def test_an_npy_header_is_checked_against_the_file_size(tmp_path):
    # Without a model to compare with (`west utvm build --input`), the file size bounds it.
    path = tmp_path / "short.npy"
    path.write_bytes(npy_header("<f4", (4096,)) + bytes(100))
    with pytest.raises(UtvmError, match=r"declares shape \[4096\] of float32 \(16384 bytes\) "
                       r"but holds only 100 bytes of data"):
        read_npy(path)


def test_an_npy_header_over_the_tensor_limit_is_refused_without_a_model(tmp_path):
    path = tmp_path / "huge.npy"
    path.write_bytes(npy_header("<f8", (10**12,)) + bytes(72))
    with pytest.raises(UtvmError, match="over utvm's limit of 1073741824 bytes"):
        read_npy(path)


def test_an_npz_member_claiming_terabytes_is_refused(capsys, aot_c_mlf, tmp_path):
    archive = tmp_path / "in.npz"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("input_1.npy", npy_header("|i1", (10**12,)) + bytes(12))
    code, out, err = run_cli(capsys, "run", aot_c_mlf, "--input", archive)
    assert_one_error_line(code, out, err)
    assert "(array 'input_1') holds shape [1000000000000] of int8" in err


def test_a_corrupt_npz_is_one_error(capsys, aot_c_mlf, tmp_path):
    archive = tmp_path / "in.npz"
    archive.write_bytes(b"PK\x03\x04" + bytes(40))
    code, out, err = run_cli(capsys, "run", aot_c_mlf, "--input", archive)
    assert_one_error_line(code, out, err)
    assert "cannot read" in err


def test_npy_and_npz_inputs_still_load(aot_c_mlf, tmp_path):
    values = np.arange(12, dtype=np.int8).reshape(1, 12)
    np.save(tmp_path / "x.npy", values)
    np.save(tmp_path / "f.npy", np.asfortranarray(values.reshape(3, 4)))
    np.savez_compressed(tmp_path / "x.npz", input_1=values)
    with open_mlf(aot_c_mlf) as mlf:
        for path in ("x.npy", "x.npz"):
            (loaded,) = load_inputs(mlf, [tmp_path / path])
            np.testing.assert_array_equal(loaded, values)
        (fortran,) = load_inputs(mlf, [tmp_path / "f.npy"])
        np.testing.assert_array_equal(fortran, values.reshape(3, 4))


# ----------------------------------------------------------------------------------------
# --repeat: one bound for every board, said in --help


@pytest.mark.parametrize("board", ["host-runner", "host"])
def test_repeat_has_the_same_bound_on_both_host_boards(capsys, aot_c_mlf, board):
    code, out, err = run_cli(capsys, "run", aot_c_mlf, "--board", board,
                             "--repeat", "9223372036854775808")
    assert_one_error_line(code, out, err)
    assert f"--repeat must be at least 1 and at most {MAX_REPEAT}" in err


def test_the_largest_repeat_is_the_boards_time_evaluator_bound():
    header = (REPO_ROOT / "runtime/include/utvm/rpc_server.h").read_text()
    assert f"#define UTVM_RPC_TIME_EVALUATOR_MAX_NUMBER {MAX_REPEAT}\n" in header


def test_run_on_host_refuses_a_repeat_over_the_bound(aot_c_mlf):
    with pytest.raises(UtvmError, match=f"repeat must be a whole number from 1 to {MAX_REPEAT}"):
        run_on_host(aot_c_mlf, [np.zeros((1, 12), np.int8)], repeat=MAX_REPEAT + 1)


def test_help_states_the_repeat_bound(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert f"at most {MAX_REPEAT} on every board" in " ".join(capsys.readouterr().out.split())


# ----------------------------------------------------------------------------------------
# Byte order: big-endian inputs are converted by value, on every board


def test_big_endian_inputs_are_converted_by_value(aot_c_mlf):
    with open_mlf(aot_c_mlf) as opened:
        with pytest.raises(UtvmError, match="must be int8 but is >i2"):
            model_arrays(opened, [np.arange(12, dtype=">i2")])  # dtypes must still match
        mlf = replace(opened, inputs=(TensorInfo("x", "float32", 12, (3,)),))
        (converted,) = model_arrays(mlf, [np.linspace(-1, 1, 3, dtype=">f4")])
    assert converted.dtype == np.dtype("<f4")
    np.testing.assert_array_equal(converted, np.linspace(-1, 1, 3, dtype="<f4"))


needs_float_model = pytest.mark.skipif(
    not FLOAT_MODEL.is_dir() or shutil.which("cmake") is None,
    reason="needs the TVM 0.18 fixtures (../shared/fixtures) and cmake",
)


@pytest.fixture(scope="module")
def build_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("utvm-cache")


@needs_float_model
@pytest.mark.parametrize("board", ["host-runner", "host"])
def test_big_endian_input_gives_the_same_outputs_on_both_boards(capsys, tmp_path, monkeypatch,
                                                                build_cache, board):
    monkeypatch.delenv("UTVM_ROOT", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(build_cache))
    big = tmp_path / "input_be.npy"
    np.save(big, np.load(FLOAT_MODEL / "input_0.npy").astype(">f4"))
    code, _, err = run_cli(capsys, "run", FLOAT_MODEL, "--board", board, "--input", big,
                           "--output-dir", tmp_path / "out")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "output_0.npy"),
                                  np.load(FLOAT_MODEL / "tvm_crt_output_0.npy"))
