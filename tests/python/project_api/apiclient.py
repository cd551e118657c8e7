"""A scripted Project API client for the tests (imported by name: pytest puts this folder on
sys.path). It starts ``microtvm_api_server.py`` the way TVM 0.18 does — ``[sys.executable,
<dir>/microtvm_api_server.py, --read-fd, R, --write-fd, W]`` with cwd = that folder and two
anonymous pipes — and speaks JSON-RPC 2.0 one line at a time, numbering requests from 1.

TVM is not installed here: this is written from the protocol document, not TVM's client.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from utvm.transport import Transport, TransportClosed, TransportTimeout, TransportTimeouts

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_DIR = REPO_ROOT / "template_project"
BUNDLED_MODEL = REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "aot_packed"
SERVER_SCRIPT = "microtvm_api_server.py"


class RpcErrorReply(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.error = error
        self.code = error.get("code")
        self.message = error.get("message")
        self.data = error.get("data")


class ApiClient:
    """One server process; ``call`` sends a request and returns its result or raises."""

    def __init__(self, folder: Path, env: dict[str, str] | None = None,
                 log_path: Path | None = None, python_flags: tuple[str, ...] = ()) -> None:
        server_read, client_write = os.pipe()
        client_read, server_write = os.pipe()
        self.log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, *python_flags, str(folder / SERVER_SCRIPT),
             "--read-fd", str(server_read), "--write-fd", str(server_write)],
            pass_fds=(server_read, server_write), cwd=folder, env=env,
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        os.close(server_read)
        os.close(server_write)
        self.reader = os.fdopen(client_read, "rb")
        self.writer = os.fdopen(client_write, "wb", buffering=0)
        self.next_id = 1

    def send_line(self, line: bytes) -> dict[str, Any]:
        """Sends raw bytes (one line) and returns the parsed reply line."""
        self.writer.write(line + b"\n")
        reply = self.reader.readline()
        if not reply:
            raise EOFError(f"the server closed its reply pipe (exit status "
                           f"{self.process.poll()})")
        return json.loads(reply)

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request_id = self.next_id
        self.next_id += 1
        reply = self.send_line(json.dumps({"jsonrpc": "2.0", "method": method,
                                           "params": params, "id": request_id}).encode())
        assert reply["jsonrpc"] == "2.0"
        assert reply["id"] == request_id, reply
        return reply

    def call(self, method: str, **params: Any) -> Any:
        reply = self.request(method, params)
        if "error" in reply:
            raise RpcErrorReply(reply["error"])
        return reply["result"]

    def close(self, timeout: float = 30) -> int:
        """Closes the request pipe (what ends the server) and waits for it to exit."""
        if not self.writer.closed:
            self.writer.close()
        try:
            code = self.process.wait(timeout)
        finally:
            self.reader.close()
            if self.log is not subprocess.DEVNULL:
                self.log.close()
        return code

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.close()


def all_options(client: ApiClient, **given: Any) -> dict[str, Any]:
    """Every option the server lists, unset ones as their default: what TVM's
    GeneratedProject / TemplateProject send."""
    info = client.call("server_info_query", tvm_version="0.18.0")
    values = {o["name"]: o["default"] for o in info["project_options"]}
    values.update(given)
    return values


class ApiTransport(Transport):
    """utvm's RPC Session over read_transport / write_transport, as TVM's session layer
    uses them: a timeout becomes "no data yet", a closed transport ends the session."""

    def __init__(self, client: ApiClient, options: dict[str, Any]) -> None:
        self.client, self.options = client, options
        self.name = "the Project API transport"
        self.reads: list[int] = []

    def _open(self) -> None:
        reply = self.client.call("open_transport", options=self.options)
        self.timeouts = TransportTimeouts(**reply["timeouts"])

    def _close(self) -> None:
        self.client.call("close_transport")

    def _read(self, n: int, timeout: float | None) -> bytes:
        self.reads.append(n)
        try:
            reply = self.client.call("read_transport", n=n, timeout_sec=timeout)
        except RpcErrorReply as exc:
            raise _translated(exc, timeout) from exc
        return base64.b85decode(reply["data"])

    def _write(self, data: bytes, timeout: float | None) -> None:
        try:
            self.client.call("write_transport", data=base64.b85encode(data).decode(),
                             timeout_sec=timeout)
        except RpcErrorReply as exc:
            raise _translated(exc, timeout) from exc


def _translated(exc: RpcErrorReply, timeout: float | None) -> Exception:
    if exc.message == "IoTimeoutError":
        return TransportTimeout(f"nothing within {timeout} s")
    if exc.message == "TransportClosedError":
        return TransportClosed("the server's transport is closed")
    return exc


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a TVM process: no PYTHONPATH to our package (the server script
    must find it by itself) and no ZEPHYR_BASE unless a test gives one."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "ZEPHYR_BASE", "UTVM_ROOT")}
    env.update(extra)
    return env


def generate(client: ApiClient, mlf: Path, project: Path, **options: Any) -> None:
    """generate_project as TVM's TemplateProject calls it (every option sent)."""
    client.call("generate_project", model_library_format_path=str(mlf),
                standalone_crt_dir=str(project.parent / "standalone_crt"),
                project_dir=str(project), options=all_options(client, **options))


GRAPH_FIXTURE = REPO_ROOT.parent / "shared" / "fixtures" / "tvm-0.18" / "tiny_conv_f32" / \
    "graph"
SOFTMAX = "tvmgen_default_fused_nn_softmax"


def operator_mlf(folder: Path) -> Path:
    """An operator-style MLF (what AutoTVM's build function exports for tvm.build results):
    TVM 0.18's generated operators and system-library registry of the graph fixture, with
    operator-style metadata (version 7, no executor). None when the fixtures are absent."""
    sources = GRAPH_FIXTURE / "codegen" / "host" / "src"
    folder.mkdir(parents=True)
    for index, name in enumerate(("default_lib0.c", "default_lib1.c")):
        target = folder / "codegen" / "host" / "src" / f"lib{index}.c"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((sources / name).read_bytes())
    (folder / "metadata.json").write_text(json.dumps({
        "version": 7, "model_name": "default", "export_datetime": "2024-01-31 12:34:56Z",
        "memory": {SOFTMAX: [
            {"size_bytes": 40, "shape": [1, 10], "dtype": "float32", "input_binding": "p0"},
            {"size_bytes": 40, "shape": [1, 10], "dtype": "float32",
             "input_binding": "T_softmax_norm"}]},
        "target": ["c -keys=cpu -model=host"], "executors": [], "style": "operator"}))
    return folder
