"""The RPC client: requests over a session, one reply each, with copies chunked."""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np

from utvm.errors import UtvmError
from utvm.rpc import codec
from utvm.rpc.codec import Function, Handle, Module, ProtocolError, Tensor
from utvm.rpc.session import Session

# A copy request carries a tensor record (ndim <= 6) besides its data.
_COPY_OVERHEAD = 4 + 8 + 8 + 4 + 4 + 8 + 8 * 6 + 8
Progress = Callable[[int, int], None]


class RpcClient:
    def __init__(self, session: Session, reply_timeout: float | None = 10.0) -> None:
        self.session = session
        self.reply_timeout = reply_timeout
        self._max_packet: int | None = None

    # -- one request, one reply ----------------------------------------------------------------
    def request(self, code: int, body: bytes, timeout: float | None = None) -> tuple[int, list]:
        body = struct.pack("<i", code) + body
        self.session.send(struct.pack("<Q", len(body)) + body, self.reply_timeout)
        reply = self.session.receive(timeout if timeout is not None else self.reply_timeout)
        if len(reply) < 8 or struct.unpack_from("<Q", reply)[0] != len(reply) - 8:
            raise ProtocolError("reply length disagrees with its header")
        return codec.decode_reply(reply[8:])

    def syscall(self, code: int, *args: object) -> object:
        _, values = self.request(code, codec.encode_args(args))
        return values[0] if values else None

    # -- functions and modules -----------------------------------------------------------------
    def get_global(self, name: str) -> Function | None:
        handle = self.syscall(codec.GET_GLOBAL_FUNC, name)
        return Function(handle) if handle else None

    def global_func(self, name: str) -> Function:
        f = self.get_global(name)
        if f is None:
            raise UtvmError(f"the device has no function {name}: is it running the utvm (or "
                            "TVM) RPC server with that component enabled?")
        return f

    def call(self, func: Function, *args: object, timeout: float | None = None) -> object:
        body = struct.pack("<Q", func.handle) + codec.encode_args(args)
        _, values = self.request(codec.CALL_FUNC, body, timeout)
        return codec.wrap_call_result(values)

    def module_function(self, module: Module, name: str) -> Function:
        getter = self.global_func("tvm.rpc.server.ModuleGetFunction")
        f = self.call(getter, module, name, True)
        if not isinstance(f, Function):
            raise UtvmError(f"the device module has no function {name}")
        return f

    def system_lib(self) -> Module:
        return self.call(self.global_func("runtime.SystemLib"))

    def free(self, value: Module | Function | Tensor) -> None:
        if isinstance(value, Tensor):
            if value.handle is not None:
                self.syscall(codec.FREE_HANDLE, Handle(value.handle), codec.NDARRAY)
        else:
            code = codec.MODULE if isinstance(value, Module) else codec.FUNC
            self.syscall(codec.FREE_HANDLE, Handle(value.handle), code)

    # -- memory --------------------------------------------------------------------------------
    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> Tensor:
        t = Tensor(0, tuple(shape), np.dtype(dtype))
        ptr = self.syscall(codec.DEV_ALLOC_DATA, codec.device(), max(t.nbytes, 1), 64,
                           np.dtype(dtype))
        return Tensor(ptr, tuple(shape), np.dtype(dtype))

    def free_data(self, t: Tensor) -> None:
        self.syscall(codec.DEV_FREE_DATA, codec.device(), Handle(t.data))

    def max_packet(self) -> int:
        """Largest RPC packet the device takes; asks once per client."""
        if self._max_packet is None:
            f = self.get_global("utvm.rpc.GetMaxPacketSize") or self.get_global(
                "tvm.rpc.server.GetCRTMaxPacketSize")
            size = self.call(f) if f else 1 << 30
            if not isinstance(size, int) or size <= _COPY_OVERHEAD:
                raise ProtocolError(f"the device reports a maximum packet of {size} bytes")
            self._max_packet = size
        return self._max_packet

    def _chunks(self, nbytes: int) -> range:
        return range(0, nbytes, self.max_packet() - _COPY_OVERHEAD)

    def copy_to(self, t: Tensor, array: np.ndarray, progress: Progress | None = None) -> None:
        data = np.ascontiguousarray(array, dtype=t.dtype)
        if data.nbytes != t.nbytes:
            raise UtvmError(f"{data.nbytes} bytes do not fit a device tensor of {t.nbytes}")
        raw = data.tobytes()
        block = self.max_packet() - _COPY_OVERHEAD
        for start in self._chunks(len(raw)):
            chunk = raw[start:start + block]
            where = Tensor(t.data, (len(chunk),), np.dtype(np.uint8), t.byte_offset + start)
            body = codec.tensor_record(where) + struct.pack("<Q", len(chunk)) + chunk
            self.request(codec.COPY_TO_REMOTE, body)
            if progress:
                progress(start + len(chunk), len(raw))

    def copy_from(self, t: Tensor, progress: Progress | None = None) -> np.ndarray:
        out = bytearray()
        block = self.max_packet() - _COPY_OVERHEAD
        for start in self._chunks(t.nbytes):
            n = min(block, t.nbytes - start)
            where = Tensor(t.data, (n,), np.dtype(np.uint8), t.byte_offset + start)
            _, (data,) = self.request(codec.COPY_FROM_REMOTE,
                                      codec.tensor_record(where) + struct.pack("<Q", n))
            if len(data) != n:
                raise ProtocolError(f"asked for {n} bytes, the device sent {len(data)}")
            out += data
            if progress:
                progress(len(out), t.nbytes)
        return np.frombuffer(bytes(out), dtype=t.dtype).reshape(t.shape)
