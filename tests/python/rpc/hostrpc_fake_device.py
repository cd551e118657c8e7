"""An in-process stand-in for a device running the RPC server, for host client tests.

It uses the package's own framing, session state machine (responder side) and codec, and a
small Python "runtime": global functions, device memory, an AOT-style executor whose model
adds one to its float32[1, 4] input, a time evaluator. ``LoopbackTransport`` connects a host
session to it synchronously: what the host writes is processed at once and the answer queued
for reading. No threads, no sleeping except where a test asks for silence.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from utvm.rpc import codec
from utvm.rpc.codec import (
    Arg,
    CallFunc,
    CopyAck,
    CopyFromRemote,
    CopyToRemote,
    DataType,
    ExceptionReply,
    Return,
    RPCCode,
    Shutdown,
    Syscall,
    TensorRecord,
    TypeCode,
)
from utvm.rpc.framing import Framer, Unframer
from utvm.rpc.session import (
    Delivered,
    MessageType,
    SessionMessage,
    SessionStateMachine,
)
from utvm.transport.base import Transport, TransportClosed

MODULE_BASE, GLOBAL_BASE = 0x8000, 0x80028000
INPUT_SHAPE, OUTPUT_SHAPE = (1, 4), (1, 4)
F32 = DataType(2, 32)


class DeviceFailure(Exception):
    """A device function failed; becomes an Exception reply with this message."""


class FakeDevice:
    """The device end: feed it host bytes, collect the bytes it answers with."""

    def __init__(self, max_packet: int = 2037, seed: int = 0x3C, boot_log: str = "fake up",
                 ignore_inits: int = 0) -> None:
        self.max_packet = max_packet
        self.ignore_inits = ignore_inits  # StartSessionInits to ignore before answering
        self.outbox = bytearray()
        self.requests: list[Any] = []  # every decoded RPC request, in order
        self.hang = False  # when set, requests get no reply (a wedged device)
        self._seed = seed
        self._boot_log = boot_log
        self.boot()

    # -- boot, reset -------------------------------------------------------------------------
    def boot(self) -> None:
        """Power-on: fresh state, TerminateSession (FE-prefixed), a log line."""
        self.framer = Framer()
        self.unframer = Unframer()
        self.machine = SessionStateMachine(self._send_message)
        self.memory: dict[int, bytearray] = {}
        self.next_address = 0x20001000
        self.handles: dict[int, Any] = {}
        self.free_handles: list[tuple[int, int]] = []
        self.machine.initialize(self._seed)
        if self._boot_log:
            self.log(self._boot_log)
        self._install_runtime()

    def log(self, text: str) -> None:
        self._send_message(SessionMessage(0, MessageType.LOG, text.encode()))

    def start_own_session(self) -> None:
        """As if the device (re)booted and then initiated a session itself."""
        self.machine.start_session()

    # -- byte interface ----------------------------------------------------------------------
    def receive(self, data: bytes) -> None:
        for payload in self.unframer.feed(data):
            if payload[2:3] == b"\x00" and self.ignore_inits > 0:
                self.ignore_inits -= 1
                continue
            event = self.machine.handle(payload)
            if isinstance(event, Delivered) and event.message_type == MessageType.NORMAL:
                self._serve(event.body)

    def take_output(self) -> bytes:
        out = bytes(self.outbox)
        self.outbox.clear()
        return out

    def _send_message(self, message: SessionMessage) -> None:
        self.outbox += self.framer.frame(message.encode())

    def reply(self, msg: Any) -> None:
        packet = codec.encode_packet(msg)
        self._send_message(SessionMessage(self.machine.session_id, MessageType.NORMAL, packet))

    # -- RPC server ----------------------------------------------------------------------------
    def _serve(self, packet: bytes) -> None:
        request = codec.decode_packet(packet)
        self.requests.append(request)
        if self.hang or isinstance(request, Shutdown):
            return
        if codec.encode_packet(request) != packet:
            raise AssertionError("host packet does not re-encode identically")
        if len(packet) - 8 > self.max_packet:
            raise AssertionError(f"host sent {len(packet) - 8} bytes, over {self.max_packet}")
        try:
            self.reply(self._dispatch(request))
        except DeviceFailure as e:
            self.reply(ExceptionReply([Arg(TypeCode.STR, str(e))]))

    def _dispatch(self, request: Any) -> Any:
        if isinstance(request, CallFunc):
            func = self.handles.get(request.handle)
            if not callable(func):
                raise DeviceFailure(f"unregistered function: 0x{request.handle:x}")
            return Return(_call_return(func(*request.args)))
        if isinstance(request, CopyToRemote):
            self._memory_view(request.tensor, len(request.data))[:] = request.data
            return Return([Arg(TypeCode.NULL, None)])
        if isinstance(request, CopyFromRemote):
            return CopyAck(bytes(self._memory_view(request.tensor, request.nbytes)))
        if isinstance(request, Syscall):
            return Return([self._syscall(request.code, request.args)])
        raise DeviceFailure(f"unsupported request {request!r}")

    def _syscall(self, code: int, args: list[Arg]) -> Arg:
        values = [a.value for a in args]
        if code == RPCCode.GET_GLOBAL_FUNC:
            return Arg(TypeCode.OPAQUE_HANDLE, self.globals_by_name.get(values[0], 0))
        if code == RPCCode.FREE_HANDLE:
            self.free_handles.append((values[0], values[1]))
            return Arg(TypeCode.NULL, None)
        if code == RPCCode.DEV_ALLOC_DATA:
            return Arg(TypeCode.OPAQUE_HANDLE, self.alloc(values[1]))
        if code == RPCCode.DEV_FREE_DATA:
            if self.memory.pop(values[1], None) is None:
                raise DeviceFailure(f"free of unknown address 0x{values[1]:x}")
            return Arg(TypeCode.NULL, None)
        if code == RPCCode.DEV_STREAM_SYNC:
            return Arg(TypeCode.NULL, None)
        raise DeviceFailure("Syscall not recognized")

    def alloc(self, nbytes: int) -> int:
        address = self.next_address
        self.memory[address] = bytearray(nbytes)
        self.next_address += (nbytes + 63) // 64 * 64 + 64
        return address

    def _memory_view(self, tensor: TensorRecord, nbytes: int) -> memoryview:
        block = self.memory.get(tensor.data)
        if block is None or tensor.byte_offset + nbytes > len(block):
            raise DeviceFailure(f"bad copy at 0x{tensor.data:x}+{tensor.byte_offset}")
        return memoryview(block)[tensor.byte_offset:tensor.byte_offset + nbytes]

    # -- the runtime: globals, a system library, an "add one" AOT executor -------------------
    def _install_runtime(self) -> None:
        self.globals_by_name: dict[str, int] = {}
        self.timed_runs = 0
        names: dict[str, Callable[..., Any]] = {
            "runtime.SystemLib": lambda *a: ("module", MODULE_BASE),
            "tvm.rpc.server.ModuleGetFunction": self._module_get_function,
            "runtime.RPCTimeEvaluator": self._time_evaluator,
            "tvm.rpc.server.GetCRTMaxPacketSize": lambda *a: min(self.max_packet, 2037),
            "utvm.rpc.GetMaxPacketSize": lambda *a: self.max_packet,
            "tvm.aot_executor.create": self._aot_create,
            "test.echo": lambda *a: a[0] if a else None,
            "test.fail": self._fail,
            "test.sum": lambda *a: sum(x.value for x in a),
        }
        for index, (name, func) in enumerate(names.items()):
            self.globals_by_name[name] = GLOBAL_BASE + index
            self.handles[GLOBAL_BASE + index] = func
        self.input_address = self.alloc(16)
        self.output_address = self.alloc(16)
        self.module_functions = {
            "get_input": self._get_input, "get_output": self._get_output,
            "run": self._run, "get_num_inputs": lambda *a: 1, "get_num_outputs": lambda *a: 1,
            "get_input_name": lambda *a: ("str", "input"),
            "get_input_index": lambda *a: 0, "set_input": self._fail,
        }

    def _fail(self, *args: Arg) -> Any:
        raise DeviceFailure("test.fail was called" if not args else str(args[0].value))

    def _module_get_function(self, module: Arg, name: Arg, query: Arg) -> Any:
        if module.code != TypeCode.MODULE or query.code != TypeCode.BOOL:
            raise DeviceFailure("ModuleGetFunction: bad argument types")
        funcs = sorted(self.module_functions)
        if name.value not in self.module_functions:
            return None
        handle = ((module.value | 0x8000) << 16) | (funcs.index(name.value) | 0x8000)
        self.handles[handle] = self.module_functions[name.value]
        return ("func", handle)

    def _aot_create(self, lib: Arg, device: Arg, name: Arg) -> Any:
        if lib.value != MODULE_BASE or name.value != "default":
            raise DeviceFailure("aot_executor.create: bad arguments")
        return ("module", MODULE_BASE + 1)

    def _tensor(self, address: int, shape: tuple[int, ...]) -> Any:
        return ("ndarray", TensorRecord(address, shape, F32), address + 0x100)

    def _get_input(self, key: Arg) -> Any:
        if key.value not in (0, "input"):
            raise DeviceFailure(f"no input {key.value!r}")
        return self._tensor(self.input_address, INPUT_SHAPE)

    def _get_output(self, index: Arg) -> Any:
        if index.value != 0:
            raise DeviceFailure(f"no output {index.value}")
        return self._tensor(self.output_address, OUTPUT_SHAPE)

    def _run(self, *args: Arg) -> None:
        data = np.frombuffer(bytes(self.memory[self.input_address]), dtype=np.float32)
        self.memory[self.output_address][:] = (data + 1).astype(np.float32).tobytes()

    def _time_evaluator(self, *args: Arg) -> Any:
        if [a.code for a in args] != [9, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]:
            raise DeviceFailure("RPCTimeEvaluator: wrong argument types")
        number, repeat = args[4].value, args[5].value
        func = self.module_functions[args[1].value]

        def timer(*_: Arg) -> Any:
            for _ in range(number * repeat):
                func()
                self.timed_runs += 1
            return ("bytes", struct.pack(f"<{repeat}d", *[0.001 * (i + 1) for i in range(repeat)]))

        self.handles[0xFFFF8001] = timer
        return ("func", 0xFFFF8001)


def _call_return(result: Any) -> list[Arg]:
    """A CallFunc Return: [callee type code, value(s)] (doc §4.6.4)."""
    if result is None:
        return [Arg(TypeCode.INT, TypeCode.NULL), Arg(TypeCode.NULL, None)]
    if isinstance(result, Arg):
        return [Arg(TypeCode.INT, result.code), result]
    if isinstance(result, tuple):
        kind = result[0]
        if kind == "module":
            return [Arg(TypeCode.INT, TypeCode.MODULE), Arg(TypeCode.OPAQUE_HANDLE, result[1])]
        if kind == "func":
            return [Arg(TypeCode.INT, TypeCode.PACKED_FUNC),
                    Arg(TypeCode.OPAQUE_HANDLE, result[1])]
        if kind == "ndarray":
            return [Arg(TypeCode.INT, TypeCode.NDARRAY), Arg(TypeCode.DLTENSOR, result[1]),
                    Arg(TypeCode.OPAQUE_HANDLE, result[2])]
        if kind == "str":
            return [Arg(TypeCode.INT, TypeCode.STR), Arg(TypeCode.STR, result[1])]
        if kind == "bytes":
            return [Arg(TypeCode.INT, TypeCode.BYTES), Arg(TypeCode.BYTES, result[1])]
    if isinstance(result, bool):
        return [Arg(TypeCode.INT, TypeCode.BOOL), Arg(TypeCode.BOOL, int(result))]
    if isinstance(result, int):
        return [Arg(TypeCode.INT, TypeCode.INT), Arg(TypeCode.INT, result)]
    if isinstance(result, float):
        return [Arg(TypeCode.INT, TypeCode.FLOAT), Arg(TypeCode.FLOAT, result)]
    raise AssertionError(f"fake device cannot return {result!r}")


class LoopbackTransport(Transport):
    """Host end wired straight to a FakeDevice. Silence honours the timeout (it sleeps)."""

    def __init__(self, device: FakeDevice, name: str = "fake-board") -> None:
        self.device = device
        self.name = name
        self.hint = "is the fake device answering?"
        self.written = bytearray()
        self.inbox = bytearray()

    def _open(self) -> None:
        self.inbox += self.device.take_output()  # what it sent since boot

    def _close(self) -> None:
        pass

    def _read(self, n: int, timeout: float | None) -> bytes:
        self.inbox += self.device.take_output()
        if not self.inbox:
            if timeout is None:
                raise TransportClosed("the fake device will never answer (read without timeout)")
            time.sleep(timeout)
            raise self.timeout_error("read", timeout)
        out = bytes(self.inbox[:n])
        del self.inbox[:n]
        return out

    def _write(self, data: bytes, timeout: float | None) -> None:
        self.written += data
        self.device.receive(data)
