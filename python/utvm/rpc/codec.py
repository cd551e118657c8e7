"""minRPC packets as TVM 0.18's micro host and CRT server exchange them (little-endian).

Every RPC packet is ``u64 packet_nbytes | i32 RPCCode | body``; one packet travels in each
session Normal message. This module turns packets into typed messages and back, in both
directions (requests host -> device, replies device -> host), without any I/O, so the same
code serves the client, trace decoders and test devices.

Arguments and return values travel as *packed sequences*: ``i32 n | i32 type_codes[n] |
payloads``. A decoded value is an ``Arg(code, value)``; ``to_arg`` picks the type code TVM's
host would use for a Python value (int -> 0, bool -> 15, float -> 2, str -> 11, bytes -> 12,
None -> 4), and the small wrapper classes below select the others.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np

from utvm.rpc.errors import ProtocolError


class RPCCode(IntEnum):
    """``enum class RPCCode`` (i32 on the wire). Codes >= 9 are syscalls."""

    NONE = 0
    SHUTDOWN = 1
    INIT_SERVER = 2
    CALL_FUNC = 3
    RETURN = 4
    EXCEPTION = 5
    COPY_FROM_REMOTE = 6
    COPY_TO_REMOTE = 7
    COPY_ACK = 8
    GET_GLOBAL_FUNC = 9
    FREE_HANDLE = 10
    DEV_SET_DEVICE = 11
    DEV_GET_ATTR = 12
    DEV_ALLOC_DATA = 13
    DEV_FREE_DATA = 14
    DEV_STREAM_SYNC = 15
    COPY_AMONG_REMOTE = 16
    DEV_ALLOC_DATA_WITH_SCOPE = 17
    DEV_CREATE_STREAM = 18
    DEV_FREE_STREAM = 19
    DEV_SET_STREAM = 20
    DEV_GET_CURRENT_STREAM = 21


SYSCALL_START = RPCCode.GET_GLOBAL_FUNC


class TypeCode(IntEnum):
    """Argument type codes of packed sequences (i32 on the wire)."""

    INT = 0
    UINT = 1
    FLOAT = 2
    OPAQUE_HANDLE = 3
    NULL = 4
    DATA_TYPE = 5
    DEVICE = 6
    DLTENSOR = 7
    OBJECT = 8
    MODULE = 9
    PACKED_FUNC = 10
    STR = 11
    BYTES = 12
    NDARRAY = 13
    OBJECT_RVALUE_REF = 14
    BOOL = 15


# Short names for callers that only need a few codes.
SHUTDOWN = RPCCode.SHUTDOWN
CALL_FUNC = RPCCode.CALL_FUNC
RETURN = RPCCode.RETURN
EXCEPTION = RPCCode.EXCEPTION
COPY_FROM_REMOTE = RPCCode.COPY_FROM_REMOTE
COPY_TO_REMOTE = RPCCode.COPY_TO_REMOTE
COPY_ACK = RPCCode.COPY_ACK
GET_GLOBAL_FUNC = RPCCode.GET_GLOBAL_FUNC
FREE_HANDLE = RPCCode.FREE_HANDLE

RPC_OBJECT_TYPE_INDEX = 9  # kRuntimeRPCObjectRefTypeIndex, the only object type on the wire
KDL_CPU = 1
_I64_MIN, _I64_MAX, _U64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1


# -- value types ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Handle:
    """An opaque device pointer or handle (type code 3). 0 is NULL."""

    value: int


@dataclass(frozen=True)
class Device:
    """A DLDevice (type code 6): i32 device_type, i32 device_id. kDLCPU = 1."""

    device_type: int = KDL_CPU
    device_id: int = 0


CPU = Device()


@dataclass(frozen=True)
class DataType:
    """A DLDataType: type code (0 int, 1 uint, 2 float, 3 handle, 4 bfloat), bits, lanes."""

    code: int
    bits: int
    lanes: int = 1

    @property
    def itemsize(self) -> int:
        """Bytes per element as TVM stores it (a 1-bit bool takes one byte)."""
        return (self.bits * self.lanes + 7) // 8

    @classmethod
    def from_numpy(cls, dtype: Any) -> DataType:
        dt = np.dtype(dtype)
        if dt == np.bool_:
            return cls(1, 1, 1)  # TVM's "bool" is uint1
        kinds = {"i": 0, "u": 1, "f": 2}
        if dt.kind not in kinds or dt.byteorder == ">":
            raise ProtocolError(f"numpy dtype {dt} has no DLDataType: use an int, uint, float "
                                "or bool dtype in native byte order")
        return cls(kinds[dt.kind], dt.itemsize * 8, 1)

    def to_numpy(self) -> np.dtype:
        if self.lanes != 1:
            raise ProtocolError(f"{self} has {self.lanes} lanes; numpy has no vector dtypes")
        if (self.code, self.bits) == (1, 1):
            return np.dtype(np.bool_)
        names = {0: "int", 1: "uint", 2: "float"}
        if self.code not in names:
            raise ProtocolError(f"{self} (type code {self.code}) has no numpy equivalent")
        try:
            return np.dtype(f"{names[self.code]}{self.bits}")
        except TypeError as e:
            raise ProtocolError(f"{self} has no numpy equivalent") from e

    def __str__(self) -> str:
        names = {0: "int", 1: "uint", 2: "float", 3: "handle", 4: "bfloat"}
        name = "bool" if (self.code, self.bits) == (1, 1) else \
            f"{names.get(self.code, f'code{self.code}')}{self.bits}"
        return name if self.lanes == 1 else f"{name}x{self.lanes}"


@dataclass(frozen=True)
class TensorRecord:
    """The DLTensor wire record (type code 7): 32 + 8*ndim bytes, no strides."""

    data: int  # device address
    shape: tuple[int, ...]
    dtype: DataType
    device: Device = CPU
    byte_offset: int = 0

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def wire_size(self) -> int:
        return 32 + 8 * self.ndim


class Arg(NamedTuple):
    """One value of a packed sequence with its type code."""

    code: int
    value: Any


# Wrappers for handles the host echoes back with a specific type code.
@dataclass(frozen=True)
class ModuleHandle:
    value: int


@dataclass(frozen=True)
class FuncHandle:
    value: int


@dataclass(frozen=True)
class ObjectHandle:
    value: int


def to_arg(value: Any) -> Arg:
    """The (type code, value) TVM's host would send for a Python value."""
    if isinstance(value, Arg):
        return value
    rpc_arg = getattr(value, "__rpc_arg__", None)
    if rpc_arg is not None:  # client-side objects (remote functions, tensors) know their code
        return rpc_arg()
    if isinstance(value, bool | np.bool_):
        return Arg(TypeCode.BOOL, int(value))
    if isinstance(value, int | np.integer):
        return Arg(TypeCode.INT, int(value))
    if isinstance(value, float | np.floating):
        return Arg(TypeCode.FLOAT, float(value))
    if value is None:
        return Arg(TypeCode.NULL, None)
    if isinstance(value, str):
        return Arg(TypeCode.STR, value)
    if isinstance(value, bytes | bytearray | memoryview):
        return Arg(TypeCode.BYTES, bytes(value))
    simple = {Handle: TypeCode.OPAQUE_HANDLE, ModuleHandle: TypeCode.MODULE,
              FuncHandle: TypeCode.PACKED_FUNC, ObjectHandle: TypeCode.OBJECT}
    if type(value) in simple:
        return Arg(simple[type(value)], value.value)
    if isinstance(value, Device):
        return Arg(TypeCode.DEVICE, value)
    if isinstance(value, DataType):
        return Arg(TypeCode.DATA_TYPE, value)
    if isinstance(value, np.dtype):
        return Arg(TypeCode.DATA_TYPE, DataType.from_numpy(value))
    if isinstance(value, TensorRecord):
        return Arg(TypeCode.DLTENSOR, value)
    raise ProtocolError(f"cannot send a {type(value).__name__} to the device: pass an int, "
                        "float, bool, str, bytes, None, a device tensor, module or function")


