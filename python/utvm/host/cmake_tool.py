"""Find a cmake executable: the one on PATH, else the one from PyPI's ``cmake`` package."""

from __future__ import annotations

import shutil
from pathlib import Path

from utvm.errors import UtvmError


def find_cmake() -> Path:
    on_path = shutil.which("cmake")
    if on_path:
        return Path(on_path)
    try:
        import cmake  # PyPI's cmake package ships a binary and names its folder
    except ImportError:
        cmake = None
    if cmake is not None:
        candidate = Path(getattr(cmake, "CMAKE_BIN_DIR", "")) / "cmake"
        if candidate.is_file():
            return candidate
    raise UtvmError(
        "cmake was not found: it is needed to build the host runner. Install it with your "
        "package manager (e.g. `apt-get install cmake`) or with `pip install cmake`."
    )
