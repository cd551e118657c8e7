"""Host-side stand-ins for things that live on the device: functions, modules, tensors.

Each knows how to travel as an argument (``__rpc_arg__``) and frees its device object only when
asked (``free()`` or a ``with`` block): freeing sends a request, which must not happen at an
arbitrary moment of garbage collection.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from typing import Any, Protocol

import numpy as np

from utvm.rpc.codec import Arg, DataType, TensorRecord, TypeCode
from utvm.rpc.errors import ProtocolError, SessionError
from utvm.transport.base import TransportClosed, TransportTimeout


class ClientCalls(Protocol):
    """What the stand-ins ask of the client that made them (``utvm.rpc.client.RpcClient``).

    Declared here so this module needs nothing from the client: the client builds these
    objects from replies, so it sits above them."""

    def call(self, func: RemoteFunc | int, *args: Any, timeout: float | None = None) -> Any: ...

    def free_handle(self, handle: int, type_code: int) -> None: ...

    def free_data(self, tensor: DeviceArray | TensorRecord | int) -> None: ...

    def get_global_func(self, name: str) -> RemoteFunc: ...

    def module_function(self, module: RemoteModule | int, name: str,
                        query_imports: bool = True) -> RemoteFunc: ...

    def copy_to(self, tensor: DeviceArray | TensorRecord, data: Any, sync: bool = True) -> None: ...

    def copy_from(self, tensor: DeviceArray | TensorRecord, sync: bool = True) -> np.ndarray: ...


def link_usable(error: BaseException | None) -> bool:
    """False after errors of the link itself: then a cleanup request would only fail again
    and hide the original error (and the device may have lost its objects anyway)."""
    return not isinstance(error, SessionError | TransportTimeout | TransportClosed)


class RemoteFunc:
    """A PackedFunc on the device; call it like a Python function."""

    def __init__(self, client: ClientCalls, handle: int, name: str = "") -> None:
        self.client, self.handle, self.name = client, handle, name
        self.freed = False

    def __call__(self, *args: Any, timeout: float | None = None) -> Any:
        return self.client.call(self, *args, timeout=timeout)

    def __rpc_arg__(self) -> Arg:
        return Arg(TypeCode.PACKED_FUNC, self.handle)

    def free(self) -> None:
        """FreeHandle(handle, 10); does nothing the second time."""
        if not self.freed:
            self.freed = True
            self.client.free_handle(self.handle, TypeCode.PACKED_FUNC)

    def __enter__(self) -> RemoteFunc:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if link_usable(exc):
            self.free()

    def __repr__(self) -> str:
        return f"<RemoteFunc {self.name or '?'} 0x{self.handle:x}>"


class RemoteModule:
    """A Module on the device (the system library, an executor)."""

    def __init__(self, client: ClientCalls, handle: int, name: str = "") -> None:
        self.client, self.handle, self.name = client, handle, name
        self.freed = False

    def get_function(self, name: str, query_imports: bool = True) -> RemoteFunc:
        """The module's function ``name``; ``FunctionNotFound`` if it has none."""
        return self.client.module_function(self, name, query_imports)

    def __getitem__(self, name: str) -> RemoteFunc:
        return self.get_function(name)

    def time_evaluator(self, func_name: str, number: int = 10, repeat: int = 1,
                       min_repeat_ms: int = 0, limit_zero_time_iterations: int = 100,
                       cooldown_interval_ms: int = 0, repeats_to_cooldown: int = 1,
                       cache_flush_bytes: int = 0, f_preproc: str = "") -> TimeEvaluator:
        """A device-side timer of ``func_name`` (runtime.RPCTimeEvaluator; TVM's defaults)."""
        # Freed unless the link failed (a free would then fail too, and hide why).
        with self.client.get_global_func("runtime.RPCTimeEvaluator") as create:
            timer = create(self, func_name, 1, 0, number, repeat, min_repeat_ms,
                           limit_zero_time_iterations, cooldown_interval_ms,
                           repeats_to_cooldown, cache_flush_bytes, f_preproc)
        timer.name = f"time_evaluator({func_name!r})"
        return TimeEvaluator(timer, repeat)

    def __rpc_arg__(self) -> Arg:
        return Arg(TypeCode.MODULE, self.handle)

    def free(self) -> None:
        """FreeHandle(handle, 9); does nothing the second time."""
        if not self.freed:
            self.freed = True
            self.client.free_handle(self.handle, TypeCode.MODULE)

    def __enter__(self) -> RemoteModule:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if link_usable(exc):
            self.free()

    def __repr__(self) -> str:
        return f"<RemoteModule {self.name or '?'} 0x{self.handle:x}>"


class TimeEvaluator:
    """Calls the timed function on the device; returns seconds per call, one per repeat."""

    def __init__(self, func: RemoteFunc, repeat: int) -> None:
        self.func, self.repeat = func, repeat

    def __call__(self, *args: Any, timeout: float | None = None) -> list[float]:
        raw = self.func(*args, timeout=timeout)
        if not isinstance(raw, bytes) or len(raw) % 8:
            raise ProtocolError(f"the time evaluator returned {type(raw).__name__} "
                                f"{raw!r:.60}, not a list of doubles")
        return list(struct.unpack(f"<{len(raw) // 8}d", raw))

    def free(self) -> None:
        self.func.free()


class DeviceArray:
    """A tensor in device memory: where it is (the DLTensor record) and who frees it.

    ``handle`` is set for NDArrays the device returned (freed with FreeHandle(h, 13));
    ``owns_data`` for memory this host allocated (freed with DevFreeData).
    """

    def __init__(self, client: ClientCalls, record: TensorRecord, handle: int | None = None,
                 owns_data: bool = False) -> None:
        self.client, self.record, self.handle, self.owns_data = client, record, handle, owns_data
        self.freed = False

    @property
    def data(self) -> int:
        return self.record.data

    @property
    def shape(self) -> tuple[int, ...]:
        return self.record.shape

    @property
    def dtype(self) -> np.dtype:
        return self.record.dtype.to_numpy()

    @property
    def wire_dtype(self) -> DataType:
        return self.record.dtype

    @property
    def nbytes(self) -> int:
        return self.record.nbytes

    def view(self, shape: tuple[int, ...], dtype: Any = None, byte_offset: int = 0) -> DeviceArray:
        """Another shape/dtype over the same memory; the view frees nothing."""
        wire = self.record.dtype if dtype is None else DataType.from_numpy(dtype)
        record = replace(self.record, shape=tuple(shape), dtype=wire, byte_offset=byte_offset)
        return DeviceArray(self.client, record)

    def numpy(self, sync: bool = True) -> np.ndarray:
        return self.client.copy_from(self, sync=sync)

    def copyfrom(self, array: Any, sync: bool = True) -> DeviceArray:
        self.client.copy_to(self, array, sync=sync)
        return self

    def __rpc_arg__(self) -> Arg:
        return Arg(TypeCode.DLTENSOR, self.record)

    def free(self) -> None:
        """Releases what this host holds: the NDArray handle and/or allocated memory."""
        if self.freed:
            return
        self.freed = True
        if self.handle is not None:
            self.client.free_handle(self.handle, TypeCode.NDARRAY)
        if self.owns_data:
            self.client.free_data(self)

    def __enter__(self) -> DeviceArray:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if link_usable(exc):
            self.free()

    def __repr__(self) -> str:
        return (f"<DeviceArray {self.record.dtype}{list(self.shape)} at 0x{self.data:x}"
                f"{f'+{self.record.byte_offset}' if self.record.byte_offset else ''}>")
