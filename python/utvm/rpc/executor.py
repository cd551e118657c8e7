"""Running a model on a device: the AOT or graph executor module, driven remotely."""

from __future__ import annotations

import struct

import numpy as np

from utvm.errors import UtvmError
from utvm.rpc import codec
from utvm.rpc.client import RpcClient
from utvm.rpc.codec import Module, Tensor


class RemoteExecutor:
    """An executor living on the device: set inputs, run, read outputs, time runs."""

    def __init__(self, client: RpcClient, module: Module) -> None:
        self.client = client
        self.module = module
        self._fns = {}

    @classmethod
    def aot(cls, client: RpcClient, module_name: str = "default") -> RemoteExecutor:
        create = client.global_func("tvm.aot_executor.create")
        lib = client.system_lib()
        return cls(client, client.call(create, lib, codec.device(), module_name))

    @classmethod
    def graph(cls, client: RpcClient, graph_json: str, params: bytes | None = None
              ) -> RemoteExecutor:
        create = client.global_func("tvm.graph_executor.create")
        lib = client.system_lib()
        executor = cls(client, client.call(create, graph_json, lib, 1, 0))
        if params:
            executor._call("load_params", bytes(params))
        return executor

    def _call(self, name: str, *args: object) -> object:
        if name not in self._fns:
            self._fns[name] = self.client.module_function(self.module, name)
        return self.client.call(self._fns[name], *args)

    @property
    def num_inputs(self) -> int:
        return int(self._call("get_num_inputs"))

    @property
    def num_outputs(self) -> int:
        return int(self._call("get_num_outputs"))

    def input_name(self, index: int) -> str:
        return str(self._call("get_input_name", index))

    def set_input(self, key: int | str, value: np.ndarray, progress=None) -> None:
        t = self._call("get_input", key)
        try:
            if tuple(np.shape(value)) != t.shape or np.asarray(value).dtype != t.dtype:
                raise UtvmError(f"input {key!r} must be {t.dtype} {list(t.shape)}, got "
                                f"{np.asarray(value).dtype} {list(np.shape(value))}")
            self.client.copy_to(t, np.asarray(value), progress)
        finally:
            self.client.free(t)

    def run(self, timeout: float | None = None) -> None:
        f = self._fns.get("run") or self.client.module_function(self.module, "run")
        self._fns["run"] = f
        self.client.call(f, timeout=timeout)

    def get_output(self, index: int) -> np.ndarray:
        t = self._call("get_output", index)
        try:
            return self.client.copy_from(t)
        finally:
            self.client.free(t)

    def time_run(self, number: int = 1, repeat: int = 1, min_repeat_ms: int = 0) -> list[float]:
        """Seconds per run() measured on the device with its own timer."""
        evaluator = self.client.global_func("runtime.RPCTimeEvaluator")
        timer = self.client.call(evaluator, self.module, "run", 1, 0, number, repeat,
                                 min_repeat_ms, 0, 0, 0, 0, "")
        raw = self.client.call(timer)
        self.client.free(timer)
        return list(struct.unpack(f"<{len(raw) // 8}d", raw))

    def close(self) -> None:
        self.client.free(self.module)


__all__ = ["RemoteExecutor", "Tensor"]
