"""What the generated C says about a model's AOT entry point.

Which run function the code defines (``tvmgen_<mod>_run`` from TVM 0.9 on,
``tvmgen_<mod>_run_model`` in TVM 0.8), and the element types of its tensor arguments:
TVM 0.8's metadata.json does not record the dtype of outputs, but the code does, as the C
type of the pointer each output is written through (``float* T_add``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from utvm.mlf.c_sources import sanitize_name

_C_DTYPES = {
    "float": "float32", "double": "float64",
    "int8_t": "int8", "int16_t": "int16", "int32_t": "int32", "int64_t": "int64",
    "uint8_t": "uint8", "uint16_t": "uint16", "uint32_t": "uint32", "uint64_t": "uint64",
}
_POINTER_PARAM = re.compile(r"^(?:const\s+)?(\w+)\s*\*\s*(\w+)$")
_CALL = re.compile(r"\b(\w+)\s*\(([^;{}]*)\)\s*;")
_MAX_CALL_DEPTH = 4


@dataclass(frozen=True)
class _Function:
    parameters: list[str]  # "float* T_add" as written
    body: str


def c_prefix(module: str) -> str:
    """``tvmgen_<module>`` as TVM spells it in C (sanitized, lower case)."""
    return f"tvmgen_{sanitize_name(module).lower()}"


def _find_function(texts: list[str], function: str) -> _Function | None:
    pattern = re.compile(rf"\b{re.escape(function)}\s*\(([^)]*)\)\s*\{{")
    for text in texts:
        match = pattern.search(text)
        if match is None:
            continue
        depth, index = 1, match.end()
        while depth and index < len(text):
            depth += {"{": 1, "}": -1}.get(text[index], 0)
            index += 1
        params = [p.strip() for p in match.group(1).split(",")]
        return _Function([p for p in params if p and p != "void"], text[match.end() : index])
    return None


def _read(sources: tuple[Path, ...] | list[Path]) -> list[str]:
    return [source.read_text(encoding="utf-8", errors="replace") for source in sources]


def defined_parameters(sources: tuple[Path, ...] | list[Path], function: str) -> list[str] | None:
    """Parameter list of ``function``'s definition in ``sources``, or None if none defines it."""
    found = _find_function(_read(sources), function)
    return None if found is None else found.parameters


def output_dtypes(
    sources: tuple[Path, ...] | list[Path], module: str, num_inputs: int, num_outputs: int
) -> list[str | None]:
    """Each output's dtype as the AOT entry point's code writes it; None where it cannot tell.

    The entry point takes the inputs, then the outputs (then pools, in later releases);
    a ``void*`` argument is followed into the operator it is handed to.
    """
    texts = _read(sources)
    prefix = c_prefix(module)
    for entry in (f"{prefix}___tvm_main__", f"{prefix}_run_model"):
        function = _find_function(texts, entry)
        if function is not None and len(function.parameters) >= num_inputs + num_outputs:
            return [
                _argument_dtype(texts, function, num_inputs + k, _MAX_CALL_DEPTH)
                for k in range(num_outputs)
            ]
    return [None] * num_outputs


def _argument_dtype(texts: list[str], function: _Function, index: int, depth: int) -> str | None:
    match = _POINTER_PARAM.match(function.parameters[index])
    if match is None:
        return None
    c_type, name = match.groups()
    if c_type in _C_DTYPES:
        return _C_DTYPES[c_type]
    if c_type != "void" or depth == 0:
        return None
    for callee, arguments in _CALL.findall(function.body):
        names = [argument.strip() for argument in arguments.split(",")]
        if name not in names:
            continue
        target = _find_function(texts, callee)
        if target is not None and len(target.parameters) == len(names):
            dtype = _argument_dtype(texts, target, names.index(name), depth - 1)
            if dtype is not None:
                return dtype
    return None
