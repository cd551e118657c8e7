"""Read tensor order and shapes out of TVM-generated C (crt-abi.md §6.1 and §6.2).

metadata.json lists inputs and outputs alphabetically (it is written with sorted keys);
the real order lives in the generated code: the interface header's structs for the C
interface, the ``kTvmgenMetadata`` tables for the packed interface.
"""

from __future__ import annotations

import re
from pathlib import Path

from utvm.errors import UtvmError
from utvm.mlf.dtypes import dtype_from_dl
from utvm.mlf.tensors import DeclaredTensor

_STRUCT_FIELD = re.compile(r"void\s*\*\s*(\w+)\s*;")
_SHAPE_ARRAY = re.compile(
    r"kTvmgenMetadata_(inputs|outputs)_(\d+)_shape\[\d+\]\s*=\s*\{([^}]*)\}"
)
_TENSOR_INFO = re.compile(
    r"\{\s*\"((?:[^\"\\]|\\.)*)\"\s*/\*\s*name\s*\*/\s*,\s*(\w+)\s*,\s*(\d+)L?\s*/\*\s*num_shape"
    r"\s*\*/\s*,\s*\{\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\}"
)
_INFO_TABLE = "static const struct TVMTensorInfo kTvmgenMetadata_{kind}["


def sanitize_name(name: str) -> str:
    """How TVM turns a tensor name into a C identifier: non-alphanumerics become '_'."""
    return re.sub(r"[^0-9A-Za-z]", "_", name)


def read_interface_struct_fields(header: Path, module: str) -> tuple[list[str], list[str]]:
    """Field names of ``struct tvmgen_<module>_inputs`` and ``..._outputs``, in order."""
    text = header.read_text(encoding="utf-8", errors="replace")
    prefix = f"tvmgen_{sanitize_name(module)}".lower()
    fields = []
    for kind in ("inputs", "outputs"):
        match = re.search(rf"struct\s+{prefix}_{kind}\s*\{{(.*?)\}}\s*;", text, re.S)
        if match is None:
            raise UtvmError(
                f"{header} has no 'struct {prefix}_{kind}'; it is not the AOT C interface "
                f"header of module '{module}'."
            )
        fields.append(_STRUCT_FIELD.findall(match.group(1)))
    return fields[0], fields[1]


def find_packed_metadata(sources: list[Path]) -> Path | None:
    """The generated source that defines the packed-interface ``kTvmgenMetadata`` tables."""
    needle = _INFO_TABLE.format(kind="inputs").encode()
    for source in sources:
        if needle in source.read_bytes():
            return source
    return None


def read_packed_metadata(source: Path) -> tuple[list[DeclaredTensor], list[DeclaredTensor]]:
    """Inputs and outputs (name, dtype, shape) from a ``get_c_metadata`` source file."""
    text = source.read_text(encoding="utf-8", errors="replace")
    shapes = {
        (kind, int(index)): tuple(int(v.strip().rstrip("L")) for v in body.split(",") if v.strip())
        for kind, index, body in _SHAPE_ARRAY.findall(text)
    }
    tables = []
    for kind in ("inputs", "outputs"):
        start = text.find(_INFO_TABLE.format(kind=kind))
        if start < 0:
            raise UtvmError(
                f"{source} has no kTvmgenMetadata_{kind} table; cannot read the model's {kind}."
            )
        end = text.find("};", start)
        tensors = []
        for index, match in enumerate(_TENSOR_INFO.finditer(text, start, end)):
            name, _shape_ref, ndim, code, bits, lanes = match.groups()
            shape = shapes.get((kind, index), ())
            if len(shape) != int(ndim):
                raise UtvmError(
                    f"{source}: kTvmgenMetadata_{kind}[{index}] says {ndim} dimensions but its "
                    f"shape table has {len(shape)}."
                )
            dtype = dtype_from_dl(int(code), int(bits), int(lanes))
            tensors.append(DeclaredTensor(name, dtype, shape))
        tables.append(tensors)
    return tables[0], tables[1]
