"""TVM_HOME: every way it can be wrong gets its own message; a TVM 0.18 checkout passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from westsupport import write_fake_tvm

from utvm.board.tvm_home import find_tvm, parse_version, read_tvm_version
from utvm.errors import UtvmError


def test_unset_tvm_home_says_how_to_get_tvm() -> None:
    with pytest.raises(UtvmError, match=r"TVM_HOME is not set.*v0\.18\.0.*--mlf"):
        find_tvm({})


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UtvmError, match="does not exist"):
        find_tvm({"TVM_HOME": str(tmp_path / "nowhere")})


def test_folder_without_python_tvm_is_not_a_checkout(tmp_path: Path) -> None:
    (tmp_path / "python").mkdir()
    with pytest.raises(UtvmError, match=r"not a TVM checkout: it has no python/tvm"):
        find_tvm({"TVM_HOME": str(tmp_path)})


@pytest.mark.parametrize("version", ["0.19.0", "0.19.dev0", "0.20.0", "1.0.0"])
def test_tvm_0_19_and_later_have_no_microtvm(tmp_path: Path, version: str) -> None:
    root = write_fake_tvm(tmp_path / "tvm", version=version)
    with pytest.raises(UtvmError, match=rf"is TVM {version}, which has no microTVM"):
        find_tvm({"TVM_HOME": str(root)})


def test_tvm_without_micro_package_is_refused(tmp_path: Path) -> None:
    root = write_fake_tvm(tmp_path / "tvm", version="0.18.0", micro=False)
    with pytest.raises(UtvmError, match=r"has no microTVM: python/tvm/micro is missing"):
        find_tvm({"TVM_HOME": str(root)})


def test_tvm_0_18_checkout_is_accepted(tmp_path: Path) -> None:
    root = write_fake_tvm(tmp_path / "tvm", version="0.18.0")
    install = find_tvm({"TVM_HOME": str(root)})
    assert install.home == root.resolve()
    assert install.version == "0.18.0"
    assert install.python_dir == root.resolve() / "python"


def test_version_is_read_from_the_source_tree_without_importing_it(tmp_path: Path) -> None:
    root = write_fake_tvm(tmp_path / "tvm", version="0.17.0", broken_import=True)
    assert read_tvm_version(root) == "0.17.0"
    assert find_tvm({"TVM_HOME": str(root)}).version == "0.17.0"


def test_parse_version() -> None:
    assert parse_version("0.18.0") == (0, 18)
    assert parse_version("v0.19.dev0") == (0, 19)
    assert parse_version("unknown") is None
    assert parse_version(None) is None