# -- low-level encoding -----------------------------------------------------------------------
def _check_range(value: int, low: int, high: int, what: str) -> int:
    if not low <= value <= high:
        raise ProtocolError(f"{what} {value} does not fit its wire field ({low}..{high})")
    return value


def encode_device(device: Device) -> bytes:
    return struct.pack("<ii", device.device_type, device.device_id)


def encode_dtype(dtype: DataType) -> bytes:
    return struct.pack("<BBH", dtype.code, dtype.bits, dtype.lanes)


def encode_tensor(t: TensorRecord) -> bytes:
    return (struct.pack("<Q", _check_range(t.data, 0, _U64_MAX, "tensor address"))
            + encode_device(t.device) + struct.pack("<i", t.ndim) + encode_dtype(t.dtype)
            + struct.pack(f"<{t.ndim}q", *t.shape) + struct.pack("<Q", t.byte_offset))


def _length_prefixed(raw: bytes) -> bytes:
    return struct.pack("<Q", len(raw)) + raw


def _encode_payload(arg: Arg) -> bytes:
    code, value = arg
    if code in (TypeCode.INT, TypeCode.BOOL):
        return struct.pack("<q", _check_range(int(value), _I64_MIN, _I64_MAX, "integer"))
    if code == TypeCode.UINT:  # TVM sends the union's 64 bits either way
        return struct.pack("<Q", int(value) & _U64_MAX)
    if code == TypeCode.FLOAT:
        return struct.pack("<d", value)
    if code in (TypeCode.OPAQUE_HANDLE, TypeCode.MODULE, TypeCode.PACKED_FUNC):
        return struct.pack("<Q", _check_range(int(value), 0, _U64_MAX, "handle"))
    if code == TypeCode.NULL:
        return b""
    if code == TypeCode.DATA_TYPE:
        return encode_dtype(value) + b"\0\0\0\0"
    if code == TypeCode.DEVICE:
        return encode_device(value)
    if code == TypeCode.DLTENSOR:
        return encode_tensor(value)
    if code == TypeCode.OBJECT:
        return struct.pack("<IQ", RPC_OBJECT_TYPE_INDEX, value)
    if code == TypeCode.STR:
        return _length_prefixed(value.encode("utf-8", "surrogateescape"))
    if code == TypeCode.BYTES:
        return _length_prefixed(bytes(value))
    raise ProtocolError(f"type code {code} cannot be sent on the wire")


