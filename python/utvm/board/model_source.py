"""Where a build's model comes from: an MLF the user has, or a model file TVM compiles.

Each source turns into an MLF path (folder or .tar) when the build needs it, and can be
recorded in the build directory so that a later `west utvm build` without model options
uses the same source again (picking up changes to it).
"""

from __future__ import annotations

import abc
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from utvm.board.tvm_compile import CompileOptions, compile_model
from utvm.errors import UtvmError


class ModelSource(abc.ABC):
    @abc.abstractmethod
    def describe(self) -> str:
        """For messages: where the model comes from."""

    @abc.abstractmethod
    def produce(self, work_dir: Path, progress: TextIO) -> Path:
        """An MLF folder or archive for the build (compiling it first if needed)."""

    @abc.abstractmethod
    def record(self) -> dict[str, Any]:
        """A JSON-ready description `source_from_record` turns back into this source."""


class MlfSource(ModelSource):
    """A Model Library Format the user already has (folder, .tar or .tar.gz)."""

    def __init__(self, path: Path) -> None:
        self.path = path.absolute()

    def describe(self) -> str:
        return f"MLF {self.path}"

    def produce(self, work_dir: Path, progress: TextIO) -> Path:
        if not self.path.exists():
            raise UtvmError(f"the MLF {self.path} does not exist. Give the folder or .tar that "
                            "`tvmc compile --output-format mlf` wrote.")
        return self.path

    def record(self) -> dict[str, Any]:
        return {"kind": "mlf", "path": str(self.path)}


class TvmModelSource(ModelSource):
    """A .tflite / .onnx model compiled with the user's TVM (TVM_HOME) for the app."""

    def __init__(self, path: Path, options: CompileOptions) -> None:
        self.path = path.absolute()
        self.options = options

    def describe(self) -> str:
        return f"{self.path.name}, to be compiled with TVM ({self.options.describe()})"

    def produce(self, work_dir: Path, progress: TextIO) -> Path:
        return compile_model(self.path, work_dir / "compiled", self.options, progress).archive

    def record(self) -> dict[str, Any]:
        return {"kind": "tvm", "path": str(self.path), "options": asdict(self.options)}


def source_from_record(record: dict[str, Any] | None) -> ModelSource | None:
    if not record:
        return None
    if record.get("kind") == "mlf":
        return MlfSource(Path(record["path"]))
    if record.get("kind") == "tvm":
        return TvmModelSource(Path(record["path"]), CompileOptions(**record.get("options", {})))
    return None
