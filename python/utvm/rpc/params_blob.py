"""TVM's parameter blob (``default.params``): named NDArrays, as the host uploads them.

Layout (little-endian): u64 list magic, u64 reserved, u64 n + n × (u64 len, name bytes),
u64 m + m × NDArray. An NDArray is u64 magic, u64 reserved, i32 device_type, i32 device_id,
i32 ndim, DLDataType (u8 code, u8 bits, u16 lanes), i64 shape[ndim], i64 nbytes, data.
"""

from __future__ import annotations

from dataclasses import dataclass

from utvm.rpc.codec import DataType, Reader
from utvm.rpc.errors import ProtocolError

LIST_MAGIC = 0xF7E58D4F05049CB7
NDARRAY_MAGIC = 0xDD5E40F096B4A13F


@dataclass(frozen=True)
class Param:
    name: str
    dtype: DataType
    shape: tuple[int, ...]
    data: bytes


def parse_params(blob: bytes) -> list[Param]:
    """The parameters in file order; ``ProtocolError`` says what is wrong with a bad blob."""
    r = Reader(bytes(blob), "parameter blob")
    magic, _reserved, count = r.unpack("QQQ")
    if magic != LIST_MAGIC:
        raise ProtocolError(f"not a TVM parameter blob (magic 0x{magic:016x})")
    names = [r.take(r.one("Q")).decode("utf-8", "replace") for _ in range(count)]
    if r.one("Q") != len(names):
        raise ProtocolError("parameter blob: the name and array counts differ")
    params = []
    for name in names:
        magic, _reserved, _device_type, _device_id, ndim = r.unpack("QQiii")
        if magic != NDARRAY_MAGIC or not 0 <= ndim <= 64:
            raise ProtocolError(f"parameter {name!r} is not a valid NDArray record")
        dtype = DataType(*r.unpack("BBH"))
        shape = r.unpack(f"{ndim}q")
        nbytes = r.one("q")
        expected = dtype.itemsize
        for dim in shape:
            expected *= dim
        if nbytes != expected:
            raise ProtocolError(f"parameter {name!r} holds {nbytes} bytes, its shape "
                                f"{list(shape)} of {dtype} needs {expected}")
        params.append(Param(name, dtype, tuple(shape), r.take(nbytes)))
    return params