def encode_packed(values: list[Any] | tuple[Any, ...]) -> bytes:
    """A packed sequence of values (Python values, wrappers or ``Arg``)."""
    args = [to_arg(v) for v in values]
    head = struct.pack(f"<i{len(args)}i", len(args), *(int(a.code) for a in args))
    return head + b"".join(_encode_payload(a) for a in args)


class Reader:
    """A cursor over a packet; running past its end is a ProtocolError."""

    def __init__(self, data: bytes, what: str = "packet") -> None:
        self.data, self.pos, self.what = data, 0, what

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError(f"{self.what} ends early: needs {n} more bytes at offset "
                                f"{self.pos}, has {self.remaining}")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        layout = _STRUCTS.get(fmt)
        if layout is None:  # compiled once per format: this is the hot path of every reply
            layout = _STRUCTS[fmt] = struct.Struct("<" + fmt)
        end = self.pos + layout.size
        if end > len(self.data):
            self.take(layout.size)  # raises with the details
        values = layout.unpack_from(self.data, self.pos)
        self.pos = end
        return values

    def one(self, fmt: str) -> Any:
        return self.unpack(fmt)[0]


_STRUCTS: dict[str, struct.Struct] = {}


def decode_tensor(r: Reader) -> TensorRecord:
    data, device_type, device_id, ndim = r.unpack("Qiii")
    if not 0 <= ndim <= 64:
        raise ProtocolError(f"tensor record with ndim {ndim}")
    code, bits, lanes = r.unpack("BBH")
    shape = r.unpack(f"{ndim}q")
    byte_offset = r.one("Q")
    return TensorRecord(data, tuple(shape), DataType(code, bits, lanes),
                        Device(device_type, device_id), byte_offset)


