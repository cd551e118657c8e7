"""Read the parameter types of ``@main`` from the Relay text an MLF keeps in ``src/``."""

from __future__ import annotations

import re
from pathlib import Path

from utvm.mlf.tensors import DeclaredTensor

_MAIN = re.compile(r"^def @main\((.*)$", re.M)
_PARAM = re.compile(r"%([\w.]+|\"[^\"]*\")\s*:\s*Tensor\[\(([\d,\s]*)\)\s*,\s*(\w+)\]")


def read_main_parameters(path: Path) -> list[DeclaredTensor]:
    """Parameters of ``@main`` with shapes and dtypes, in Relay parameter order.

    Returns an empty list when the file has no recognisable ``def @main(...)``; callers
    treat this source as optional.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    match = _MAIN.search(text)
    if match is None:
        return []
    signature = match.group(1)
    parameters = []
    for name, dims, dtype in _PARAM.findall(signature):
        shape = tuple(int(d) for d in dims.replace(" ", "").split(",") if d)
        parameters.append(DeclaredTensor(name.strip('"'), dtype, shape))
    return parameters
