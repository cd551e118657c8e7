"""utvm's requirements made importable for TVM's own Python, which runs the template's Project
API server: links to this interpreter's copies (pure Python, or built for the same Python
version) in one folder to put on TVM's PYTHONPATH. Shared by test_papi_autotvm.py and
benchmarks/autotvm_trials.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SERVER_PACKAGES = ("yaml", "serial", "elftools", "pykwalify", "docopt", "dateutil", "ruamel",
                   "six")


def server_packages(folder: Path) -> Path:
    """``folder`` with a link to each of SERVER_PACKAGES this interpreter has (kept when
    already there, so a work folder can be reused)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SERVER_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.origin is None:  # a namespace package (ruamel)
            source = Path(next(iter(spec.submodule_search_locations or [])))
        else:
            origin = Path(spec.origin)
            source = origin.parent if origin.name == "__init__.py" else origin
        link = folder / source.name
        if not link.exists():
            link.symlink_to(source)
    return folder
