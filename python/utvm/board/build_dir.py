"""Find and read a Zephyr build directory, the way `west build` and `west flash` do.

Without ``-d``, the build directory is west's ``build.dir-fmt`` (default ``build``) when that
is a Zephyr build, else the current directory when it is one, else ``build``. A directory
is a Zephyr build when its CMakeCache.txt has ZEPHYR_BASE. Sysbuild builds keep the
application one level down (``domains.yaml`` names it); `ZephyrBuild.app_dir` is that one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from utvm.board.cmake_cache import cmake_list, read_cmake_cache
from utvm.errors import UtvmError

DEFAULT_BUILD_DIR = "build"
UTVM_STATE_DIR = "utvm"  # our records and the staged model, inside the build folder
_KCONFIG_LINE = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")


def is_zephyr_build(path: Path) -> bool:
    cache = read_cmake_cache(path / "CMakeCache.txt")
    return "ZEPHYR_BASE" in cache or "ZEPHYR_TOOLCHAIN_VARIANT" in cache


def west_config_value(option: str) -> str | None:
    """A west configuration value (e.g. ``build.dir-fmt``); None without west or when unset."""
    try:
        from west.configuration import Configuration
        from west.util import WestNotFound, west_topdir
    except ImportError:
        return None
    try:
        topdir: str | None = west_topdir()
    except WestNotFound:
        topdir = None  # system and global settings still apply
    try:
        return Configuration(topdir).get(option)
    except Exception:  # an unreadable configuration file: behave as if unset
        return None


def default_build_dir(board: str | None = None, source_dir: Path | None = None) -> Path:
    """``build.dir-fmt`` filled in with what is known, or ``build``."""
    fmt = west_config_value("build.dir-fmt") or DEFAULT_BUILD_DIR
    values = {"board": board, "app": source_dir.name if source_dir else None,
              "source_dir": _relative_source(source_dir)}
    try:
        return Path(fmt.format(**{k: v for k, v in values.items() if v is not None}))
    except (KeyError, IndexError, ValueError):
        return Path(DEFAULT_BUILD_DIR)


def _relative_source(source_dir: Path | None) -> str | None:
    if source_dir is None:
        return None
    try:
        return str(source_dir.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return ""


def find_build_dir(explicit: str | Path | None, board: str | None = None,
                   source_dir: Path | None = None) -> Path:
    """The build directory a command should use (it may not exist yet)."""
    if explicit:
        return Path(explicit).absolute()
    default = default_build_dir(board, source_dir)
    if is_zephyr_build(default):
        return default.absolute()
    if is_zephyr_build(Path.cwd()):
        return Path.cwd()
    return default.absolute()


@dataclass
class ZephyrBuild:
    """A configured Zephyr build directory and what it says about board and application."""

    build_dir: Path  # what -d names (the sysbuild top for sysbuild builds)
    app_dir: Path  # the application's own build directory
    cache: dict[str, str]
    _kconfig: dict[str, str] | None = field(default=None, repr=False)

    @property
    def board(self) -> str:
        return self.cache.get("CACHED_BOARD") or self.cache.get("BOARD") or "unknown board"

    @property
    def source_dir(self) -> Path | None:
        value = self.cache.get("APPLICATION_SOURCE_DIR") or self.cache.get("APP_DIR")
        return Path(value) if value else None

    @property
    def zephyr_base(self) -> Path | None:
        value = self.cache.get("ZEPHYR_BASE")
        return Path(value) if value else None

    @property
    def extra_modules(self) -> list[str]:
        return cmake_list(self.cache.get("ZEPHYR_EXTRA_MODULES")
                          or self.cache.get("EXTRA_ZEPHYR_MODULES"))

    @property
    def configured(self) -> bool:
        """CMake finished generating (a failed configure leaves no project name)."""
        return "CMAKE_PROJECT_NAME" in self.cache

    @property
    def zephyr_dir(self) -> Path:
        return self.app_dir / "zephyr"

    @property
    def state_dir(self) -> Path:
        """utvm's records and staged model: in the folder -d names (sysbuild's top too)."""
        return self.build_dir / UTVM_STATE_DIR

    def kconfig(self) -> dict[str, str]:
        """The build's final Kconfig values (``zephyr/.config``), strings unquoted."""
        if self._kconfig is None:
            values: dict[str, str] = {}
            path = self.zephyr_dir / ".config"
            if path.is_file():
                for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                    match = _KCONFIG_LINE.match(line)
                    if match:
                        value = match[2]
                        if len(value) >= 2 and value[0] == value[-1] == '"':
                            value = value[1:-1]
                        values[match[1]] = value
            self._kconfig = values
        return self._kconfig

    def kconfig_enabled(self, name: str) -> bool:
        return self.kconfig().get(name) == "y"

    @property
    def kernel_name(self) -> str:
        return self.kconfig().get("CONFIG_KERNEL_BIN_NAME") or "zephyr"

    @property
    def elf_path(self) -> Path:
        return self.zephyr_dir / f"{self.kernel_name}.elf"

    @property
    def exe_path(self) -> Path:
        """native_sim's host executable."""
        return self.zephyr_dir / f"{self.kernel_name}.exe"


def read_build(build_dir: Path, must_be_built: bool = False) -> ZephyrBuild:
    """The Zephyr build at ``build_dir``; UtvmError (saying what to do) when it is not one."""
    if not build_dir.is_dir():
        raise UtvmError(f"build directory {build_dir} does not exist. Build first "
                        "(`west utvm build -b BOARD ...`) or give the right one with -d.")
    if not is_zephyr_build(build_dir):
        raise UtvmError(f"{build_dir} is not a Zephyr build directory (its CMakeCache.txt has "
                        "no ZEPHYR_BASE). Build first (`west utvm build -b BOARD ...`) or give "
                        "the right one with -d.")
    app_dir = _application_dir(build_dir)
    build = ZephyrBuild(build_dir, app_dir, read_cmake_cache(app_dir / "CMakeCache.txt"))
    if must_be_built and not build.elf_path.is_file():
        raise UtvmError(f"{build_dir} has no {build.elf_path.name} yet: the build did not "
                        "finish. Run `west utvm build` (or `west build`) again and fix what "
                        "it reports.")
    return build


def _application_dir(build_dir: Path) -> Path:
    """The default domain's build directory for sysbuild builds, else ``build_dir``."""
    domains_file = build_dir / "domains.yaml"
    if not domains_file.is_file():
        return build_dir
    try:
        domains = yaml.safe_load(domains_file.read_text(encoding="utf-8")) or {}
        default = domains.get("default")
        for domain in domains.get("domains", []):
            if domain.get("name") == default and domain.get("build_dir"):
                path = Path(domain["build_dir"])
                return path if path.is_absolute() else build_dir / path
    except (yaml.YAMLError, AttributeError, TypeError):
        pass
    if default and (build_dir / str(default)).is_dir():
        return build_dir / str(default)
    return build_dir


def same_path(a: str | Path | None, b: str | Path | None) -> bool:
    if not a or not b:
        return False
    return os.path.realpath(a) == os.path.realpath(b)
