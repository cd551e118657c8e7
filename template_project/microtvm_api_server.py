#!/usr/bin/env python3
"""utvm's microTVM Project API server, as TVM starts it (--read-fd R --write-fd W).

This file is the same in the template folder and in every project generated from it; all
the work is in the utvm host package. It finds that package and the utvm module first:
  1. a generated project names its module in utvm_project.json;
  2. the template lives in the module itself (<module>/template_project);
then imports utvm: an installed one if there is one, else <module>/python.
"""

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).absolute().parent


def _module_dir():
    record = HERE / "utvm_project.json"
    if record.is_file():
        try:
            return Path(json.loads(record.read_text(encoding="utf-8"))["module"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
    if (HERE.parent / "runtime").is_dir() and (HERE.parent / "python" / "utvm").is_dir():
        return HERE.parent
    return None


def _import_server():
    module = _module_dir()
    if module is not None:
        # utvm finds the runtime, samples and cmake helper of this module through UTVM_ROOT.
        os.environ.setdefault("UTVM_ROOT", str(module))
    try:
        from utvm.project_api import server
    except ImportError:
        if module is None or not (module / "python" / "utvm").is_dir():
            sys.exit("microtvm_api_server.py: cannot find utvm's host package. Install it "
                     "(pip install -e <utvm module>/python) or keep this folder inside the "
                     "utvm module (template_project/).")
        for name in [m for m in sys.modules if m == "utvm" or m.startswith("utvm.")]:
            del sys.modules[name]  # an older utvm without project_api: use the module's
        sys.path.insert(0, str(module / "python"))
        from utvm.project_api import server
    return server


if __name__ == "__main__":
    sys.exit(_import_server().main(server_dir=HERE))
