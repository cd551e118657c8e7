"""The Zephyr applications `west utvm build` can build, as small strategy classes.

Each app knows its source folder, what kind of model it runs (which decides how TVM must
compile a --model), and which CMake variables carry the model into it. Every app reads
its model from the ``UTVM_MODEL`` CMake variable and adds it with
``utvm_add_model(app MLF ${UTVM_MODEL})`` — the convention a custom app (``--app PATH``)
follows too.
"""

from __future__ import annotations

import abc
from pathlib import Path

import numpy as np

from utvm.board.tvm_compile import DEFAULT_TARGET, CompileOptions
from utvm.errors import UtvmError
from utvm.host.runner import encode_inputs
from utvm.mlf.model import ModelLibrary
from utvm.mlf.runtime_memory import model_memory
from utvm.paths import repo_root

MODEL_VARIABLE = "UTVM_MODEL"


class App(abc.ABC):
    name: str
    #: True when the host drives the model over RPC (`west utvm run` talks to it).
    host_driven: bool

    @property
    @abc.abstractmethod
    def source_dir(self) -> Path:
        """The application folder given to `west build`."""

    def compile_options(self, executor: str | None, interface: str | None,
                        target: str | None) -> CompileOptions:
        """How TVM must compile a --model for this app (user choices win where allowed)."""
        chosen_executor = executor or "aot"
        chosen_interface = interface or ("packed" if chosen_executor == "graph" or
                                         self.host_driven else "c")
        return CompileOptions(chosen_executor, chosen_interface, target or DEFAULT_TARGET)  # type: ignore[arg-type]

    def check_model(self, mlf: ModelLibrary) -> None:  # noqa: B027 (optional hook)
        """UtvmError when the model cannot work in this app; nothing otherwise."""

    def cmake_definitions(self, model_dir: Path | None, mlf: ModelLibrary | None,
                          state_dir: Path) -> dict[str, str]:
        return {} if model_dir is None else {MODEL_VARIABLE: str(model_dir)}


class RpcServerApp(App):
    """samples/rpc_server: the board runs the RPC server; the host sets inputs and runs."""

    name = "rpc_server"
    host_driven = True

    @property
    def source_dir(self) -> Path:
        return repo_root() / "samples" / "rpc_server"

    def compile_options(self, executor: str | None, interface: str | None,
                        target: str | None) -> CompileOptions:
        if interface == "c":
            raise UtvmError("the rpc_server app runs host-driven models (packed interface); "
                            "--interface c is for --app aot_inference.")
        return super().compile_options(executor, interface, target)

    def cmake_definitions(self, model_dir: Path | None, mlf: ModelLibrary | None,
                          state_dir: Path) -> dict[str, str]:
        definitions = super().cmake_definitions(model_dir, mlf, state_dir)
        if mlf is not None:
            # The sizes go into a generated source of the app, not into Kconfig: another
            # model then recompiles that file and the model's, not the whole image.
            source = write_rpc_memory_source(state_dir, rpc_memory_for(mlf))
            definitions.update({"CONFIG_UTVM_MEMORY_FROM_APP": "y",
                                MEMORY_SOURCE_VARIABLE: str(source)})
        return definitions

    def check_model(self, mlf: ModelLibrary) -> None:
        if mlf.executor == "aot" and mlf.interface == "c":
            raise UtvmError(
                f"{mlf.source} was built with interface-api=c: it runs standalone, not over "
                "RPC. Build it into the standalone app (--app aot_inference), or compile it "
                "for host-driven use (aot with the packed interface and system-lib, or graph).")
        if has_system_library(mlf) is False:
            raise UtvmError(
                f"{mlf.source} has no system library (no {SYSTEM_LIB_ENTRY} in its C "
                "sources): the host finds the model's functions through it, so the first run "
                "would fail. Compile it again with the system library: tvmc --runtime crt "
                "--runtime-crt-system-lib 1, or relay.build(..., runtime=Runtime(\"crt\", "
                "{\"system-lib\": True})).")


