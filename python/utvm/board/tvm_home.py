"""Find the user's Apache TVM through TVM_HOME and check that it still has microTVM.

microTVM (Model Library Format for microcontrollers, the C runtime target) was removed after
TVM v0.18.0, so a TVM that is 0.19 or newer, or that lacks python/tvm/micro, cannot compile
models for this module.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from utvm.errors import UtvmError

TVM_HOME_VAR = "TVM_HOME"
FIRST_VERSION_WITHOUT_MICRO = (0, 19)
# Where TVM source trees keep their version string, newest layout last.
_VERSION_FILES = ("python/tvm/_ffi/libinfo.py", "python/tvm/libinfo.py", "version.py")
_VERSION_LINE = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_GET_TVM = ("Use TVM v0.18.0, the last release with microTVM: `git clone --recursive --branch "
            "v0.18.0 https://github.com/apache/tvm`, build it (cmake with USE_MICRO ON) and "
            "export TVM_HOME=<that checkout>. Or compile the model yourself with tvmc "
            "(`--output-format mlf`) and pass the result with --mlf.")


@dataclass(frozen=True)
class TvmInstall:
    home: Path
    version: str | None

    @property
    def python_dir(self) -> Path:
        return self.home / "python"


def find_tvm(environ: Mapping[str, str] | None = None) -> TvmInstall:
    """The TVM checkout TVM_HOME names, checked; UtvmError saying what to fix otherwise."""
    env = os.environ if environ is None else environ
    configured = env.get(TVM_HOME_VAR)
    if not configured:
        raise UtvmError(f"{TVM_HOME_VAR} is not set: --model compiles the model with your own "
                        f"Apache TVM, found through {TVM_HOME_VAR}. {_GET_TVM}")
    home = Path(configured).expanduser()
    if not home.is_dir():
        raise UtvmError(f"{TVM_HOME_VAR}={configured} does not exist. {_GET_TVM}")
    package = home / "python" / "tvm"
    if not (package / "__init__.py").is_file():
        raise UtvmError(
            f"{TVM_HOME_VAR}={configured} is not a TVM checkout: it has no python/tvm package. "
            f"Set {TVM_HOME_VAR} to the top of the apache/tvm source tree (the folder holding "
            "python/ and build/).")
    version = read_tvm_version(home)
    parsed = parse_version(version)
    if parsed is not None and parsed >= FIRST_VERSION_WITHOUT_MICRO:
        raise UtvmError(f"{TVM_HOME_VAR}={configured} is TVM {version}, which has no microTVM "
                        f"(it was removed after 0.18). {_GET_TVM}")
    if not (package / "micro" / "__init__.py").is_file():
        raise UtvmError(f"{TVM_HOME_VAR}={configured} (TVM {version or 'of unknown version'}) "
                        f"has no microTVM: python/tvm/micro is missing. {_GET_TVM}")
    return TvmInstall(home.resolve(), version)


def read_tvm_version(home: Path) -> str | None:
    for relative in _VERSION_FILES:
        path = home / relative
        if path.is_file():
            match = _VERSION_LINE.search(path.read_text(encoding="utf-8", errors="replace"))
            if match:
                return match[1]
    return None


def parse_version(version: str | None) -> tuple[int, int] | None:
    """(major, minor) of "0.18.0", "0.19.dev0", "v0.20.0"; None when unreadable."""
    match = re.match(r"v?(\d+)\.(\d+)", version or "")
    return (int(match[1]), int(match[2])) if match else None
