"""The RPC client: one request, one reply, over an established session.

It speaks to the device the way TVM 0.18's micro host does (doc §4, §6, §7): global functions
through GetGlobalFunc, calls through CallFunc (whose reply carries the callee's return type
code first), device memory through DevAllocData/DevFreeData, and copies split into chunks
that fit the device's maximum packet size (§4.8), asked for once, on the first copy. Each
request waits for its reply, except a copy's closing DevStreamSync on links that buffer
requests: it follows the last chunk at once (the bytes on the wire are the same).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from utvm.rpc import codec
from utvm.rpc.codec import (
    CPU,
    Arg,
    CallFunc,
    CopyAck,
    DataType,
    EmptyPacket,
    ExceptionReply,
    Handle,
    Request,
    Return,
    RPCCode,
    Shutdown,
    Syscall,
    TensorRecord,
    TypeCode,
)
from utvm.rpc.errors import DamagedReply, FunctionNotFound, ProtocolError, RemoteError
from utvm.rpc.messages import MessageTable
from utvm.rpc.remote import DeviceArray, RemoteFunc, RemoteModule
from utvm.rpc.retry_policy import RetryState, failure_name
from utvm.rpc.session import SessionLayer
from utvm.transport.base import TransportTimeout

# Asked in this order on the first copy. utvm's server also offers its real (possibly larger)
# packet size under its own name; TVM's devices answer that lookup with handle 0.
TVM_MAX_PACKET_FUNCTIONS = ("tvm.rpc.server.GetCRTMaxPacketSize",)
DEFAULT_MAX_PACKET_FUNCTIONS = ("utvm.rpc.GetMaxPacketSize", *TVM_MAX_PACKET_FUNCTIONS)
NO_LIMIT = (1 << 64) - 1  # TVM's answer when the device has no size function
MODULE_GET_FUNCTION = "tvm.rpc.server.ModuleGetFunction"
_COPY_FIXED_OVERHEAD = 44  # code, data, device, ndim, dtype, byte_offset, nbytes


def copy_overhead(ndim: int) -> int:
    """Bytes of a copy request besides its data: 44 + 8 * ndim (doc §4.8)."""
    return _COPY_FIXED_OVERHEAD + 8 * ndim


class RpcClient:
    """Requests over a session (``SessionLayer``, or anything with its ``send``/``receive``).

    ``reply_timeout`` bounds each wait for a reply (default: the session's established
    timeout). ``max_packet_functions`` are the device functions asked for the packet size.
    ``copy_packet_limit`` caps the packets of copies below the device's maximum (on a noisy
    link, a smaller packet is less likely to be hit). With ``retry`` set, a request whose
    reply is lost is sent again (``utvm.rpc.retry_policy``); without it, as in TVM, the
    first loss ends the session.
    ``messages`` expands the error messages a board sends by reference (default: those of
    the session's firmware, when its link knows the ELF).
    """

    def __init__(self, session: Any, reply_timeout: float | None = None,
                 max_packet_functions: tuple[str, ...] = DEFAULT_MAX_PACKET_FUNCTIONS,
                 copy_packet_limit: int | None = None, retry: RetryState | None = None,
                 messages: MessageTable | None = None) -> None:
        self.session: SessionLayer = getattr(session, "layer", session)
        self.messages = messages if messages is not None else getattr(session, "messages",
                                                                       None)
        self.reply_timeout = reply_timeout
        self.max_packet_functions = max_packet_functions
        self.copy_packet_limit = copy_packet_limit
        self.retry = retry
        self._last_was_resent = False
        self._max_packet: int | None = None
        self._module_get_function: int | None = None

    # -- one request, one reply -------------------------------------------------------------
    def request(self, msg: Request, timeout: float | None = None,
                label: str | Callable[[], str] = "") -> Return | CopyAck:
        """Sends ``msg`` and returns the device's Return or CopyAck.

        An Exception reply raises ``RemoteError`` with the device's message; ``label`` names
        the request in messages (default: a description of ``msg``). It may be a callable:
        names are only built when a message needs one, not on every call.
        """
        return self._exchange(codec.encode_packet(msg), timeout,
                              lambda: (label() if callable(label) else label)
                              or codec.describe(msg))

    def _exchange(self, packet: bytes, timeout: float | None,
                  describe: Callable[[], str]) -> Return | CopyAck:
        """Sends one request packet, returns its reply (``request`` without the message
        object; ``describe`` names the request, and is only called for an error)."""
        return self._checked_reply(self._send_receive(packet, timeout, describe), describe)

    def _send_receive(self, packet: bytes | tuple[bytes, ...], timeout: float | None,
                      describe: Callable[[], str]) -> bytes:
        """Sends one request packet (maybe in parts) and returns the next reply packet,
        undecoded."""
        if self.retry is not None:
            return self._retrying(lambda: packet, timeout, describe)
        self._send(packet, describe)
        return self._receive(timeout, describe)

    def _retrying(self, make_packet: Callable[[], bytes | tuple[bytes, ...]],
                  timeout: float | None, describe: Callable[[], str]) -> bytes:
        """``_send_receive`` that sends again when the reply is lost (``self.retry``).

        ``make_packet`` is asked for the packet before each try (a copy re-slices its data
        when its packets got smaller). A silence is only taken for a lost reply on the
        ordinary reply timeout: a request given its own timeout (a long run) may simply be
        busy, and sending it again would queue a second run behind the first.
        """
        state = self.retry
        assert state is not None
        resends = 0
        while True:
            packet = make_packet()
            try:
                self._send(packet, describe)
                reply = self._receive(timeout, describe)
            except (DamagedReply, TransportTimeout) as error:
                busy = isinstance(error, TransportTimeout) and timeout is not None
                note = state.failed(self._max_packet)
                if busy or resends >= state.policy.resends or state.exhausted:
                    raise
                resends += 1
                state.resends += 1
                self.session.resync(state.policy.quiet_seconds)
                state.say(f"link: {failure_name(error)}, request resent (retry "
                          f"{resends}/{state.policy.resends}){note}")
                continue
            state.succeeded()
            self._last_was_resent = resends > 0
            return reply

    def _send_receive_synced(self, packet: bytes | tuple[bytes, ...],
                             describe: Callable[[], str]) -> bytes:
        """``_send_receive`` followed by DevStreamSync, as TVM's host does after a copy.

        Where the link buffers requests (``Transport.buffers_requests``) the sync goes out
        right behind the packet: the same requests in the same order, one wait instead of two.
        Both replies are taken before either is checked, so they stay matched to requests.
        Elsewhere, as in TVM, a failed copy raises before any sync is sent.
        """
        if self.retry is not None or not getattr(getattr(self.session, "transport", None),
                                                 "buffers_requests", False):
            reply = self._send_receive(packet, None, describe)
            if reply != _VOID_RETURN and codec.copy_ack_data(reply) is None:
                self._checked_reply(reply, describe)
            self.stream_sync()
            return reply
        self._send(packet, describe)
        self.session.send(_STREAM_SYNC)
        reply = self._receive(None, describe)
        sync_reply = self._receive(None, _describe_sync)
        if sync_reply != _VOID_RETURN:
            self._checked_reply(reply, describe)  # the copy's own error comes first
            self._syscall_result(sync_reply, _describe_sync, RPCCode.DEV_STREAM_SYNC)
        return reply

    def _send(self, packet: bytes | tuple[bytes, ...], describe: Callable[[], str]) -> None:
        size = len(packet) if type(packet) is bytes else sum(len(p) for p in packet)
        # Only once the size is known; a TVM device hangs on packets over its buffer.
        if self._max_packet is not None and size - 8 > self._max_packet:
            raise ProtocolError(
                f"{describe()[:80]} needs a {size - 8}-byte packet but the device "
                f"takes at most {self._max_packet}: build the board with larger RPC packets "
                "(e.g. UTVM_RPC_MAX_PACKET_SIZE) or send less per call")
        self.session.send(packet)

    def _receive(self, timeout: float | None, describe: Callable[[], str]) -> bytes:
        """The next reply packet, past empty ones (legal, and ignored: doc §4.1)."""
        if timeout is None:
            timeout = self.reply_timeout
        while True:
            reply = self.session.receive(timeout,
                                         lambda: f"the reply to {_shortened(describe())}")
            if reply != _EMPTY_PACKET:
                return reply

    def _checked_reply(self, reply_packet: bytes,
                       describe: Callable[[], str]) -> Return | CopyAck:
        """The Return or CopyAck in ``reply_packet``; an Exception raises RemoteError."""
        reply = codec.decode_reply(reply_packet)
        if type(reply) is Return or type(reply) is CopyAck:
            return reply
        if isinstance(reply, ExceptionReply):
            message = self.messages.expand(reply.message) if self.messages else reply.message
            raise RemoteError(message, _shortened(describe()))
        raise ProtocolError(f"the device answered {_shortened(describe())} with "
                            f"{codec.describe(reply)}")

    def syscall(self, code: int, *args: Any) -> Any:
        """A syscall (code >= 9); returns its single returned value."""
        wire_args = [codec.to_arg(a) for a in args]
        return self._syscall_packet(codec.encode_syscall(code, wire_args),
                                    lambda: codec.describe(Syscall(code, wire_args)), code)

    def _syscall_packet(self, packet: bytes, describe: Callable[[], str], code: int) -> Any:
        return self._syscall_result(self._send_receive(packet, None, describe), describe, code)

    def _syscall_result(self, reply_packet: bytes, describe: Callable[[], str], code: int) -> Any:
        quick = codec.decode_single_return(reply_packet)
        if quick is not None:  # the usual answer, without message objects
            return quick[1]
        reply = self._checked_reply(reply_packet, describe)
        if not isinstance(reply, Return) or len(reply.values) != 1:
            raise ProtocolError(f"syscall {code} returned {codec.describe(reply)}; exactly one "
                                "value expected")
        return reply.values[0].value

    def shutdown(self) -> None:
        """kShutdown: no reply comes; TVM's devices reboot, utvm's server restarts."""
        self.session.send(codec.encode_packet(Shutdown()))

    # -- functions and modules --------------------------------------------------------------
    def get_global(self, name: str) -> RemoteFunc | None:
        """The device's global function ``name``, or None (GetGlobalFunc answered 0)."""
        handle = self.syscall(RPCCode.GET_GLOBAL_FUNC, name)
        return RemoteFunc(self, handle, name) if handle else None

    def get_global_func(self, name: str) -> RemoteFunc:
        func = self.get_global(name)
        if func is None:
            raise FunctionNotFound(
                f"the device has no global function {name!r}: is its firmware built with the "
                "component that registers it (RPC server, executor module)?")
        return func

    def call(self, func: RemoteFunc | int, *args: Any, timeout: float | None = None) -> Any:
        """CallFunc; returns None, a number, str, bytes, RemoteFunc, RemoteModule or
        DeviceArray, as the device's return type code says."""
        if isinstance(func, RemoteFunc):
            handle, name = func.handle, func.name
        else:
            handle, name = int(func), ""
        wire_args = [codec.to_arg(a) for a in args] if args else []

        def label() -> str:
            if name.startswith(_RETURNED_BY):  # it has no name of its own
                described = codec.describe_args(wire_args)
                return f"a call of {name}" + (f" with ({described})" if described else "")
            if name:
                return f"{name}({codec.describe_args(wire_args)})"
            return codec.describe(CallFunc(handle, wire_args))

        packet = self._send_receive(codec.encode_call(handle, wire_args), timeout, label)
        quick = codec.decode_call_return(packet)
        if quick is not None and quick[0] in _PLAIN_RESULTS:  # a number: nothing to wrap
            tcode, _, value = quick
            return bool(value) if tcode == TypeCode.BOOL else value
        reply = self._checked_reply(packet, label)
        if not isinstance(reply, Return):
            raise ProtocolError(f"CallFunc answered with {codec.describe(reply)}")
        return self._call_result(reply.values, name)

    def _call_result(self, values: list[Arg], name: str) -> Any:
        """A CallFunc Return is [i64 callee type code, value] or, for NDArrays,
        [13, DLTensor record, NDArray handle] (doc §4.6.4)."""
        if len(values) not in (2, 3) or values[0].code != TypeCode.INT:
            raise ProtocolError(f"CallFunc reply with {len(values)} values "
                                f"{[a.code for a in values]}; 2 or 3 starting with an int "
                                "type code expected")
        tcode, value = values[0].value, values[1].value
        if len(values) == 3:
            if tcode != TypeCode.NDARRAY or values[1].code != TypeCode.DLTENSOR:
                raise ProtocolError(f"3-value CallFunc reply of type {tcode}: only NDArrays "
                                    "(13) carry a third value")
            return DeviceArray(self, value, handle=values[2].value)
        if tcode == TypeCode.NULL:
            return None
        if tcode == TypeCode.MODULE:
            return RemoteModule(self, value)
        if tcode == TypeCode.PACKED_FUNC:
            return RemoteFunc(self, value, f"{_RETURNED_BY}{name}" if name else "")
        if tcode == TypeCode.BOOL:
            return bool(value)
        if tcode == TypeCode.OPAQUE_HANDLE:
            return Handle(value)
        if tcode == TypeCode.DLTENSOR:
            return DeviceArray(self, value)
        return value

    def free_handle(self, handle: int, type_code: int) -> None:
        """FreeHandle([3 handle, 0 type_code]): 13 NDArray, 10 PackedFunc, 9 Module, 8 Object."""
        self._free(RPCCode.FREE_HANDLE, Handle(handle), int(type_code))

    def _free(self, code: int, *args: Any) -> None:
        try:
            self.syscall(code, *args)
        except RemoteError:
            # Sent again after a lost reply: the first one freed it, the second finds nothing.
            if not self._last_was_resent:
                raise

    def system_lib(self) -> RemoteModule:
        """``runtime.SystemLib()``: the module holding the model's operators."""
        with self.get_global_func("runtime.SystemLib") as factory:  # freed unless the link failed
            lib = factory()
        if not isinstance(lib, RemoteModule):
            raise ProtocolError(f"runtime.SystemLib returned {lib!r}, not a module")
        lib.name = "system library"
        return lib

    def module_function(self, module: RemoteModule | int, name: str,
                        query_imports: bool = True) -> RemoteFunc:
        """``module[name]`` through tvm.rpc.server.ModuleGetFunction (looked up once)."""
        func = self.find_module_function(module, name, query_imports)
        if func is None:
            raise FunctionNotFound(f"the device module has no function {name!r}")
        return func

    def find_module_function(self, module: RemoteModule | int, name: str,
                             query_imports: bool = True) -> RemoteFunc | None:
        if self._module_get_function is None:
            self._module_get_function = self.get_global_func(MODULE_GET_FUNCTION).handle
        ref = module if isinstance(module, RemoteModule) else codec.ModuleHandle(module)
        func = self.call(self._module_get_function, ref, name, bool(query_imports))
        if func is None:
            return None
        if not isinstance(func, RemoteFunc):
            raise ProtocolError(f"ModuleGetFunction({name!r}) returned {func!r}")
        func.name = name
        return func

    # -- device memory ----------------------------------------------------------------------
    def alloc_data(self, nbytes: int, alignment: int = 64,
                   type_hint: DataType | np.dtype | Any = None) -> int:
        """DevAllocData([6 dev, 0 nbytes, 0 alignment, 5 type_hint]); the device address."""
        hint = DataType(2, 32) if type_hint is None else type_hint
        if not isinstance(hint, DataType):
            hint = DataType.from_numpy(hint)
        address = self.syscall(RPCCode.DEV_ALLOC_DATA, CPU, int(nbytes), int(alignment), hint)
        if not address:
            raise RemoteError(f"could not allocate {nbytes} bytes (the device returned NULL)",
                              "DevAllocData")
        return address

    def empty(self, shape: tuple[int, ...] | list[int], dtype: Any,
              alignment: int = 64) -> DeviceArray:
        """A new, uninitialised device tensor; ``free()`` releases it (DevFreeData)."""
        wire = DataType.from_numpy(dtype)
        record = TensorRecord(0, tuple(int(d) for d in shape), wire)
        address = self.alloc_data(record.nbytes, alignment, wire)
        return DeviceArray(self, replace(record, data=address), owns_data=True)

    def free_data(self, tensor: DeviceArray | TensorRecord | int) -> None:
        """DevFreeData([6 dev, 3 address])."""
        address = tensor if isinstance(tensor, int) else _record(tensor).data
        self._free(RPCCode.DEV_FREE_DATA, CPU, Handle(address))

    def stream_sync(self) -> None:
        """DevStreamSync([6 dev, 3 NULL]): TVM sends it after every host<->device copy."""
        self._syscall_packet(_STREAM_SYNC, _describe_sync, RPCCode.DEV_STREAM_SYNC)

    # -- copies -----------------------------------------------------------------------------
    @property
    def max_packet_known(self) -> int | None:
        """The device's packet size if it was asked already (None: not yet, no request)."""
        return self._max_packet

    def max_packet_size(self) -> int:
        """The largest RPC packet (packet_nbytes) the device accepts; asked once."""
        if self._max_packet is None:
            size = NO_LIMIT
            for name in self.max_packet_functions:
                func = self.get_global(name)
                if func is not None:
                    size = func()  # TVM leaves this handle allocated, and so do we
                    if not isinstance(size, int) or size <= 0:
                        raise ProtocolError(f"{name} returned {size!r}, not a positive size")
                    break
            self._max_packet = size
        return self._max_packet

    def _block_size(self, ndim: int) -> int:
        limit, overhead = self.max_packet_size(), copy_overhead(ndim)
        cap = self.copy_packet_limit
        if self.retry is not None and self.retry.copy_packet_limit is not None:
            cap = min(cap or limit, self.retry.copy_packet_limit)
        if cap is not None and cap < limit:
            limit = max(cap, overhead + 1)  # always some data per packet
        if limit <= overhead:
            raise ProtocolError(f"the device's maximum packet ({limit} bytes) cannot carry any "
                                f"data of a {ndim}-dimensional tensor ({overhead} bytes of "
                                "header)")
        return limit - overhead

    def copy_to(self, tensor: DeviceArray | TensorRecord, data: Any, sync: bool = True) -> None:
        """Writes ``data`` (a numpy array matching the tensor, or raw bytes) to the device.

        Chunks of ``max - (44 + 8*ndim)`` bytes, each request carrying the tensor's own record
        with ``byte_offset`` advanced, then one DevStreamSync if ``sync``.
        """
        record = _record(tensor)
        raw = _tensor_bytes(record, data)
        if self.retry is not None:
            self._copy_to_retrying(record, raw, sync)
            return
        block = self._block_size(record.ndim)
        packets = codec.CopyPackets(record)
        for offset in range(0, len(raw), block):
            chunk = raw[offset:offset + block]

            def describe(o: int = offset, n: int = len(chunk)) -> str:
                return f"CopyToRemote(0x{record.data:x}+{record.byte_offset + o}, {n} bytes)"

            packet = packets.copy_to(offset, chunk)
            if sync and offset + block >= len(raw):
                reply, sync = self._send_receive_synced(packet, describe), False
            else:
                reply = self._send_receive(packet, None, describe)
            if reply != _VOID_RETURN:  # what the device answers; anything else is checked
                self._checked_reply(reply, describe)
        if sync:
            self.stream_sync()

    def _copy_to_retrying(self, record: TensorRecord, raw: bytes, sync: bool) -> None:
        """``copy_to`` on a noisy link: one request at a time, each chunk sized when it is
        sent, so packets shrink as soon as the retry policy says so."""
        packets = codec.CopyPackets(record)
        offset = 0
        while offset < len(raw):
            sizes: list[int] = []

            def make(o: int = offset, sizes: list[int] = sizes) -> bytes | tuple[bytes, ...]:
                chunk = raw[o:o + self._block_size(record.ndim)]
                sizes.append(len(chunk))
                return packets.copy_to(o, chunk)

            def describe(o: int = offset, sizes: list[int] = sizes) -> str:
                return (f"CopyToRemote(0x{record.data:x}+{record.byte_offset + o}, "
                        f"{sizes[-1] if sizes else '?'} bytes)")

            reply = self._retrying(make, None, describe)
            if reply != _VOID_RETURN:
                self._checked_reply(reply, describe)
            offset += sizes[-1]
        if sync:
            self.stream_sync()

    def copy_from(self, tensor: DeviceArray | TensorRecord, sync: bool = True) -> np.ndarray:
        """Reads the tensor back into a new numpy array (chunked like ``copy_to``)."""
        record = _record(tensor)
        raw = self._read_into(record, record.nbytes, sync)  # a fresh buffer: the array's own
        return np.frombuffer(raw, dtype=record.dtype.to_numpy()).reshape(record.shape)

    def read_bytes(self, record: TensorRecord, nbytes: int, sync: bool = True) -> bytes:
        return bytes(self._read_into(record, nbytes, sync))

    def _read_into(self, record: TensorRecord, nbytes: int, sync: bool) -> bytearray:
        if self.retry is not None:
            return self._read_into_retrying(record, nbytes, sync)
        block = self._block_size(record.ndim)
        out = bytearray(nbytes)
        packets = codec.CopyPackets(record)
        for offset in range(0, nbytes, block):
            n = min(block, nbytes - offset)

            def describe(o: int = offset, n: int = n) -> str:
                return f"CopyFromRemote(0x{record.data:x}+{record.byte_offset + o}, {n})"

            packet = packets.copy_from(offset, n)
            if sync and offset + n == nbytes:
                reply, sync = self._send_receive_synced(packet, describe), False
            else:
                reply = self._send_receive(packet, None, describe)
            data = codec.copy_ack_data(reply)  # the usual answer, taken without a copy
            if data is None:
                answer = self._checked_reply(reply, describe)
                data = answer.data if isinstance(answer, CopyAck) else None
            if data is None or len(data) != n:
                raise ProtocolError(f"CopyFromRemote of {n} bytes answered with "
                                    f"{codec.describe(codec.decode_reply(reply))}")
            out[offset:offset + n] = data
        if sync:
            self.stream_sync()
        return out


    def _read_into_retrying(self, record: TensorRecord, nbytes: int, sync: bool) -> bytearray:
        """``_read_into`` on a noisy link (see ``_copy_to_retrying``)."""
        out = bytearray(nbytes)
        packets = codec.CopyPackets(record)
        offset = 0
        while offset < nbytes:
            sizes: list[int] = []

            def make(o: int = offset, sizes: list[int] = sizes) -> bytes | tuple[bytes, ...]:
                sizes.append(min(self._block_size(record.ndim), nbytes - o))
                return packets.copy_from(o, sizes[-1])

            def describe(o: int = offset, sizes: list[int] = sizes) -> str:
                return (f"CopyFromRemote(0x{record.data:x}+{record.byte_offset + o}, "
                        f"{sizes[-1] if sizes else '?'})")

            reply = self._retrying(make, None, describe)
            n = sizes[-1]
            data = codec.copy_ack_data(reply)
            if data is None:
                answer = self._checked_reply(reply, describe)
                data = answer.data if isinstance(answer, CopyAck) else None
            if data is None or len(data) != n:
                raise ProtocolError(f"CopyFromRemote of {n} bytes answered with "
                                    f"{codec.describe(codec.decode_reply(reply))}")
            out[offset:offset + n] = data
            offset += n
        if sync:
            self.stream_sync()
        return out

    # Names used by earlier callers.
    global_func = get_global_func
    max_packet = max_packet_size


_STREAM_SYNC = codec.encode_packet(Syscall(RPCCode.DEV_STREAM_SYNC, [codec.to_arg(CPU),
                                                                      codec.to_arg(Handle(0))]))
_VOID_RETURN = codec.encode_packet(Return([codec.Arg(TypeCode.NULL, None)]))
_RETURNED_BY = "the function returned by "
_EMPTY_PACKET = codec.encode_packet(EmptyPacket())


def _describe_sync() -> str:
    return "DEV_STREAM_SYNC(cpu, NULL)"


# Callee type codes whose value _call_result returns as it is (or as a bool).
_PLAIN_RESULTS = frozenset({TypeCode.INT, TypeCode.UINT, TypeCode.FLOAT, TypeCode.BOOL})


def _shortened(text: str) -> str:
    return text if len(text) <= 160 else text[:157] + "..."


def _record(tensor: DeviceArray | TensorRecord) -> TensorRecord:
    return tensor.record if isinstance(tensor, DeviceArray) else tensor


def _tensor_bytes(record: TensorRecord, data: Any) -> bytes:
    """The bytes to upload, after checking they match the tensor."""
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        array = np.asarray(data)
        try:
            expected = record.dtype.to_numpy()
        except ProtocolError:
            expected = array.dtype
        if array.dtype != expected or tuple(array.shape) != record.shape:
            raise ProtocolError(f"the device tensor is {record.dtype}{list(record.shape)}; got "
                                f"{array.dtype}{list(array.shape)}. Convert it first, e.g. "
                                f"array.astype('{expected}').reshape({list(record.shape)})")
        raw = np.ascontiguousarray(array).tobytes()
    if len(raw) != record.nbytes:
        raise ProtocolError(f"{len(raw)} bytes given for a device tensor of {record.nbytes}")
    return raw