def _decode_payload(r: Reader, code: int) -> Any:
    if code in (TypeCode.INT, TypeCode.BOOL):
        return r.one("q")
    if code == TypeCode.UINT:
        return r.one("Q")
    if code == TypeCode.FLOAT:
        return r.one("d")
    if code in (TypeCode.OPAQUE_HANDLE, TypeCode.MODULE, TypeCode.PACKED_FUNC):
        return r.one("Q")
    if code == TypeCode.NULL:
        return None
    if code == TypeCode.DATA_TYPE:
        type_code, bits, lanes, _pad = r.unpack("BBHi")
        return DataType(type_code, bits, lanes)
    if code == TypeCode.DEVICE:
        return Device(*r.unpack("ii"))
    if code == TypeCode.DLTENSOR:
        return decode_tensor(r)
    if code == TypeCode.OBJECT:
        type_index, handle = r.unpack("IQ")
        if type_index != RPC_OBJECT_TYPE_INDEX:
            raise ProtocolError(f"object argument of type index {type_index} (only "
                                f"{RPC_OBJECT_TYPE_INDEX}, an RPC object reference, exists)")
        return handle
    if code in (TypeCode.STR, TypeCode.BYTES):
        n = r.one("Q")
        raw = r.take(n)
        return raw.decode("utf-8", "surrogateescape") if code == TypeCode.STR else raw
    raise ProtocolError(f"type code {code} never appears on the wire")


def _struct(fmt: str) -> struct.Struct:
    layout = _STRUCTS.get(fmt)
    if layout is None:
        layout = _STRUCTS[fmt] = struct.Struct(fmt)
    return layout


def decode_packed(r: Reader) -> list[Arg]:
    n = r.one("i")
    if n < 0 or 4 * n > r.remaining:
        raise ProtocolError(f"packed sequence claims {n} values, the packet is too short")
    codes = r.unpack(f"{n}i")
    fixed = _fixed_layout(codes)
    if fixed is not None:  # numbers and handles only (most replies): one unpack for all
        return [Arg(_type_code(c), v) for c, v in zip(codes, r.unpack(fixed), strict=True)]
    return [Arg(_type_code(c), _decode_payload(r, c)) for c in codes]


# Payload formats of the type codes whose payload is one fixed-size number.
_FIXED_FORMATS = {TypeCode.INT: "q", TypeCode.BOOL: "q", TypeCode.UINT: "Q",
                  TypeCode.FLOAT: "d", TypeCode.OPAQUE_HANDLE: "Q", TypeCode.MODULE: "Q",
                  TypeCode.PACKED_FUNC: "Q"}
_LAYOUTS: dict[tuple[int, ...], str | None] = {}


def _fixed_layout(codes: tuple[int, ...]) -> str | None:
    """The struct format of a packed sequence's payloads when every one is a plain number
    (None otherwise); remembered per sequence of type codes."""
    try:
        return _LAYOUTS[codes]
    except KeyError:
        pass
    formats = [_FIXED_FORMATS.get(c) for c in codes]
    layout = None if None in formats else "".join(formats)
    if len(_LAYOUTS) < 256:  # a malicious device could otherwise grow it without bound
        _LAYOUTS[codes] = layout
    return layout


_TYPE_CODES = {int(c): c for c in TypeCode}


def _type_code(code: int) -> int:
    return _TYPE_CODES.get(code, code)


# -- messages ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CallFunc:
    handle: int
    args: list[Arg] = field(default_factory=list)


@dataclass(frozen=True)
class CopyToRemote:
    tensor: TensorRecord  # destination; byte_offset selects the chunk
    data: bytes


@dataclass(frozen=True)
class CopyFromRemote:
    tensor: TensorRecord  # source; byte_offset selects the chunk
    nbytes: int


@dataclass(frozen=True)
class Syscall:
    """GetGlobalFunc, FreeHandle, Dev* ...: a code >= 9 with a packed sequence."""

    code: int
    args: list[Arg] = field(default_factory=list)


@dataclass(frozen=True)
class InitServer:
    protocol_version: str = "0.8.0"
    args: list[Arg] = field(default_factory=list)


@dataclass(frozen=True)
class Shutdown:
    pass


@dataclass(frozen=True)
class Return:
    values: list[Arg] = field(default_factory=list)