SYSTEM_LIB_ENTRY = "TVMSystemLibEntryPoint"


def has_system_library(mlf: ModelLibrary) -> bool | None:
    """Whether the generated code defines the system library's entry point; None when
    there is no C source to read (object files only)."""
    if not mlf.c_sources:
        return None
    return any(SYSTEM_LIB_ENTRY in path.read_text(encoding="utf-8", errors="replace")
               for path in mlf.c_sources)


class AotInferenceApp(App):
    """samples/aot_inference: runs the model on the board on inputs built into the image."""

    name = "aot_inference"
    host_driven = False

    def __init__(self, inputs: list[np.ndarray] | None = None,
                 expected: list[np.ndarray] | None = None) -> None:
        self.inputs = inputs or []
        self.expected = expected or []

    @property
    def source_dir(self) -> Path:
        return repo_root() / "samples" / "aot_inference"

    def compile_options(self, executor: str | None, interface: str | None,
                        target: str | None) -> CompileOptions:
        if executor == "graph" or interface == "packed":
            raise UtvmError("the aot_inference app runs AOT models with the C interface; "
                            "use --app rpc_server for graph or packed models.")
        return CompileOptions("aot", "c", target or DEFAULT_TARGET)

    def check_model(self, mlf: ModelLibrary) -> None:
        if mlf.executor != "aot" or mlf.interface != "c":
            raise UtvmError(
                f"{mlf.source} is a {mlf.executor_kind} model; the aot_inference app needs an "
                "AOT model with interface-api=c (tvmc: --executor aot --executor-aot-interface-"
                "api c --executor-aot-unpacked-api 1). Host-driven models go to --app "
                "rpc_server.")
        if self.inputs:
            encode_inputs(mlf, self.inputs)  # same count, dtypes and sizes, or a clear error
        if self.expected and len(self.expected) != len(mlf.outputs):
            raise UtvmError(f"{len(self.expected)} --expected arrays given; the model has "
                            f"{len(mlf.outputs)} outputs.")
        for index, (info, array) in enumerate(zip(mlf.outputs, self.expected, strict=False)):
            if np.asarray(array).nbytes != info.size_bytes:
                raise UtvmError(f"expected output {index} has {np.asarray(array).nbytes} bytes; "
                                f"the model's output '{info.name}' has {info.size_bytes} "
                                f"({info.dtype}).")

    def cmake_definitions(self, model_dir: Path | None, mlf: ModelLibrary | None,
                          state_dir: Path) -> dict[str, str]:
        definitions = super().cmake_definitions(model_dir, mlf, state_dir)
        if mlf is None:
            return definitions  # the sample's own model and data
        data_dir = state_dir / "data"
        inputs = self.inputs or [np.zeros(t.size_bytes, np.uint8) for t in mlf.inputs]
        payloads = encode_inputs(mlf, inputs) if self.inputs else [a.tobytes() for a in inputs]
        definitions["UTVM_INPUTS"] = ";".join(
            str(_write_if_changed(data_dir / f"input_{i}.bin", p)) for i, p in enumerate(payloads))
        definitions["UTVM_EXPECTED_OUTPUTS"] = ";".join(
            str(_write_if_changed(data_dir / f"expected_{i}.bin",
                                  np.ascontiguousarray(a).tobytes()))
            for i, a in enumerate(self.expected))
        return definitions


class CustomApp(App):
    """The user's own application folder; it reads UTVM_MODEL like the samples do."""

    host_driven = True

    def __init__(self, path: Path, host_driven: bool = True) -> None:
        self.path = path.absolute()
        self.name = str(path)
        self.host_driven = host_driven

    @property
    def source_dir(self) -> Path:
        return self.path


