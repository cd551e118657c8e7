"""minRPC values on the wire: packed sequences, DLTensor records, replies (little-endian)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from utvm.errors import UtvmError

# RPC codes
SHUTDOWN, CALL_FUNC, RETURN, EXCEPTION = 1, 3, 4, 5
COPY_FROM_REMOTE, COPY_TO_REMOTE, COPY_ACK = 6, 7, 8
GET_GLOBAL_FUNC, FREE_HANDLE, DEV_ALLOC_DATA, DEV_FREE_DATA, DEV_STREAM_SYNC = 9, 10, 13, 14, 15

# type codes
INT, UINT, FLOAT, HANDLE, NULL, DATATYPE, DEVICE, DLTENSOR = 0, 1, 2, 3, 4, 5, 6, 7
OBJECT, MODULE, FUNC, STR, BYTES, NDARRAY, BOOL = 8, 9, 10, 11, 12, 13, 15

CPU = (1, 0)


class RemoteError(UtvmError):
    """The device answered a request with an exception; the message is the device's."""


class ProtocolError(UtvmError):
    """The device sent something this client cannot make sense of."""


@dataclass(frozen=True)
class Handle:
    """An opaque device handle or address (type code 3)."""

    value: int


@dataclass(frozen=True)
class Module:
    handle: int


@dataclass(frozen=True)
class Function:
    handle: int


@dataclass(frozen=True)
class Tensor:
    """A tensor in device memory: where it is and what it holds."""

    data: int
    shape: tuple[int, ...]
    dtype: np.dtype
    byte_offset: int = 0
    handle: int | None = None  # set for NDArrays the device owns (freed with FreeHandle 13)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


_DTYPE_CODES = {"i": 0, "u": 1, "f": 2, "b": 1}


def dtype_to_wire(dtype: np.dtype) -> bytes:
    dtype = np.dtype(dtype)
    if dtype.kind not in _DTYPE_CODES:
        raise UtvmError(f"dtype {dtype} cannot be sent to a device")
    bits = 1 if dtype.kind == "b" else dtype.itemsize * 8
    return struct.pack("<BBH", _DTYPE_CODES[dtype.kind], bits, 1)


def dtype_from_wire(code: int, bits: int, lanes: int) -> np.dtype:
    if lanes != 1 or code not in (0, 1, 2):
        raise ProtocolError(f"unsupported device dtype (code {code}, bits {bits}, lanes {lanes})")
    if code == 1 and bits == 1:
        return np.dtype(bool)
    return np.dtype({0: "int", 1: "uint", 2: "float"}[code] + str(bits))


def tensor_record(t: Tensor) -> bytes:
    return (struct.pack("<Qiii", t.data, CPU[0], CPU[1], len(t.shape)) + dtype_to_wire(t.dtype)
            + struct.pack(f"<{len(t.shape)}q", *t.shape) + struct.pack("<Q", t.byte_offset))


def encode_args(args: tuple[object, ...]) -> bytes:
    codes, payload = [], bytearray()
    for a in args:
        if isinstance(a, bool):
            codes.append(BOOL), payload.extend(struct.pack("<q", int(a)))
        elif isinstance(a, int):
            codes.append(INT), payload.extend(struct.pack("<q", a))
        elif isinstance(a, float):
            codes.append(FLOAT), payload.extend(struct.pack("<d", a))
        elif a is None:
            codes.append(NULL)
        elif isinstance(a, str):
            raw = a.encode()
            codes.append(STR), payload.extend(struct.pack("<Q", len(raw)) + raw)
        elif isinstance(a, bytes | bytearray):
            codes.append(BYTES), payload.extend(struct.pack("<Q", len(a)) + bytes(a))
        elif isinstance(a, Handle):
            codes.append(HANDLE), payload.extend(struct.pack("<Q", a.value))
        elif isinstance(a, Module):
            codes.append(MODULE), payload.extend(struct.pack("<Q", a.handle))
        elif isinstance(a, Function):
            codes.append(FUNC), payload.extend(struct.pack("<Q", a.handle))
        elif isinstance(a, Tensor):
            codes.append(DLTENSOR), payload.extend(tensor_record(a))
        elif isinstance(a, np.dtype):
            codes.append(DATATYPE), payload.extend(dtype_to_wire(a) + b"\0" * 4)
        elif isinstance(a, tuple) and len(a) == 2 and a[0] == "device":
            codes.append(DEVICE), payload.extend(struct.pack("<ii", *a[1]))
        else:
            raise UtvmError(f"cannot send {type(a).__name__} to a device")
    return struct.pack(f"<i{len(codes)}i", len(codes), *codes) + bytes(payload)


def device(device_type: int = 1, device_id: int = 0) -> tuple[str, tuple[int, int]]:
    """A Device argument (kDLDevice)."""
    return ("device", (device_type, device_id))


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProtocolError("reply ends early")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))


def _decode_value(r: Reader, code: int) -> object:
    if code in (INT, UINT, BOOL):
        return r.unpack("<q")[0]
    if code == FLOAT:
        return r.unpack("<d")[0]
    if code == HANDLE:
        return r.unpack("<Q")[0]
    if code == NULL:
        return None
    if code in (STR, BYTES):
        (n,) = r.unpack("<Q")
        raw = r.take(n)
        return raw.decode(errors="replace") if code == STR else raw
    if code == DATATYPE:
        c, bits, lanes, _ = r.unpack("<BBHi")
        return dtype_from_wire(c, bits, lanes)
    if code == DEVICE:
        return r.unpack("<ii")
    if code == DLTENSOR:
        data, _, _, ndim = r.unpack("<Qiii")
        c, bits, lanes = r.unpack("<BBH")
        shape = r.unpack(f"<{ndim}q")
        (offset,) = r.unpack("<Q")
        return Tensor(data, tuple(shape), dtype_from_wire(c, bits, lanes), offset)
    raise ProtocolError(f"unexpected type code {code} in a reply")


def decode_reply(packet: bytes) -> tuple[int, list[object]]:
    """(RPC code, values) of a reply packet (its u64 length already stripped and checked)."""
    r = Reader(packet)
    (code,) = r.unpack("<i")
    if code == COPY_ACK:
        return code, [packet[4:]]
    if code not in (RETURN, EXCEPTION):
        raise ProtocolError(f"unexpected RPC code {code} from the device")
    (n,) = r.unpack("<i")
    if not 0 <= n <= 16:
        raise ProtocolError(f"reply with {n} values")
    codes = r.unpack(f"<{n}i")
    values = [_decode_value(r, c) for c in codes]
    if code == EXCEPTION:
        raise RemoteError(str(values[0]) if values else "the device raised an error")
    return code, values


def wrap_call_result(values: list[object]) -> object:
    """A CallFunc reply is [callee type code, value(s)]: turn it into a Python value."""
    if len(values) not in (2, 3) or not isinstance(values[0], int):
        raise ProtocolError(f"CallFunc reply with {len(values)} values")
    tcode = values[0]
    if tcode == MODULE:
        return Module(values[1])
    if tcode == FUNC:
        return Function(values[1])
    if tcode == NDARRAY and len(values) == 3:
        t = values[1]
        return Tensor(t.data, t.shape, t.dtype, t.byte_offset, handle=values[2])
    return values[1]