@dataclass(frozen=True)
class ExceptionReply:
    """kException: the device's error message as a one-string packed sequence."""

    values: list[Arg] = field(default_factory=list)

    @property
    def message(self) -> str:
        texts = [str(v) for c, v in self.values if c == TypeCode.STR]
        return texts[0] if texts else ""


@dataclass(frozen=True)
class CopyAck:
    data: bytes


@dataclass(frozen=True)
class EmptyPacket:
    """packet_nbytes == 0: legal, and ignored by both sides."""


Request = CallFunc | CopyToRemote | CopyFromRemote | Syscall | InitServer | Shutdown
Reply = Return | ExceptionReply | CopyAck
Message = Request | Reply | EmptyPacket


def encode_body(msg: Message) -> bytes:
    """``i32 code | body`` of a message (the packet without its u64 length)."""
    if isinstance(msg, EmptyPacket):
        return b""
    if isinstance(msg, CallFunc):
        return struct.pack("<iQ", CALL_FUNC, msg.handle) + encode_packed(msg.args)
    if isinstance(msg, CopyToRemote):
        return (struct.pack("<i", COPY_TO_REMOTE) + encode_tensor(msg.tensor)
                + struct.pack("<Q", len(msg.data)) + bytes(msg.data))
    if isinstance(msg, CopyFromRemote):
        return (struct.pack("<i", COPY_FROM_REMOTE) + encode_tensor(msg.tensor)
                + struct.pack("<Q", msg.nbytes))
    if isinstance(msg, Syscall):
        if msg.code < SYSCALL_START:
            raise ProtocolError(f"RPC code {msg.code} is not a syscall")
        return struct.pack("<i", msg.code) + encode_packed(msg.args)
    if isinstance(msg, InitServer):
        return (struct.pack("<i", RPCCode.INIT_SERVER) + _length_prefixed(
            msg.protocol_version.encode()) + encode_packed(msg.args))
    if isinstance(msg, Shutdown):
        return struct.pack("<i", SHUTDOWN)
    if isinstance(msg, Return):
        return struct.pack("<i", RETURN) + encode_packed(msg.values)
    if isinstance(msg, ExceptionReply):
        return struct.pack("<i", EXCEPTION) + encode_packed(msg.values)
    if isinstance(msg, CopyAck):
        return struct.pack("<i", COPY_ACK) + bytes(msg.data)
    raise TypeError(f"not an RPC message: {msg!r}")


_CALL_HEAD = struct.Struct("<QiQ")  # packet_nbytes, kCallFunc, function handle
_NO_ARGS = struct.pack("<i", 0)


def encode_call(handle: int, args: list[Arg]) -> bytes:
    """The packet of ``CallFunc(handle, args)``, without building the message object
    (byte for byte what ``encode_packet`` makes of it; remote calls are the hot path)."""
    packed = encode_packed(args) if args else _NO_ARGS
    return _CALL_HEAD.pack(12 + len(packed), CALL_FUNC, handle) + packed


# A CallFunc's usual reply: Return([i64 callee type code, one 8-byte number or handle]).
_CALL_RETURN = struct.Struct("<Qiiiiq")  # packet_nbytes, kReturn, 2, kInt, value code, tcode
_CALL_RETURN_SIZE = _CALL_RETURN.size + 8
_VALUE_FORMATS = {TypeCode.INT: struct.Struct("<q"), TypeCode.BOOL: struct.Struct("<q"),
                  TypeCode.UINT: struct.Struct("<Q"), TypeCode.FLOAT: struct.Struct("<d"),
                  TypeCode.OPAQUE_HANDLE: struct.Struct("<Q"), TypeCode.MODULE: struct.Struct("<Q"),
                  TypeCode.PACKED_FUNC: struct.Struct("<Q")}


def decode_call_return(packet: bytes) -> tuple[int, int, Any] | None:
    """``(callee type code, value type code, value)`` when ``packet`` is the usual CallFunc
    reply (a Return of the callee's type code and one number or handle), else None: decode
    it with ``decode_reply`` then. No message objects: this is every remote call's reply."""
    if len(packet) == _CALL_RETURN_SIZE:
        nbytes, code, n, code0, code1, tcode = _CALL_RETURN.unpack_from(packet)
        if nbytes == _CALL_RETURN_SIZE - 8 and code == RETURN and n == 2 and code0 == 0:
            fmt = _VALUE_FORMATS.get(code1)
            if fmt is not None:
                return tcode, code1, fmt.unpack_from(packet, _CALL_RETURN.size)[0]
    return None


