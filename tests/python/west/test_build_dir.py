"""Finding and reading Zephyr build folders like west build does."""

from __future__ import annotations

from pathlib import Path

import pytest
from westsupport import write_zephyr_build

from utvm.board.build_dir import find_build_dir, is_zephyr_build, read_build
from utvm.board.cmake_cache import cmake_list, read_cmake_cache
from utvm.errors import UtvmError


@pytest.fixture(autouse=True)
def no_west_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the user's west configuration (build.dir-fmt) out of these tests."""
    for name in ("SYSTEM", "GLOBAL", "LOCAL"):
        monkeypatch.setenv(f"WEST_CONFIG_{name}", str(tmp_path / f"west-{name.lower()}.ini"))
    monkeypatch.chdir(tmp_path)


def test_cmake_cache_entries(tmp_path: Path) -> None:
    cache = tmp_path / "CMakeCache.txt"
    cache.write_text("# comment\n// doc\nBOARD:STRING=native_sim\n"
                     '"QUOTED NAME":PATH=/x\nLIST:UNINITIALIZED=a;b;;c\nEMPTY:STRING=\n')
    entries = read_cmake_cache(cache)
    assert entries == {"BOARD": "native_sim", "QUOTED NAME": "/x", "LIST": "a;b;;c",
                       "EMPTY": ""}
    assert cmake_list(entries["LIST"]) == ["a", "b", "c"]
    assert read_cmake_cache(tmp_path / "missing") == {}


def test_explicit_build_dir_wins(tmp_path: Path) -> None:
    assert find_build_dir("elsewhere") == tmp_path / "elsewhere"


def test_default_is_build_then_the_current_directory(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_build_dir(None) == tmp_path / "build"  # nothing built yet
    write_zephyr_build(tmp_path / "here")
    monkeypatch.chdir(tmp_path / "here")
    assert find_build_dir(None) == tmp_path / "here"  # cwd is a build folder
    write_zephyr_build(tmp_path / "here" / "build")
    assert find_build_dir(None) == tmp_path / "here" / "build"  # ./build comes first


def test_dir_fmt_from_west_config(tmp_path: Path) -> None:
    (tmp_path / "west-global.ini").write_text("[build]\ndir-fmt = build/{board}\n")
    assert find_build_dir(None, board="native_sim") == tmp_path / "build" / "native_sim"


def test_read_build(tmp_path: Path) -> None:
    folder = write_zephyr_build(tmp_path / "b", board="qemu_cortex_m3",
                                kconfig={"CONFIG_QEMU_TARGET": "y",
                                         "CONFIG_KERNEL_BIN_NAME": '"app"'},
                                cache={"ZEPHYR_EXTRA_MODULES:UNINITIALIZED": "/m1;/m2"})
    build = read_build(folder)
    assert build.board == "qemu_cortex_m3" and build.configured
    assert build.kconfig_enabled("CONFIG_QEMU_TARGET")
    assert not build.kconfig_enabled("CONFIG_ARCH_POSIX")
    assert build.elf_path == folder / "zephyr" / "app.elf"
    assert build.extra_modules == ["/m1", "/m2"]
    assert build.state_dir == folder / "utvm"


def test_sysbuild_application_folder(tmp_path: Path) -> None:
    top = write_zephyr_build(tmp_path / "b")
    write_zephyr_build(top / "rpc_server", board="nrf5340dk/nrf5340/cpuapp")
    (top / "domains.yaml").write_text(
        "default: rpc_server\nbuild_dir: b\ndomains:\n"
        "  - name: rpc_server\n    build_dir: " + str(top / "rpc_server") + "\n")
    build = read_build(top)
    assert build.app_dir == top / "rpc_server"
    assert build.board == "nrf5340dk/nrf5340/cpuapp"


def test_not_a_build_folder(tmp_path: Path) -> None:
    with pytest.raises(UtvmError, match=r"does not exist\. Build first"):
        read_build(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    assert not is_zephyr_build(tmp_path / "plain")
    with pytest.raises(UtvmError, match="is not a Zephyr build directory"):
        read_build(tmp_path / "plain")


def test_unfinished_build(tmp_path: Path) -> None:
    folder = write_zephyr_build(tmp_path / "b")
    with pytest.raises(UtvmError, match=r"has no zephyr\.elf yet"):
        read_build(folder, must_be_built=True)
