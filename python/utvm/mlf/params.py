"""Read the names stored in a TVM parameter blob (crt-abi.md §8.3)."""

from __future__ import annotations

import struct
from pathlib import Path

from utvm.errors import UtvmError

NDARRAY_LIST_MAGIC = 0xF7E58D4F05049CB7
_MAX_NAME_BYTES = 4096


def read_param_names(path: Path) -> list[str]:
    """Names of the parameters in ``path``; an empty list for the empty-dict blob."""
    data = path.read_bytes()
    try:
        magic, _reserved, count = struct.unpack_from("<QQQ", data, 0)
        if magic != NDARRAY_LIST_MAGIC:
            raise UtvmError(
                f"{path} is not a TVM parameter file (magic 0x{magic:016x}, expected "
                f"0x{NDARRAY_LIST_MAGIC:016x})."
            )
        offset = 24
        names = []
        for _ in range(count):
            (length,) = struct.unpack_from("<Q", data, offset)
            offset += 8
            if length > _MAX_NAME_BYTES or offset + length > len(data):
                raise UtvmError(f"{path} is corrupt: parameter name {len(names)} is cut off.")
            names.append(data[offset : offset + length].decode("utf-8", errors="replace"))
            offset += length
    except struct.error as exc:
        raise UtvmError(f"{path} is truncated: the parameter list ends early.") from exc
    return names