_SINGLE_RETURN = struct.Struct("<Qiii")  # packet_nbytes, kReturn, 1, value code


def decode_single_return(packet: bytes) -> tuple[int, Any] | None:
    """``(type code, value)`` when ``packet`` is a Return of one number, handle or None (what
    syscalls answer), else None: decode it with ``decode_reply`` then."""
    size = len(packet)
    if size >= _SINGLE_RETURN.size:
        nbytes, code, n, value_code = _SINGLE_RETURN.unpack_from(packet)
        if code == RETURN and n == 1 and nbytes == size - 8:
            if value_code == TypeCode.NULL and size == _SINGLE_RETURN.size:
                return value_code, None
            fmt = _VALUE_FORMATS.get(value_code)
            if fmt is not None and size == _SINGLE_RETURN.size + 8:
                return value_code, fmt.unpack_from(packet, _SINGLE_RETURN.size)[0]
    return None


_ACK_HEAD = struct.Struct("<Qi")  # packet_nbytes, kCopyAck


def copy_ack_data(packet: bytes) -> memoryview | None:
    """The data of a CopyAck packet, without copying it (None if it is no CopyAck)."""
    if len(packet) >= _ACK_HEAD.size:
        nbytes, code = _ACK_HEAD.unpack_from(packet)
        if code == COPY_ACK and nbytes == len(packet) - 8:
            return memoryview(packet)[_ACK_HEAD.size:]
    return None


def encode_syscall(code: int, args: list[Arg]) -> bytes:
    """The packet of ``Syscall(code, args)`` (byte for byte what ``encode_packet`` makes)."""
    if code < SYSCALL_START:
        raise ProtocolError(f"RPC code {code} is not a syscall")
    packed = encode_packed(args)
    return struct.pack("<Qi", 4 + len(packed), code) + packed


_OFFSET_AND_SIZE = struct.Struct("<QQ")


class CopyPackets:
    """CopyToRemote / CopyFromRemote packets for the chunks of one tensor: the record is
    encoded once and each chunk only advances ``byte_offset`` (byte for byte what
    ``encode_packet`` makes of the messages)."""

    def __init__(self, tensor: TensorRecord) -> None:
        record = encode_tensor(tensor)[:-8]  # all but byte_offset, the record's last field
        self._base_offset = tensor.byte_offset
        self._to_head = struct.pack("<i", COPY_TO_REMOTE) + record
        self._from_packet_head = struct.pack("<Qi", 4 + len(record) + 16,
                                             COPY_FROM_REMOTE) + record

    def copy_to(self, offset: int, data: bytes) -> tuple[bytes, bytes]:
        """The packet as (head, data), so the data is not copied into it."""
        head = self._to_head
        return (struct.pack("<Q", len(head) + 16 + len(data)) + head
                + _OFFSET_AND_SIZE.pack(self._base_offset + offset, len(data)), data)

    def copy_from(self, offset: int, nbytes: int) -> bytes:
        return self._from_packet_head + _OFFSET_AND_SIZE.pack(self._base_offset + offset, nbytes)


_REPLY_HEAD = struct.Struct("<Qii")  # packet_nbytes, code, number of values
_CODES = [struct.Struct(f"<{n}i") for n in range(9)]


def decode_reply(packet: bytes) -> Message:
    """``decode_packet`` with a shortcut for the usual reply, a Return of plain numbers and
    handles (what every CallFunc and most syscalls get); the same result either way."""
    if len(packet) >= _REPLY_HEAD.size:
        nbytes, code, n = _REPLY_HEAD.unpack_from(packet)
        if code == RETURN and 0 <= n < len(_CODES) and nbytes == len(packet) - 8:
            head = _REPLY_HEAD.size + 4 * n
            if head <= len(packet):
                codes = _CODES[n].unpack_from(packet, _REPLY_HEAD.size)
                layout = _fixed_layout(codes)
                if layout is not None:
                    fmt = _struct("<" + layout)
                    if head + fmt.size == len(packet):
                        return Return([Arg(_type_code(c), v) for c, v in
                                       zip(codes, fmt.unpack_from(packet, head), strict=True)])
    return decode_packet(packet)