# What samples/rpc_server's prj.conf and the Kconfig defaults give.
RPC_SAMPLE_ARENA_BYTES = 24576
RPC_DEFAULT_PACKET_BYTES = 2048
# The least arena a model gets: room for what a host session allocates besides the model's
# own tensors (time evaluator results, small arrays TVM's host tools make).
RPC_MIN_ARENA_BYTES = 8192
_PACKET_MARGIN_BYTES = 512  # the request's own encoding around the graph JSON or params


def rpc_memory_for(mlf: ModelLibrary) -> dict[str, str]:
    """Kconfig values that let the RPC server hold this model: the runtime arena sized for
    what the runtime itself allocates (not the workspace AOT code holds statically; the
    graph executor's storage with the parameters the host uploads) and the packet size (the
    graph JSON and the parameters each travel in one request)."""
    memory = model_memory(mlf)
    packet = RPC_DEFAULT_PACKET_BYTES
    if mlf.executor == "graph":
        largest = max(memory.graph_json_bytes, memory.params_bytes)
        packet = max(packet, _round_up(largest + _PACKET_MARGIN_BYTES, 256))
    arena = max(RPC_MIN_ARENA_BYTES, _round_up(memory.arena_bytes, 4096))
    return {"CONFIG_UTVM_ARENA_SIZE": str(arena),
            "CONFIG_UTVM_RPC_MAX_PACKET_SIZE": str(packet)}


MEMORY_SOURCE_VARIABLE = "UTVM_MEMORY_SOURCE"
#: Where the generated arena and RPC buffer go in the build's utvm folder.
MEMORY_SOURCE = Path("memory") / "utvm_memory.c"


def write_rpc_memory_source(state_dir: Path, sizes: dict[str, str]) -> Path:
    """The C file defining the runtime's arena and RPC receive buffer for
    CONFIG_UTVM_MEMORY_FROM_APP, sized by ``sizes`` (rpc_memory_for's names); rewritten only
    when the sizes change, so that an unchanged model recompiles nothing."""
    arena = int(sizes["CONFIG_UTVM_ARENA_SIZE"])
    packet = int(sizes["CONFIG_UTVM_RPC_MAX_PACKET_SIZE"])
    text = (
        "/* Generated by `west utvm build` for this build's model: the runtime's memory\n"
        " * (CONFIG_UTVM_MEMORY_FROM_APP). Another model rewrites this file, not Kconfig. */\n"
        "#include <stddef.h>\n#include <stdint.h>\n\n"
        f"uint8_t utvm_app_arena[{arena}]\n"
        "    __attribute__((aligned(1 << CONFIG_UTVM_PAGE_SIZE_LOG2)));\n"
        f"const size_t utvm_app_arena_size = {arena};\n\n"
        f"uint8_t utvm_app_rpc_rx_buf[{packet}] __attribute__((aligned(8)));\n"
        f"const size_t utvm_app_rpc_rx_size = {packet};\n")
    return _write_if_changed(state_dir / MEMORY_SOURCE, text.encode())


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


def resolve_app(choice: str, inputs: list[np.ndarray] | None = None,
                expected: list[np.ndarray] | None = None) -> App:
    if choice == RpcServerApp.name:
        return RpcServerApp()
    if choice == AotInferenceApp.name:
        return AotInferenceApp(inputs, expected)
    path = Path(choice).expanduser()
    if (path / "CMakeLists.txt").is_file():
        return CustomApp(path)
    raise UtvmError(f"--app {choice}: give rpc_server, aot_inference, or the folder of your own "
                    "Zephyr application (it has no CMakeLists.txt).")


def _write_if_changed(path: Path, data: bytes) -> Path:
    """Rewrites only when the bytes differ, so an unchanged input does not rebuild."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)
    return path


def app_source_dir(choice: str) -> Path:
    """The source folder an --app choice names (for build.dir-fmt), without checking it."""
    if choice == RpcServerApp.name:
        return repo_root() / "samples" / "rpc_server"
    if choice == AotInferenceApp.name:
        return repo_root() / "samples" / "aot_inference"
    return Path(choice).expanduser().absolute()
