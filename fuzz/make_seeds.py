"""Writes seed inputs for rpc_server_fuzzer: request sequences that reach every request kind.

    python3 fuzz/make_seeds.py <corpus dir>

Each seed is a list of chunks `u8 op | u16 length | bytes` (see rpc_server_fuzzer.c); op 1
sends an RPC packet (code + body) in the session, with A1 x 8 / A2 x 8 standing for the last
handle / tensor data pointer the server returned. Handles of global functions follow the
server's registration order (module index UTVM_MAX_MODULES = 4 by default).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

LAST_HANDLE = b"\xa1" * 8
LAST_DATA = b"\xa2" * 8
GLOBAL = {name: 0x80048000 + i for i, name in enumerate([
    "runtime.SystemLib", "tvm.rpc.server.ModuleGetFunction", "runtime.RPCTimeEvaluator",
    "tvm.rpc.server.GetCRTMaxPacketSize", "tvm.contrib.random.random_fill",
    "tvm.aot_executor.create", "tvm.graph_executor.create", "utvm.rpc.GetMaxPacketSize",
    "fuzz.add_one", "fuzz.echo"])}
SYSTEM_LIB = 0x8000
TOUCH, MODEL_RUN = 0x80008000, 0x80008001  # the fuzzer's system library (generated-code-like)
ADD_ONE, ECHO = GLOBAL["fuzz.add_one"], GLOBAL["fuzz.echo"]

INT, FLOAT, HANDLE, NULL, DTYPE, DEVICE, TENSOR = 0, 2, 3, 4, 5, 6, 7
MODULE, FUNC, STR, BYTES, BOOL = 9, 10, 11, 12, 15


def chunk(op: int, data: bytes) -> bytes:
    return struct.pack("<BH", op, len(data)) + data


def rpc(code: int, body: bytes) -> bytes:
    return chunk(1, struct.pack("<i", code) + body)


def value(code: int, v: object) -> bytes:
    if code in (INT, BOOL, HANDLE, MODULE, FUNC):
        return v if isinstance(v, bytes) else struct.pack("<q", v)
    if code == FLOAT:
        return struct.pack("<d", v)
    if code in (STR, BYTES):
        return struct.pack("<Q", len(v)) + v
    if code in (DEVICE, DTYPE, TENSOR):
        return v
    return b""


def args(*items: tuple[int, object]) -> bytes:
    return (struct.pack("<i", len(items)) + b"".join(struct.pack("<i", c) for c, _ in items)
            + b"".join(value(c, v) for c, v in items))


U8, F32 = b"\x01\x08\x01\x00", b"\x02\x20\x01\x00"
CPU = struct.pack("<ii", 1, 0)
MGF = GLOBAL["tvm.rpc.server.ModuleGetFunction"]


def tensor(data: bytes, shape: list[int], dtype: bytes = U8, offset: int = 0) -> bytes:
    return (data + struct.pack("<iii", 1, 0, len(shape)) + dtype
            + b"".join(struct.pack("<q", d) for d in shape) + struct.pack("<Q", offset))


def call(func: int | bytes, *items: tuple[int, object]) -> bytes:
    handle = func if isinstance(func, bytes) else struct.pack("<Q", func)
    return rpc(3, handle + args(*items))


def module_function(module: int | bytes, name: bytes) -> bytes:
    """ModuleGetFunction; its handle becomes LAST_HANDLE."""
    return call(MGF, (MODULE, module), (STR, name), (BOOL, 1))


GRAPH_JSON = (
    b'{"nodes": [{"op": "null", "name": "x", "inputs": []}, {"op": "tvm_op", "name": "t", '
    b'"inputs": [[0, 0, 0]], "attrs": {"func_name": "touch", "num_inputs": "1", '
    b'"num_outputs": "1", "flatten_data": "0"}}], "arg_nodes": [0], "heads": [[1, 0, 0]], '
    b'"attrs": {"dltype": ["list_str", ["float32", "float32"]], "storage_id": ["list_int", '
    b'[0, 1]], "shape": ["list_shape", [[1, 4], [1, 4]]]}, "node_row_ptr": [0, 1, 2]}')


def graph_with(func: bytes, shape: bytes) -> bytes:
    """GRAPH_JSON calling `func` with every shape replaced by `shape`."""
    return GRAPH_JSON.replace(b'"touch"', b'"' + func + b'"').replace(b"[1, 4]", shape)


def seeds() -> dict[str, bytes]:
    system_lib = call(GLOBAL["runtime.SystemLib"])
    alloc = rpc(13, args((DEVICE, CPU), (INT, 64), (INT, 16), (DTYPE, U8 + bytes(4))))
    scoped_alloc = rpc(17, args((TENSOR, tensor(bytes(8), [4, 4], F32)), (NULL, None)))
    echo_items = [(INT, -3), (FLOAT, 1.5), (STR, b"text"), (HANDLE, 7), (NULL, None),
                  (DEVICE, CPU), (DTYPE, F32 + bytes(4)), (MODULE, SYSTEM_LIB), (FUNC, ADD_ONE),
                  (BOOL, 1)]
    evaluator_args = [(INT, 1), (INT, 0), (INT, 2), (INT, 3), (INT, 5), (INT, 100), (INT, 0),
                      (INT, 1), (INT, 0)]
    return {
        "globals": b"".join(rpc(9, args((STR, name.encode()))) for name in GLOBAL),
        "call_add_one": call(ADD_ONE, (INT, 41)) + system_lib
        + module_function(SYSTEM_LIB, b"touch") + call(LAST_HANDLE, (INT, 1)),
        "echo_kinds": system_lib + b"".join(call(ECHO, item) for item in echo_items),
        "memory": system_lib + alloc
        + rpc(7, tensor(LAST_HANDLE, [64]) + struct.pack("<Q", 8) + b"abcdefgh")
        + rpc(6, tensor(LAST_HANDLE, [64], offset=8) + struct.pack("<Q", 16))
        + call(TOUCH, (TENSOR, tensor(LAST_HANDLE, [64])))
        + call(GLOBAL["tvm.contrib.random.random_fill"], (TENSOR, tensor(LAST_HANDLE, [8, 8])))
        + rpc(16, args((TENSOR, tensor(LAST_HANDLE, [32])),
                       (TENSOR, tensor(LAST_HANDLE, [32], offset=32)), (HANDLE, 0)))
        + rpc(15, args((DEVICE, CPU), (HANDLE, 0)))
        + rpc(14, args((DEVICE, CPU), (HANDLE, LAST_HANDLE))),
        "scoped_alloc": scoped_alloc
        + rpc(7, tensor(LAST_HANDLE, [16], F32) + struct.pack("<Q", 64) + bytes(range(64)))
        + rpc(10, args((HANDLE, LAST_HANDLE), (INT, 13))),
        "time_evaluator": system_lib + alloc
        + call(GLOBAL["runtime.RPCTimeEvaluator"], (MODULE, SYSTEM_LIB), (STR, b"touch"),
               *evaluator_args, (STR, b""))
        + call(LAST_HANDLE, (TENSOR, tensor(LAST_DATA, [8])))
        + rpc(10, args((HANDLE, LAST_HANDLE), (INT, FUNC))),
        "graph_executor": system_lib
        + call(GLOBAL["tvm.graph_executor.create"], (STR, GRAPH_JSON), (MODULE, SYSTEM_LIB),
               (INT, 1), (INT, 0))
        + module_function(LAST_HANDLE, b"get_input") + call(LAST_HANDLE, (STR, b"x"))
        + module_function(0x8001, b"run") + call(LAST_HANDLE)
        + module_function(0x8001, b"get_output") + call(LAST_HANDLE, (INT, 0)),
        "aot_executor": system_lib
        + call(GLOBAL["tvm.aot_executor.create"], (MODULE, SYSTEM_LIB), (DEVICE, CPU),
               (STR, b"default"))
        + module_function(0x8001, b"get_input") + call(LAST_HANDLE, (INT, 0))
        + rpc(7, tensor(LAST_DATA, [1, 4], F32) + struct.pack("<Q", 16) + bytes(16))
        + rpc(10, args((HANDLE, LAST_HANDLE), (INT, 13)))
        + module_function(0x8001, b"run") + call(LAST_HANDLE)
        + module_function(0x8001, b"get_output") + call(LAST_HANDLE, (INT, 0))
        + rpc(6, tensor(LAST_DATA, [1, 4], F32) + struct.pack("<Q", 16)),
        # Calls into generated code: only what matches touch's signature (2 x float32 [1, 4])
        # gets through; model_run (an AOT function, no signature) is never called directly.
        "signatures": system_lib + alloc
        + call(TOUCH, (TENSOR, tensor(LAST_HANDLE, [1, 4], F32)),
               (TENSOR, tensor(LAST_HANDLE, [1, 4], F32, offset=16)))
        + call(TOUCH) + call(TOUCH, (TENSOR, tensor(LAST_HANDLE, [1, 4], F32)))
        + call(TOUCH, (TENSOR, tensor(LAST_HANDLE, [1, 2], F32)),
               (TENSOR, tensor(LAST_HANDLE, [1, 4], F32)))
        + call(TOUCH, (TENSOR, tensor(LAST_HANDLE, [16])), (TENSOR, tensor(LAST_HANDLE, [16])))
        + call(MODEL_RUN, (TENSOR, tensor(LAST_HANDLE, [1, 4], F32)),
               (TENSOR, tensor(LAST_HANDLE, [1, 4], F32, offset=16)))
        + call(GLOBAL["runtime.RPCTimeEvaluator"], (MODULE, SYSTEM_LIB), (STR, b"touch"),
               *evaluator_args, (STR, b""))
        + call(LAST_HANDLE, (TENSOR, tensor(LAST_DATA, [1, 2], F32)),
               (TENSOR, tensor(LAST_DATA, [1, 4], F32))),
        "graph_signatures": system_lib
        + call(GLOBAL["tvm.graph_executor.create"], (STR, graph_with(b"touch", b"[1, 2]")),
               (MODULE, SYSTEM_LIB), (INT, 1), (INT, 0))
        + call(GLOBAL["tvm.graph_executor.create"],
               (STR, graph_with(b"tvmgen_default_run", b"[1, 4]")), (MODULE, SYSTEM_LIB),
               (INT, 1), (INT, 0))
        + call(GLOBAL["tvm.graph_executor.create"], (STR, graph_with(b"touch", b"[2, 2]")),
               (MODULE, SYSTEM_LIB), (INT, 1), (INT, 0))
        + module_function(0x8001, b"run") + call(LAST_HANDLE),
        "packet_sizes": call(GLOBAL["tvm.rpc.server.GetCRTMaxPacketSize"])
        + call(GLOBAL["utvm.rpc.GetMaxPacketSize"]) + rpc(2, value(STR, b"0.8.0") + args()),
        "framing": chunk(0, b"\x00\xff\xff\xfd\x02\x00\x00\x00\xff\xfe\x10\xff\x00")
        + chunk(2, b"\x00\x00\x02") + chunk(2, b"\x22\x00\x00\x01") + chunk(3, b"\x04\x00"),
        "shutdown": rpc(1, b"") + rpc(9, args((STR, b"runtime.SystemLib"))),
    }


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    corpus = Path(sys.argv[1])
    corpus.mkdir(parents=True, exist_ok=True)
    for name, data in seeds().items():
        (corpus / f"seed_{name}").write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
