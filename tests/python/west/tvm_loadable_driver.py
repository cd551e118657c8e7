"""Run by TVM 0.18's own Python (test_loadable_tvm_host.py): TVM's host, not utvm's, drives a
loadable firmware over the board's RPC UART (a PTY), with the calls AutoTVM's runner makes:
``remote.upload(bytearray, name)``, ``remote.load_module(name)``, executors on that module,
``mod.time_evaluator(...)``. Prints one JSON line with what it saw.

    TVM_PY tvm_loadable_driver.py PTY IMAGE KIND MLF_DIR INPUT OUT_NPY
KIND is ``aot`` (executor created on the board, on the loaded module) or ``graph`` (TVM's
host graph executor calling the loaded module's operators). Standard library, numpy and TVM
only: this runs in TVM's environment, not utvm's.
"""

from __future__ import annotations

import json
import os
import select
import sys
import termios
import time
import tty
from pathlib import Path

import numpy as np
import tvm
import tvm.micro
from tvm.micro.transport import IoTimeoutError, Transport, TransportTimeouts
from tvm.runtime.executor.aot_executor import AotModule


class PtyTransport(Transport):
    """The board's RPC UART as TVM's transport."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = -1

    def timeouts(self) -> TransportTimeouts:
        return TransportTimeouts(session_start_retry_timeout_sec=2.0,
                                 session_start_timeout_sec=60.0,
                                 session_established_timeout_sec=300.0)

    def open(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        termios.tcflush(self.fd, termios.TCIOFLUSH)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def read(self, n: int, timeout_sec: float | None) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], timeout_sec)
        if not ready:
            raise IoTimeoutError()
        data = os.read(self.fd, n)
        if not data:
            raise IoTimeoutError()
        return data

    def write(self, data: bytes, timeout_sec: float | None) -> int:
        _, ready, _ = select.select([], [self.fd], [], timeout_sec)
        if not ready:
            raise IoTimeoutError()
        return os.write(self.fd, data)


def main(pty: str, image: str, kind: str, mlf_dir: str, input_npy: str, out_npy: str) -> None:
    report: dict[str, object] = {"tvm": tvm.__version__}
    blob = bytearray(Path(image).read_bytes())
    with tvm.micro.Session(transport_context_manager=PtyTransport(pty)) as session:
        remote, dev = session._rpc, session.device  # what AutoTVM's micro loader hands out
        start = time.perf_counter()
        try:
            remote.upload(blob, "m.llext")
        except tvm.TVMError as exc:
            report["upload_error"] = str(exc)
            # Still serving: the next call is answered.
            report["max_packet"] = remote.get_function("tvm.rpc.server.GetCRTMaxPacketSize")()
            print(json.dumps(report))
            return
        report["upload_seconds"] = time.perf_counter() - start
        mod = remote.load_module("m.llext")
        report["module_type"] = mod.type_key
        data = np.load(input_npy)
        if kind == "aot":
            create = remote.get_function("tvm.aot_executor.create")
            executor = AotModule(create(mod, dev, "default"))
            executor.get_input(0).copyfrom(data)
            executor.run()
            timed = executor.module
            timed_name = "run"
            timed_args: list[object] = []
        else:
            graph_json = (Path(mlf_dir) / "executor-config" / "graph" / "default.graph")
            executor = tvm.micro.create_local_graph_executor(graph_json.read_text(), mod, dev)
            executor.set_input(0, tvm.nd.array(data))
            executor.run()
            timed, timed_name, timed_args = mod, *_first_operator(graph_json, dev)
        np.save(out_npy, executor.get_output(0).numpy())
        timer = timed.time_evaluator(timed_name, dev, number=2, repeat=2)
        report["timed"] = timed_name
        report["time_results"] = list(timer(*timed_args).results)
    print(json.dumps(report))


def _first_operator(graph_json: Path, dev: tvm.runtime.Device) -> tuple[str, list[object]]:
    """The graph's first operator and arrays on the board for its arguments."""
    graph = json.loads(graph_json.read_text())
    shapes = graph["attrs"]["shape"][1]
    dtypes = graph["attrs"]["dltype"][1]
    entry = graph["node_row_ptr"]
    for index, node in enumerate(graph["nodes"]):
        if node["op"] != "tvm_op":
            continue
        ids = [entry[i[0]] + i[1] for i in node["inputs"]]
        ids += [entry[index] + k for k in range(int(node["attrs"]["num_outputs"]))]
        arrays = [tvm.nd.empty(shapes[i], dtypes[i], dev) for i in ids]
        return node["attrs"]["func_name"], arrays
    raise SystemExit("the graph has no operator")


if __name__ == "__main__":
    main(*sys.argv[1:7])
