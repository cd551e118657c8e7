"""The lint the developers' guide asks for (ruff, configured in python/pyproject.toml through
ruff.toml), over every Python file of the repo, so CI catches what a developer forgot."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from testsupport import REPO_ROOT

PYTHON_FOLDERS = ["python", "tests", "benchmarks", "west_commands", "template_project", "fuzz"]


def test_ruff_finds_nothing() -> None:
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (pip install -e './python[test]' brings it)")
    folders = [f for f in PYTHON_FOLDERS if (REPO_ROOT / f).is_dir()]
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *folders],
                          cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"ruff check {' '.join(folders)}:\n{proc.stdout}{proc.stderr}"
