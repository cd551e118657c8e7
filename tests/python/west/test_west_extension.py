"""`west utvm` through real west (PyPI) in temporary workspaces that have this module as a
project, registered both ways the README describes: a project entry with `west-commands:`,
and `import:` of the module's own west.yml (read from the project's manifest-rev, so a
change to it is seen only after `west update`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from westsupport import (
    BUNDLED_MODEL,
    PROJECT_WEST_COMMANDS,
    REPO_ROOT,
    commit_all,
    module_repo,
    project_entry,
    west,
    workspace,
)

pytest.importorskip("west", reason="west is not installed (pip install west)")
if shutil.which("git") is None:
    pytest.skip("git is needed for west workspaces", allow_module_level=True)

SUBCOMMANDS = ("build", "flash", "run", "info", "footprint")


def check_extension_works(top: Path) -> None:
    listing = west(top, "help").stdout
    assert "utvm:" in listing and "build, flash and run TVM models" in listing
    usage = west(top, "utvm", "--help").stdout
    assert all(name in usage for name in SUBCOMMANDS)
    assert "west utvm build -b native_sim --mlf model.tar" in usage  # it teaches
    info = west(top, "utvm", "info", str(BUNDLED_MODEL))
    assert "executor:    aot, packed" in info.stdout
    assert "inputs+outputs (tensors)" in info.stdout
    build_help = west(top, "utvm", "build", "--help").stdout
    assert "--model FILE" in build_help and "aot_inference" in build_help


def test_project_with_west_commands(tmp_path: Path) -> None:
    repo = module_repo(tmp_path)
    top = workspace(tmp_path, project_entry(repo, PROJECT_WEST_COMMANDS))
    check_extension_works(top)


def test_import_of_the_modules_own_manifest(tmp_path: Path) -> None:
    repo = module_repo(tmp_path, own_manifest="manifest:\n  version: \"1.0\"\n  projects: []\n")
    top = workspace(tmp_path, project_entry(repo, "      import: true\n"))
    assert west(top, "utvm", "--help", check=False).returncode != 0  # not offered yet

    shutil.copy(REPO_ROOT / "west.yml", repo / "west.yml")  # the real one: self west-commands
    commit_all(repo, "offer west utvm")
    missing = west(top, "utvm", "--help", check=False)
    assert missing.returncode != 0  # west still reads west.yml from manifest-rev
    assert "unknown command" in missing.stderr

    west(top, "update")
    check_extension_works(top)


def test_errors_come_back_as_messages_and_status(tmp_path: Path) -> None:
    repo = module_repo(tmp_path)
    top = workspace(tmp_path, project_entry(repo, PROJECT_WEST_COMMANDS))
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    result = west(top, "utvm", "info", str(bad), check=False)
    assert result.returncode == 2
    assert "error:" in result.stderr and "truncated or corrupt" in result.stderr
    result = west(top, "utvm", "build", "-b", "native_sim", "--mlf", str(BUNDLED_MODEL),
                  check=False)
    assert result.returncode == 2
    assert "no Zephyr found: ZEPHYR_BASE is not set" in result.stderr


def test_extension_uses_the_modules_python_folder_when_utvm_is_not_installed(
        tmp_path: Path) -> None:
    """Without site processing the installed (editable) utvm is invisible, but west and the
    other dependencies still import from site-packages: the extension must fall back to the
    module's own python/ folder."""
    import west

    site_packages = Path(west.__file__).resolve().parent.parent
    script = (
        "import sys; sys.path.append(sys.argv[1]);\n"
        "import importlib.util as u\n"
        "spec = u.spec_from_file_location('utvm_west', sys.argv[2])\n"
        "module = u.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "command = module.UtvmCommand()\n"
        "assert command._cli is not None, command._import_error\n"
        "print(sys.path[0]); print(command._cli.__file__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", script, str(site_packages),
         str(REPO_ROOT / "west_commands" / "utvm_west.py")],
        capture_output=True, text=True, check=False, cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", "")})
    assert result.returncode == 0, result.stderr
    added, loaded = result.stdout.split()
    assert Path(added) == REPO_ROOT / "python"  # put there by the extension's fallback
    assert Path(loaded) == REPO_ROOT / "python" / "utvm" / "cli.py"
