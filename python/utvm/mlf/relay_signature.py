"""Read the signature of ``@main`` from the Relay text an MLF keeps in ``src/``.

TVM writes ``def @main(%x: Tensor[(1, 10), float32], ...) -> Tensor[(1, 10), float32] {``
(``src/<module>.relay``; ``src/relay.txt`` in TVM 0.8, often without the result type).
Parameter names may hold characters C identifiers cannot (``%serving_default_input:0``).
"""

from __future__ import annotations

import re
from pathlib import Path

from utvm.mlf.tensors import DeclaredTensor

_MAIN = re.compile(r"^def @main\(", re.M)
_PARAM = re.compile(r"%([\w.:]+|\"[^\"]*\")\s*:\s*Tensor\[\(([\d,\s]*)\)\s*,\s*(\w+)\]")
_TENSOR = re.compile(r"Tensor\[\(([\d,\s]*)\)\s*,\s*(\w+)\]")
_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_TYPE_COMMENT = re.compile(r"/\*\s*ty=(.*?)(?:\s+span=.*?)?\s*\*/")


def _read_signature(path: Path) -> tuple[str, str] | None:
    """``@main``'s parameter text and result type text ("" when unknown), or None.

    The result type is the one written after ``->``, else the ``/* ty=... */`` type of the
    body's last expression (TVM prints one after type inference).
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = _MAIN.search(text)
    if match is None:
        return None
    body_start = text.find("{\n", match.end())
    header = _COMMENT.sub("", text[match.end() : body_start if body_start >= 0 else None])
    depth = 1
    for index, char in enumerate(header):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            rest = header[index + 1 :].strip()
            result = rest[2:].strip() if rest.startswith("->") else ""
            if not result and body_start >= 0:
                result = _last_expression_type(text, body_start)
            return header[:index], result
    return None


def _last_expression_type(text: str, body_start: int) -> str:
    """The ``ty=`` annotation of the line before ``@main``'s closing brace, or ""."""
    body_end = text.find("\n}", body_start)
    if body_end < 0:
        return ""
    last_line = text[text.rfind("\n", body_start, body_end) + 1 : body_end]
    found = _TYPE_COMMENT.findall(last_line)
    return found[-1].strip() if found else ""


def read_main_parameters(path: Path) -> list[DeclaredTensor]:
    """Parameters of ``@main`` with shapes and dtypes, in Relay parameter order.

    Returns an empty list when the file has no recognisable ``def @main(...)``; callers
    treat this source as optional.
    """
    signature = _read_signature(path)
    if signature is None:
        return []
    parameters = []
    for name, dims, dtype in _PARAM.findall(signature[0]):
        parameters.append(DeclaredTensor(name.strip('"'), dtype, _shape(dims)))
    return parameters


def read_main_results(path: Path) -> list[DeclaredTensor] | None:
    """The tensors ``@main`` returns (one, or a tuple's fields in order), unnamed.

    None when the file does not state the result type (TVM 0.8's ``relay.txt``) or states
    one that is not plain tensors of fixed shape.
    """
    signature = _read_signature(path)
    if signature is None or not signature[1]:
        return None
    result = signature[1]
    tensors = _TENSOR.findall(result)
    # Anything but tensors (a nested tuple, a dynamic '?' dimension) is not read.
    if not tensors or _TENSOR.sub("", result).strip("(), ") != "":
        return None
    return [DeclaredTensor("", dtype, _shape(dims)) for dims, dtype in tensors]


def _shape(dims: str) -> tuple[int, ...]:
    return tuple(int(d) for d in dims.replace(" ", "").split(",") if d)
