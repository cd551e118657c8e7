"""Read input arrays from .npy and .npz files that may be hostile, before allocating.

``numpy.load`` trusts the header: a 200-byte .npy claiming shape (10**12,) makes it try to
allocate terabytes, and an object array in a .npz fails only when it is read. Here the
header is checked first: numeric or bool dtypes only (never pickled objects), and the byte
count it implies must fit in the file, in utvm's limit for one tensor and, when known, in
the size the model expects. Only then is the data read.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path
from typing import IO

import numpy as np

from utvm.errors import UtvmError
from utvm.mlf.dtypes import numpy_dtype
from utvm.mlf.plausible import MAX_TENSOR_BYTES
from utvm.mlf.tensors import TensorInfo

_ZIP_MAGIC = b"PK\x03\x04"
_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}
_HOW_TO_SAVE = "Save inputs with numpy.save() (or numpy.savez() keyed by input name)."


def read_npy(path: Path, expected: TensorInfo | None = None) -> np.ndarray:
    """The array in the .npy file ``path``; ``expected`` is the model input it is for."""
    if not path.is_file():
        raise UtvmError(f"input file {path} does not exist.")
    try:
        with open(path, "rb") as handle:
            if handle.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC:
                raise UtvmError(f"{path} holds several arrays (it is a .npz); give one .npy "
                                "file per model input, or name it *.npz.")
            handle.seek(0)
            return _read_checked(handle, path.stat().st_size, str(path), expected)
    except OSError as exc:
        raise UtvmError(f"cannot read {path}: {exc.strerror or exc}.") from exc


def read_npz(path: Path, inputs: tuple[TensorInfo, ...]) -> list[np.ndarray]:
    """The arrays named after ``inputs`` (in that order) from the .npz file ``path``."""
    if not path.is_file():
        raise UtvmError(f"input file {path} does not exist.")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            missing = [info.name for info in inputs if info.name not in members]
            if missing:
                raise UtvmError(
                    f"{path} has no array named {', '.join(missing)}; it holds "
                    f"{', '.join(members) or 'nothing'}. Name the arrays after the model's "
                    "inputs (see `utvm info`)."
                )
            arrays = []
            for tensor in inputs:
                member = members[tensor.name]
                with archive.open(member) as handle:
                    arrays.append(_read_checked(handle, member.file_size,
                                                f"{path} (array '{tensor.name}')", tensor))
            return arrays
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise UtvmError(f"cannot read {path} as a numpy .npz file ({exc}). {_HOW_TO_SAVE}") \
            from exc


def _read_checked(handle: IO[bytes], file_bytes: int, label: str,
                  expected: TensorInfo | None) -> np.ndarray:
    try:
        version = np.lib.format.read_magic(handle)
        reader = _HEADER_READERS.get(version)
        if reader is None:
            raise UtvmError(f"{label} is a .npy file of format version {version}, which utvm "
                            f"does not read (1.0 and 2.0 hold every numeric array). {_HOW_TO_SAVE}")
        shape, fortran_order, dtype = reader(handle)
    except (ValueError, EOFError) as exc:
        raise UtvmError(f"cannot read {label} as a numpy .npy file ({exc}). {_HOW_TO_SAVE}") \
            from exc
    if dtype.hasobject or dtype.kind not in "biuf" or dtype.subdtype is not None:
        raise UtvmError(f"{label} holds an array of dtype {dtype}; model inputs are numbers "
                        "(int, uint, float or bool), and utvm never loads Python objects.")
    if any(dim < 0 for dim in shape):
        raise UtvmError(f"{label} declares the impossible shape {list(shape)}.")
    nbytes = math.prod(shape) * dtype.itemsize
    described = f"shape {list(shape)} of {dtype} ({nbytes} bytes)"
    if expected is not None:
        _check_against(expected, dtype, nbytes, label, described)
    if nbytes > MAX_TENSOR_BYTES:
        raise UtvmError(f"{label} declares {described}, over utvm's limit of "
                        f"{MAX_TENSOR_BYTES} bytes for one tensor.")
    available = file_bytes - handle.tell()
    if nbytes > available:
        raise UtvmError(f"{label} declares {described} but holds only {max(available, 0)} "
                        "bytes of data: it is truncated or its header is wrong.")
    data = handle.read(nbytes)
    if len(data) != nbytes:
        raise UtvmError(f"{label} ends after {len(data)} of its {nbytes} bytes of data.")
    array = np.frombuffer(data, dtype=dtype)
    if fortran_order:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)


def _check_against(expected: TensorInfo, dtype: np.dtype, nbytes: int, label: str,
                   described: str) -> None:
    """The dtype and byte size the model input takes (byte order aside: that is converted)."""
    wanted = numpy_dtype(expected.dtype)
    if dtype.kind != wanted.kind or dtype.itemsize != wanted.itemsize:
        raise UtvmError(
            f"{label}: the model's input '{expected.name}' must be {expected.dtype} but is "
            f"{dtype}. Convert it first, e.g. array.astype(numpy.{wanted.name}), if that is "
            "what you mean."
        )
    if nbytes != expected.size_bytes:
        raise UtvmError(f"{label} holds {described}, but the model's input '{expected.name}' "
                        f"takes {expected.size_bytes} bytes (see `utvm info`).")
