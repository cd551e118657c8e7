"""Runs utvm.mlf.describe for utvm_add_model() with this checkout's host package.

The package next to this file comes first on the path, so CMake and the package always
match, installed or not. A Python that cannot import it gets one line saying what to install.
"""

import sys
from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "python"
sys.path.insert(0, str(_PACKAGE_ROOT))

try:
    from utvm.mlf.describe import main
except ImportError as exc:
    missing = exc.name or str(exc)
    print(
        f"error: {sys.executable} cannot import '{missing}', which utvm needs to read the "
        f"model: run `{sys.executable} -m pip install pyyaml pykwalify` (or `pip install "
        f"{_PACKAGE_ROOT}`), or give another Python with -DPython3_EXECUTABLE=<python>",
        file=sys.stderr,
    )
    sys.exit(2)

sys.exit(main())
