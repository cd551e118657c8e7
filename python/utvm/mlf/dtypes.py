"""TVM dtype strings ("int8", "float32", "bool") and their numpy equivalents."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from utvm.errors import UtvmError

if TYPE_CHECKING:  # numpy is imported when used: utvm_add_model() runs without it
    import numpy as np

# DLDataTypeCode values (crt-abi.md §2.2) and the names TVM prints for them.
_DL_CODE_NAMES = {0: "int", 1: "uint", 2: "float", 4: "bfloat"}
_DTYPE_PATTERN = re.compile(r"^(int|uint|float|bfloat|bool)(\d*)(?:x(\d+))?$")


def element_bits(dtype: str) -> int:
    """Bits per element of a TVM dtype string, lanes included ("float32x4" -> 128)."""
    match = _DTYPE_PATTERN.match(dtype)
    if not match:
        raise UtvmError(f"unknown tensor dtype '{dtype}' (expected e.g. int8, uint8, float32).")
    kind, bits, lanes = match.groups()
    if kind == "bool":
        bits_per_lane = 1
    elif bits:
        bits_per_lane = int(bits)
    else:
        bits_per_lane = 32  # TVM's default width, as in "float" == "float32"
    return bits_per_lane * (int(lanes) if lanes else 1)


def tensor_bytes(dtype: str, shape: tuple[int, ...]) -> int:
    """Bytes TVM reserves for a tensor: ceil(bits x elements / 8) (crt-abi.md §8.3)."""
    return (element_bits(dtype) * math.prod(shape) + 7) // 8


def dtype_from_dl(code: int, bits: int, lanes: int) -> str:
    """Name of a DLDataType as TVM prints it ({0, 8, 1} -> "int8")."""
    if code == 1 and bits == 1 and lanes == 1:
        return "bool"
    if code not in _DL_CODE_NAMES:
        raise UtvmError(f"unsupported DLDataType code {code} in the generated metadata.")
    name = f"{_DL_CODE_NAMES[code]}{bits}"
    return name if lanes == 1 else f"{name}x{lanes}"


def numpy_dtype(dtype: str) -> np.dtype:
    """The little-endian numpy dtype that holds one element of a TVM dtype."""
    import numpy as np

    if dtype == "bool":
        return np.dtype(np.bool_)
    match = _DTYPE_PATTERN.match(dtype)
    if match and match.group(3) in (None, "1") and match.group(1) in ("int", "uint", "float"):
        try:
            return np.dtype(dtype.split("x")[0]).newbyteorder("<")
        except TypeError:
            pass
    raise UtvmError(
        f"tensors of dtype '{dtype}' cannot be handled as numpy arrays by utvm; "
        "use int8/16/32/64, uint8/16/32/64, float16/32/64 or bool."
    )
