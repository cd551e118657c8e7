"""`west utvm --help` when the host package cannot be imported (e.g. numpy missing): the
help still says what is wrong and what to install, into the Python west runs in."""

from __future__ import annotations

import argparse
import importlib.util
import sys

import pytest
from westsupport import REPO_ROOT

pytest.importorskip("west", reason="west is not installed (pip install west)")


def test_help_without_the_host_package_says_what_to_install(monkeypatch) -> None:
    spec = importlib.util.spec_from_file_location(
        "utvm_west_under_test", REPO_ROOT / "west_commands" / "utvm_west.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "_load_cli", lambda: (None, "No module named 'numpy'"))
    command = module.UtvmCommand()
    parser = command.do_add_parser(argparse.ArgumentParser().add_subparsers())
    text = parser.format_help()
    assert "No module named 'numpy'" in text
    assert f"{sys.executable} -m pip install -e" in text
