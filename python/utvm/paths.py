"""Where the utvm-zephyr checkout and the user's cache live."""

from __future__ import annotations

import os
from pathlib import Path

from utvm.errors import UtvmError

ROOT_ENV_VAR = "UTVM_ROOT"


def repo_root() -> Path:
    """Return the utvm-zephyr checkout that holds ``runtime/``.

    ``$UTVM_ROOT`` wins; otherwise the package is assumed to sit at
    ``<repo>/python/utvm/`` (true for ``pip install -e ./python``).
    """
    configured = os.environ.get(ROOT_ENV_VAR)
    if configured:
        root = Path(configured).expanduser().resolve()
        where = f"${ROOT_ENV_VAR} ({configured})"
    else:
        root = Path(__file__).resolve().parent.parent.parent
        where = f"the checkout this package was installed from ({root})"
    if not (root / "runtime").is_dir():
        raise UtvmError(
            f"cannot find the utvm-zephyr runtime sources: {where} has no runtime/ folder. "
            f"Set {ROOT_ENV_VAR} to your utvm-zephyr checkout, or install the package "
            "from it with `pip install -e ./python`."
        )
    return root


def cache_dir() -> Path:
    """Return utvm's cache folder: ``$XDG_CACHE_HOME/utvm``, else ``~/.cache/utvm``."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        base = str(Path.home() / ".cache")
    return Path(base).expanduser() / "utvm"
