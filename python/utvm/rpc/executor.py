"""Executors living on the device (AOT, graph), driven over RPC.

``create_aot_executor`` reproduces TVM 0.18's host call for call (doc §7.1 and the recorded
sessions): GetGlobalFunc(tvm.aot_executor.create), runtime.SystemLib(), create(lib, cpu,
"default"), then the eight function lookups of TVM's ``AotModule``. ``set_input`` copies into
the tensor ``get_input`` returns, ``get_output`` copies out of the one ``get_output`` returns,
each followed by DevStreamSync and FreeHandle of the NDArray, as TVM does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from utvm.rpc.client import RpcClient
from utvm.rpc.codec import CPU
from utvm.rpc.errors import ProtocolError
from utvm.rpc.remote import DeviceArray, RemoteFunc, RemoteModule, link_usable

# TVM's AotModule looks these up when it is created, in this order, and fails if one is missing.
AOT_FUNCTIONS = ("set_input", "run", "get_output", "get_input", "get_num_outputs",
                 "get_input_index", "get_num_inputs", "get_input_name")


class Executor:
    """Common API of the executor modules: inputs in, run, outputs out, device timing."""

    kind = "executor"

    def __init__(self, client: RpcClient, module: RemoteModule,
                 prefetch: tuple[str, ...] = ()) -> None:
        self.client, self.module = client, module
        self._functions: dict[str, RemoteFunc] = {}
        for name in prefetch:
            self._function(name)

    def _function(self, name: str) -> RemoteFunc:
        if name not in self._functions:
            self._functions[name] = self.module.get_function(name)
        return self._functions[name]

    def _call(self, name: str, *args: Any, timeout: float | None = None) -> Any:
        return self._function(name)(*args, timeout=timeout)

    # -- model interface ----------------------------------------------------------------------
    def get_num_inputs(self) -> int:
        return int(self._call("get_num_inputs"))

    def get_num_outputs(self) -> int:
        return int(self._call("get_num_outputs"))

    def get_input_name(self, index: int) -> str:
        return str(self._call("get_input_name", int(index)))

    def get_input_index(self, name: str) -> int:
        return int(self._call("get_input_index", name))

    def get_input(self, key: int | str) -> DeviceArray:
        """The device tensor of an input; the caller frees it (``with`` or ``free()``)."""
        tensor = self._call("get_input", _key(key))
        return _device_array(tensor, f"get_input({key!r})")

    def set_input(self, key: int | str, value: Any) -> None:
        """Copies ``value`` (numpy, of the input's dtype and shape) into input ``key``."""
        with self.get_input(key) as tensor:
            self.client.copy_to(tensor, value)

    def run(self, timeout: float | None = None) -> None:
        """Runs the model once; ``timeout`` overrides the reply timeout for slow models."""
        self._call("run", timeout=timeout)

    def get_output(self, index: int) -> np.ndarray:
        """Output ``index`` copied back into a numpy array."""
        tensor = _device_array(self._call("get_output", int(index)), f"get_output({index})")
        with tensor:
            return self.client.copy_from(tensor)

    def time(self, number: int = 1, repeat: int = 1, min_repeat_ms: int = 0,
             timeout: float | None = None) -> list[float]:
        """Seconds per ``run`` measured by the device's own timer, one value per repeat
        (each the mean of ``number`` runs), via runtime.RPCTimeEvaluator."""
        timer = self.module.time_evaluator("run", number=number, repeat=repeat,
                                           min_repeat_ms=min_repeat_ms)
        try:
            seconds = timer(timeout=timeout)
        except BaseException as e:
            if link_usable(e):  # after a link failure, freeing would only hide it
                timer.free()
            raise
        timer.free()
        return seconds

    def close(self) -> None:
        """Frees the looked-up functions and the executor module on the device."""
        functions, self._functions = list(self._functions.values()), {}
        for func in functions:
            func.free()
        self.module.free()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if link_usable(exc):
            self.close()

    # -- older names, kept for existing callers ------------------------------------------------
    @property
    def num_inputs(self) -> int:
        return self.get_num_inputs()

    @property
    def num_outputs(self) -> int:
        return self.get_num_outputs()

    def input_name(self, index: int) -> str:
        return self.get_input_name(index)

    def time_run(self, number: int = 1, repeat: int = 1, min_repeat_ms: int = 0) -> list[float]:
        return self.time(number, repeat, min_repeat_ms)


class AotExecutor(Executor):
    kind = "aot"

    def __init__(self, client: RpcClient, module: RemoteModule) -> None:
        super().__init__(client, module, prefetch=AOT_FUNCTIONS)


class GraphExecutor(Executor):
    """The graph executor module on the device (tvm.graph_executor.create).

    TVM's Zephyr template does not link it (TVM runs graphs on the host instead); utvm's
    runtime does. The graph JSON and the parameters each travel in one request, so the board
    needs packets large enough for them.
    """

    kind = "graph"

    def load_params(self, params: bytes) -> None:
        self._call("load_params", bytes(params))


def create_aot_executor(client: RpcClient, module_name: str = "default",
                        lib: RemoteModule | None = None) -> AotExecutor:
    module = _create("tvm.aot_executor.create", client, lambda create, lib: create(
        lib, CPU, module_name), lib)
    return AotExecutor(client, module)


def create_graph_executor(client: RpcClient, graph_json: str | bytes,
                          params: bytes | None = None,
                          lib: RemoteModule | None = None) -> GraphExecutor:
    if isinstance(graph_json, bytes):
        graph_json = graph_json.decode("utf-8")
    client.max_packet_size()  # known before the large requests, so oversize fails clearly
    module = _create("tvm.graph_executor.create", client, lambda create, lib: create(
        graph_json, lib, CPU.device_type, CPU.device_id), lib)
    executor = GraphExecutor(client, module)
    if params:
        executor.load_params(params)
    return executor


def _create(factory: str, client: RpcClient,
            call: Callable[[RemoteFunc, RemoteModule], Any],
            given_lib: RemoteModule | None = None) -> RemoteModule:
    """Looks up the factory, then the system library, calls, and frees both in TVM's order:
    the factory function first, then the library module. A ``given_lib`` (a loaded module)
    is used instead of the system library and stays the caller's."""
    create = client.get_global_func(factory)
    if given_lib is not None:
        with create:
            module = call(create, given_lib)
        if not isinstance(module, RemoteModule):
            raise ProtocolError(f"{factory} returned {module!r}, not a module")
        module.name = factory
        return module
    with create:
        lib = client.system_lib()
        try:
            module = call(create, lib)
        except BaseException as e:
            if link_usable(e):
                create.free()
                lib.free()
            raise
        create.free()
        lib.free()
    if not isinstance(module, RemoteModule):
        raise ProtocolError(f"{factory} returned {module!r}, not a module")
    module.name = factory
    return module


def _device_array(value: Any, source: str) -> DeviceArray:
    if not isinstance(value, DeviceArray):
        raise ProtocolError(f"{source} returned {value!r}, not a tensor")
    return value


def _key(key: int | str) -> int | str:
    if isinstance(key, bool) or not isinstance(key, int | str | np.integer):
        raise TypeError(f"an input is named by its index or name, not {key!r}")
    return key if isinstance(key, str) else int(key)


class RemoteExecutor:
    """Factory names used by earlier callers: ``RemoteExecutor.aot(client)`` etc."""

    @staticmethod
    def aot(client: RpcClient, module_name: str = "default") -> AotExecutor:
        return create_aot_executor(client, module_name)

    @staticmethod
    def graph(client: RpcClient, graph_json: str | bytes,
              params: bytes | None = None) -> GraphExecutor:
        return create_graph_executor(client, graph_json, params)