def encode_packet(msg: Message) -> bytes:
    """The complete RPC packet: ``u64 packet_nbytes`` then code and body."""
    body = encode_body(msg)
    return struct.pack("<Q", len(body)) + body


def decode_packet(packet: bytes) -> Message:
    """A message from one complete RPC packet (either direction).

    The u64 length must match the packet exactly: TVM carries one packet per session message.
    """
    r = Reader(packet, "RPC packet")
    nbytes = r.one("Q")
    if nbytes != r.remaining:
        raise ProtocolError(f"RPC packet announces {nbytes} bytes but carries {r.remaining}")
    if nbytes == 0:
        return EmptyPacket()
    code = r.one("i")
    msg = _decode_body(code, r)
    if r.remaining:
        raise ProtocolError(f"RPC packet (code {code}) has {r.remaining} surplus bytes")
    return msg


def _decode_body(code: int, r: Reader) -> Message:
    if code == CALL_FUNC:
        return CallFunc(r.one("Q"), decode_packed(r))
    if code == COPY_TO_REMOTE:
        tensor = decode_tensor(r)
        nbytes = r.one("Q")
        return CopyToRemote(tensor, r.take(nbytes))
    if code == COPY_FROM_REMOTE:
        return CopyFromRemote(decode_tensor(r), r.one("Q"))
    if code >= SYSCALL_START:
        return Syscall(_rpc_code(code), decode_packed(r))
    if code == RPCCode.INIT_SERVER:
        version = r.take(r.one("Q")).decode("utf-8", "surrogateescape")
        return InitServer(version, decode_packed(r))
    if code == SHUTDOWN:
        return Shutdown()
    if code == RETURN:
        return Return(decode_packed(r))
    if code == EXCEPTION:
        return ExceptionReply(decode_packed(r))
    if code == COPY_ACK:
        return CopyAck(r.take(r.remaining))
    raise ProtocolError(f"RPC code {code} is not a valid packet code")


_RPC_CODES = {int(c): c for c in RPCCode}


def _rpc_code(code: int) -> int:
    # Unknown syscalls are still well-formed (the device answers Exception).
    return _RPC_CODES.get(code, code)


def describe(msg: Message) -> str:
    """A one-line human description, for traces and error messages."""
    if isinstance(msg, CallFunc):
        return f"CallFunc(0x{msg.handle:x}, {describe_args(msg.args)})"
    if isinstance(msg, Syscall):
        name = msg.code.name if isinstance(msg.code, RPCCode) else f"syscall {msg.code}"
        return f"{name}({describe_args(msg.args)})"
    if isinstance(msg, CopyToRemote):
        return (f"CopyToRemote(0x{msg.tensor.data:x}+{msg.tensor.byte_offset}, "
                f"{len(msg.data)} bytes)")
    if isinstance(msg, CopyFromRemote):
        return f"CopyFromRemote(0x{msg.tensor.data:x}+{msg.tensor.byte_offset}, {msg.nbytes})"
    if isinstance(msg, Return):
        return f"Return({describe_args(msg.values)})"
    if isinstance(msg, ExceptionReply):
        return f"Exception({msg.message!r})"
    if isinstance(msg, CopyAck):
        return f"CopyAck({len(msg.data)} bytes)"
    return type(msg).__name__


def describe_args(args: list[Arg]) -> str:
    def one(a: Arg) -> str:
        if a.code in (TypeCode.OPAQUE_HANDLE, TypeCode.MODULE, TypeCode.PACKED_FUNC):
            return f"{TypeCode(a.code).name.lower()} 0x{a.value:x}"
        if a.code == TypeCode.DLTENSOR:
            t = a.value
            return f"tensor 0x{t.data:x} {t.dtype}{list(t.shape)}"
        if a.code == TypeCode.BYTES:
            return f"bytes[{len(a.value)}]"
        return repr(a.value)
    return ", ".join(one(a) for a in args)
