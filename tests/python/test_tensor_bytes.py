"""utvm_tensor_bytes() (cmake/utvm.cmake) and cmake/utvm_npy_to_raw.py: tensor files for
applications that embed them (samples/aot_inference's UTVM_INPUTS / UTVM_EXPECTED_OUTPUTS)
as raw little-endian bytes, from .npy or already raw."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from testsupport import REPO_ROOT, cmake_exe

SCRIPT = REPO_ROOT / "cmake" / "utvm_npy_to_raw.py"
BUNDLED_DATA = REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "test_data"


def convert(source: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), str(source), str(target)],
                          capture_output=True, text=True, check=False)


def test_bundled_test_data_becomes_the_arrays_bytes(tmp_path: Path) -> None:
    for name in ("input_0.npy", "tvm_crt_output_0.npy"):
        result = convert(BUNDLED_DATA / name, tmp_path / "out.bin")
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "out.bin").read_bytes() == np.load(BUNDLED_DATA / name).tobytes()


@pytest.mark.parametrize("array", [
    np.arange(6, dtype=">f4").reshape(2, 3),  # big-endian: swapped to little
    np.arange(5, dtype=">i2"),
    np.array([True, False, True]),
    np.arange(4, dtype=np.uint8),
    np.float16(1.5) * np.ones((2, 2), np.float16),
    np.zeros((0, 3), np.float32),
])
def test_numeric_arrays_become_little_endian_c_order_bytes(tmp_path: Path,
                                                          array: np.ndarray) -> None:
    np.save(tmp_path / "a.npy", array)
    assert convert(tmp_path / "a.npy", tmp_path / "a.bin").returncode == 0
    assert (tmp_path / "a.bin").read_bytes() == array.astype(array.dtype.newbyteorder("<")) \
        .tobytes()


def test_format_version_2_is_read(tmp_path: Path) -> None:
    array = np.arange(3, dtype=np.float32)
    with open(tmp_path / "a.npy", "wb") as handle:
        np.lib.format.write_array(handle, array, version=(2, 0))
    assert convert(tmp_path / "a.npy", tmp_path / "a.bin").returncode == 0
    assert (tmp_path / "a.bin").read_bytes() == array.tobytes()


def test_unchanged_output_is_not_rewritten(tmp_path: Path) -> None:
    """A rewrite would make builds that embed the file rebuild for nothing."""
    target = tmp_path / "out.bin"
    assert convert(BUNDLED_DATA / "input_0.npy", target).returncode == 0
    before = target.stat().st_mtime_ns
    os.utime(target, ns=(before - 10**9, before - 10**9))
    assert convert(BUNDLED_DATA / "input_0.npy", target).returncode == 0
    assert target.stat().st_mtime_ns == before - 10**9


def _object_npy(path: Path) -> None:
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)


def _fortran_npy(path: Path) -> None:
    np.save(path, np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))


def _record_npy(path: Path) -> None:
    np.save(path, np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")]))


def _truncated_npy(path: Path) -> None:
    np.save(path, np.arange(10, dtype=np.float32))
    path.write_bytes(path.read_bytes()[:-4])


def _too_long_npy(path: Path) -> None:
    np.save(path, np.arange(10, dtype=np.float32))
    path.write_bytes(path.read_bytes() + b"\0\0\0\0")


def _raw_named_npy(path: Path) -> None:
    path.write_bytes(np.arange(10, dtype=np.float32).tobytes())


def _damaged_header(path: Path) -> None:
    np.save(path, np.arange(10, dtype=np.float32))
    data = bytearray(path.read_bytes())
    data[10:20] = b"import os;"
    path.write_bytes(bytes(data))


def _version_9(path: Path) -> None:
    np.save(path, np.arange(10, dtype=np.float32))
    data = bytearray(path.read_bytes())
    data[6] = 9
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("make, message", [
    (_object_npy, "holds an array of dtype '|O'; tensors are numbers"),
    (_fortran_npy, "is stored in Fortran order; save it with numpy.save"),
    (_record_npy, "tensors are numbers (int, uint, float or bool), never Python objects or "
                  "records"),
    (_truncated_npy, "declares shape [10] of <f4 (40 bytes) but holds 36 bytes of data"),
    (_too_long_npy, "declares shape [10] of <f4 (40 bytes) but holds 44 bytes of data"),
    (_raw_named_npy, "is not a numpy .npy file (it does not start with the .npy magic)"),
    (_damaged_header, "has a damaged .npy header"),
    (_version_9, "is a .npy file of format version 9"),
])
def test_bad_npy_is_one_error_line_and_writes_nothing(tmp_path: Path, make, message) -> None:
    make(tmp_path / "bad.npy")
    result = convert(tmp_path / "bad.npy", tmp_path / "out.bin")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.bin").exists()


def test_missing_file_is_one_error_line(tmp_path: Path) -> None:
    result = convert(tmp_path / "nope.npy", tmp_path / "out.bin")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot read {tmp_path / 'nope.npy'}")


def _configure(tmp_path: Path, files: list[Path]) -> subprocess.CompletedProcess[str]:
    """A CMake project that asks utvm_tensor_bytes() for each file and writes the answers."""
    source = tmp_path / "project"
    source.mkdir()
    lines = [f"utvm_tensor_bytes({f.as_posix()} raw{i})\n"
             f"file(APPEND ${{CMAKE_BINARY_DIR}}/answers.txt \"${{raw{i}}}\\n\")"
             for i, f in enumerate(files)]
    (source / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.20)\nproject(tensor_bytes NONE)\n"
        f"include({(REPO_ROOT / 'cmake' / 'utvm.cmake').as_posix()})\n" + "\n".join(lines) + "\n")
    return subprocess.run([cmake_exe(), "-S", str(source), "-B", str(tmp_path / "build"),
                           f"-DPython3_EXECUTABLE={sys.executable}"],
                          capture_output=True, text=True, check=False)


def test_cmake_function_converts_npy_and_passes_raw_files_through(tmp_path: Path) -> None:
    raw = tmp_path / "raw_input.bin"
    raw.write_bytes(b"\1\2\3\4")
    result = _configure(tmp_path, [BUNDLED_DATA / "input_0.npy", raw])
    assert result.returncode == 0, result.stderr
    converted, passed = (tmp_path / "build" / "answers.txt").read_text().splitlines()
    assert Path(converted).read_bytes() == np.load(BUNDLED_DATA / "input_0.npy").tobytes()
    assert Path(converted).is_relative_to(tmp_path / "build")
    assert Path(passed) == raw


def test_cmake_function_stops_on_a_bad_npy_with_the_scripts_message(tmp_path: Path) -> None:
    _truncated_npy(tmp_path / "bad.npy")
    result = _configure(tmp_path, [tmp_path / "bad.npy"])
    assert result.returncode != 0
    assert "utvm_tensor_bytes: error:" in result.stderr
    assert "but holds 36 bytes of data" in result.stderr
