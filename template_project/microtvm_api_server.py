#!/usr/bin/env python3
"""utvm's microTVM Project API server, as TVM starts it (--read-fd R --write-fd W).

This file is the same in the template folder and in every project generated from it; all
the work is in the utvm host package. It finds that package and the utvm module first:
  1. a generated project names its module in utvm_project.json;
  2. the template lives in the module itself (<module>/template_project);
then imports utvm from <module>/python, the host package that matches the module's runtime
and samples; an installed utvm serves only when the module has no python/ folder.
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
        if (module / "python" / "utvm").is_dir():
            # The module's own host package first: an installed utvm may be another version.
            sys.path.insert(0, str(module / "python"))
    try:
        from utvm.project_api import server
    except ImportError:
        sys.exit("microtvm_api_server.py: cannot find utvm's host package. Install it "
                 "(pip install -e <utvm module>/python) or keep this folder inside the "
                 "utvm module (template_project/).")
    return server


if __name__ == "__main__":
    sys.exit(_import_server().main(server_dir=HERE))
