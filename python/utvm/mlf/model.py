"""The typed view of one module of a Model Library Format that the rest of utvm uses."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from utvm.mlf.tensors import TensorInfo

Executor = Literal["aot", "graph"]
Interface = Literal["c", "packed"]


@dataclass
class ModelLibrary:
    """One module of an MLF, with everything needed to build and run it.

    Use as a context manager (or call ``close()``) when it was opened from an archive:
    the extracted copy lives in a temporary folder that is removed then.
    """

    source: Path  # what the user gave: a folder or an archive
    root: Path  # folder holding metadata.json (the extraction folder for archives)
    mlf_version: int
    module_name: str
    executor: Executor
    interface: Interface
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    workspace_size_bytes: int
    constants_size_bytes: int
    io_size_bytes: int | None
    targets: tuple[str, ...]
    tvm_version: str | None
    export_datetime: str | None
    c_sources: tuple[Path, ...]
    object_files: tuple[Path, ...]
    interface_header: Path | None
    graph_json_path: Path | None
    params_path: Path | None
    param_names: tuple[str, ...]
    relay_path: Path | None
    runtime_dir: Path | None  # TVM's standalone_crt copy, when the archive has one
    module_names: tuple[str, ...]  # every module in the archive
    order_source: str  # which file gave the input/output order, for explanations
    _cleanup_dir: Path | None = field(default=None, repr=False)

    @property
    def executor_kind(self) -> str:
        """The host runner's name for this flavour: "aot_c", "aot_packed" or "graph"."""
        if self.executor == "graph":
            return "graph"
        return f"aot_{self.interface}"

    @property
    def has_params(self) -> bool:
        """True when the params file holds tensors that must be loaded at run time."""
        return bool(self.param_names)

    def close(self) -> None:
        """Remove the temporary extraction folder, if this library made one."""
        if self._cleanup_dir is not None:
            shutil.rmtree(self._cleanup_dir, ignore_errors=True)
            self._cleanup_dir = None

    def __enter__(self) -> ModelLibrary:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def summary(self) -> dict[str, object]:
        """A JSON-ready description (what ``utvm info --json`` prints)."""

        def tensor(info: TensorInfo) -> dict[str, object]:
            shape = None if info.shape is None else list(info.shape)
            return {"name": info.name, "dtype": info.dtype, "shape": shape,
                    "size_bytes": info.size_bytes}

        def relative(path: Path | None) -> str | None:
            return None if path is None else path.relative_to(self.root).as_posix()

        return {
            "source": str(self.source),
            "module_name": self.module_name,
            "modules": list(self.module_names),
            "mlf_version": self.mlf_version,
            "tvm_version": self.tvm_version,
            "export_datetime": self.export_datetime,
            "executor": self.executor,
            "interface": self.interface,
            "executor_kind": self.executor_kind,
            "targets": list(self.targets),
            "inputs": [tensor(t) for t in self.inputs],
            "outputs": [tensor(t) for t in self.outputs],
            "tensor_order_from": self.order_source,
            "workspace_size_bytes": self.workspace_size_bytes,
            "constants_size_bytes": self.constants_size_bytes,
            "io_size_bytes": self.io_size_bytes,
            "params": list(self.param_names),
            "files": {
                "c_sources": [relative(p) for p in self.c_sources],
                "object_files": [relative(p) for p in self.object_files],
                "interface_header": relative(self.interface_header),
                "graph_json": relative(self.graph_json_path),
                "params": relative(self.params_path),
                "relay": relative(self.relay_path),
                "runtime": relative(self.runtime_dir),
            },
        }
