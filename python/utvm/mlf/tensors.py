"""Typed descriptions of a model's input and output tensors."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeclaredTensor:
    """A tensor as one MLF file declares it; fields the file does not state are None."""

    name: str
    dtype: str | None = None
    shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class TensorInfo:
    """One model input or output as callers use it."""

    name: str
    dtype: str
    size_bytes: int
    shape: tuple[int, ...] | None = None  # None when the MLF does not record it

    def describe(self) -> str:
        shape = "shape unknown" if self.shape is None else f"shape {list(self.shape)}"
        return f"{self.name}: {self.dtype}, {shape}, {self.size_bytes} bytes"
