"""The graph executor on the host, the device only storing tensors and running operators.

This is how TVM 0.18's ``tvm.micro.create_local_graph_executor`` drives a device whose firmware
has no graph executor (TVM's Zephyr template), reproduced call for call (doc §7.2 and the
recorded sessions):

1. ``runtime.SystemLib()``; for every graph entry, ModuleGetFunction(lib,
   "_lookup_linked_param") (the TVM CRT answers None);
2. one DevAllocData per storage id: the largest entry sharing it, rounded up to 4 bytes,
   alignment 64, type hint float32;
3. ModuleGetFunction(lib, func_name) for every operator node, in node order;
4. ``load_params``: one chunked copy per known parameter, no sync; ``set_input``: a copy into
   the input's entry then DevStreamSync; ``run``: one CallFunc per operator with its input and
   output entries as DLTensor records; ``get_output``: a chunked read then DevStreamSync.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from utvm.rpc.client import RpcClient
from utvm.rpc.codec import DataType, TensorRecord
from utvm.rpc.errors import FunctionNotFound, ProtocolError
from utvm.rpc.params_blob import parse_params
from utvm.rpc.remote import RemoteFunc, RemoteModule, link_usable

_DTYPES = {"int": 0, "uint": 1, "float": 2, "bfloat": 4}
POOL_DTYPE = DataType(2, 32)  # TVM allocates every storage pool as float32 words


def parse_dtype(text: str) -> DataType:
    """A graph JSON dtype string ("float32", "int8", "bool", "float16x4") as a DataType."""
    if text == "bool":
        return DataType(1, 1)
    base, _, lanes = text.partition("x")
    for name, code in _DTYPES.items():
        bits = base[len(name):]
        if base.startswith(name) and bits.isdigit():
            return DataType(code, int(bits), int(lanes) if lanes else 1)
    raise ProtocolError(f"graph JSON dtype {text!r} is not supported")


@dataclass(frozen=True)
class _Op:
    name: str
    func_name: str
    entries: tuple[int, ...]  # input entries, then output entries


class GraphPlan:
    """What the graph JSON says: entries (shape, dtype, storage id), inputs, operators, outputs."""

    def __init__(self, graph_json: str) -> None:
        try:
            graph = json.loads(graph_json)
            nodes, attrs = graph["nodes"], graph["attrs"]
            row = graph["node_row_ptr"]
            self.shapes = [tuple(int(d) for d in s) for s in attrs["shape"][1]]
            self.dtypes = [parse_dtype(t) for t in attrs["dltype"][1]]
            self.storage_ids = [int(s) for s in attrs["storage_id"][1]]
            self.input_nodes = [int(n) for n in graph["arg_nodes"]]
            self.outputs = [row[int(h[0])] + int(h[1]) for h in graph["heads"]]
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise ProtocolError(f"the graph JSON is not a TVM graph executor graph ({e!r})") from e
        if not len(self.shapes) == len(self.dtypes) == len(self.storage_ids) == row[-1]:
            raise ProtocolError("graph JSON: shape, dltype and storage_id lists disagree")
        self.node_names = [n["name"] for n in nodes]
        self.input_entries = [row[n] for n in self.input_nodes]
        self.ops: list[_Op] = []
        for nid, node in enumerate(nodes):
            if node["op"] != "tvm_op":
                continue
            params = node.get("attrs", {})
            if str(params.get("flatten_data", "0")) not in ("0", "False"):
                raise ProtocolError(f"operator {node['name']} wants flattened data, which "
                                    "this executor does not do")
            inputs = tuple(row[int(e[0])] + int(e[1]) for e in node["inputs"])
            outputs = tuple(row[nid] + i for i in range(int(params.get("num_outputs", 1))))
            self.ops.append(_Op(node["name"], params["func_name"], inputs + outputs))

    def pool_sizes(self) -> list[int]:
        """Bytes per storage id: its largest entry."""
        sizes = [0] * (max(self.storage_ids, default=-1) + 1)
        for shape, dtype, sid in zip(self.shapes, self.dtypes, self.storage_ids, strict=True):
            sizes[sid] = max(sizes[sid], math.prod(shape) * dtype.itemsize)
        return sizes

    def input_index(self, key: int | str) -> int:
        if isinstance(key, str):
            names = [self.node_names[n] for n in self.input_nodes]
            if key not in names:
                raise KeyError(f"the graph has no input {key!r}; its inputs are {names}")
            return names.index(key)
        if not 0 <= key < len(self.input_nodes):
            raise KeyError(f"the graph has {len(self.input_nodes)} inputs; {key} is not one")
        return key


class LocalGraphExecutor:
    """A graph executor running on this host against device memory and device operators."""

    kind = "graph (host-driven)"

    def __init__(self, client: RpcClient, graph_json: str | bytes) -> None:
        if isinstance(graph_json, bytes):
            graph_json = graph_json.decode("utf-8")
        self.client = client
        self.plan = GraphPlan(graph_json)
        self.lib: RemoteModule = client.system_lib()
        self.pools: list[int] = []
        self.functions: list[RemoteFunc] = []
        for _ in self.plan.shapes:
            if client.find_module_function(self.lib, "_lookup_linked_param") is not None:
                raise ProtocolError("the device offers linked parameters through "
                                    "_lookup_linked_param, which this executor does not use")
        for size in self.plan.pool_sizes():
            self.pools.append(client.alloc_data((size + 3) // 4 * 4, 64, POOL_DTYPE))
        for op in self.plan.ops:
            if op.func_name == "__nop":
                continue
            func = client.find_module_function(self.lib, op.func_name)
            if func is None:
                raise FunctionNotFound(f"the device's system library has no {op.func_name!r} "
                                       "(operator of this graph): is it the model's firmware?")
            self.functions.append(func)
        self._ops = [op for op in self.plan.ops if op.func_name != "__nop"]

    def entry(self, index: int) -> TensorRecord:
        """The DLTensor of graph entry ``index``: a view at the start of its storage pool."""
        plan = self.plan
        return TensorRecord(self.pools[plan.storage_ids[index]], plan.shapes[index],
                            plan.dtypes[index])

    # -- executor interface ---------------------------------------------------------------
    def get_num_inputs(self) -> int:
        return len(self.plan.input_nodes)

    def get_num_outputs(self) -> int:
        return len(self.plan.outputs)

    def get_input_name(self, index: int) -> str:
        return self.plan.node_names[self.plan.input_nodes[self.plan.input_index(index)]]

    def get_input_index(self, name: str) -> int:
        return self.plan.input_index(name)

    def set_input(self, key: int | str, value: Any) -> None:
        record = self.entry(self.plan.input_entries[self.plan.input_index(key)])
        self.client.copy_to(record, value)

    def load_params(self, params: bytes) -> None:
        """Uploads each parameter the graph knows (others are skipped, as TVM does)."""
        names = [self.plan.node_names[n] for n in self.plan.input_nodes]
        for param in parse_params(params):
            if param.name not in names:
                continue
            record = self.entry(self.plan.input_entries[names.index(param.name)])
            if (record.dtype, record.shape) != (param.dtype, param.shape):
                raise ProtocolError(f"parameter {param.name!r} is {param.dtype}"
                                    f"{list(param.shape)}, the graph wants {record.dtype}"
                                    f"{list(record.shape)}")
            self.client.copy_to(record, param.data, sync=False)

    def run(self, timeout: float | None = None) -> None:
        for op, func in zip(self._ops, self.functions, strict=True):
            func(*[self.entry(e) for e in op.entries], timeout=timeout)

    def get_output(self, index: int) -> np.ndarray:
        if not 0 <= index < len(self.plan.outputs):
            raise KeyError(f"the graph has {len(self.plan.outputs)} outputs; {index} is not one")
        return self.client.copy_from(self.entry(self.plan.outputs[index]))

    def close(self) -> None:
        """Frees the storage pools, the operator functions and the library handle."""
        pools, self.pools = self.pools, []
        for address in pools:
            self.client.free_data(address)
        functions, self.functions = self.functions, []
        for func in functions:
            func.free()
        self.lib.free()

    def __enter__(self) -> LocalGraphExecutor:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if link_usable(exc):
            self.close()


def create_local_graph_executor(client: RpcClient, graph_json: str | bytes,
                                params: bytes | None = None) -> LocalGraphExecutor:
    executor = LocalGraphExecutor(client, graph_json)
    if params:
        executor.load_params(params)
    return executor
