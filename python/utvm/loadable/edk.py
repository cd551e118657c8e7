"""A loadable firmware's LLEXT Extension Development Kit (EDK): the exact compiler flags and
headers of that build, which `west build -t llext-edk` packs into ``zephyr/llext-edk.tar.xz``
(unpacked here into the build's ``utvm/edk``)."""

from __future__ import annotations

import re
import shlex
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

from utvm.board.build_dir import ZephyrBuild
from utvm.errors import UtvmError

EDK_ARCHIVE = "llext-edk.tar.xz"
EDK_DIR = "llext-edk"  # the archive's top folder
LOADABLE_OPTION = "CONFIG_UTVM_LOADABLE"
_VARIABLE = re.compile(r"^(LLEXT_CFLAGS)\s*[:+]?=\s*(.*)$", re.M)


@dataclass(frozen=True)
class Edk:
    """What compiling an extension for one firmware needs."""

    root: Path
    cflags: tuple[str, ...]
    compiler: Path

    @property
    def linker_driver(self) -> Path:
        return self.compiler


def require_loadable(build: ZephyrBuild) -> None:
    if not build.kconfig_enabled(LOADABLE_OPTION):
        raise UtvmError(
            f"the firmware in {build.build_dir} cannot load model code ({LOADABLE_OPTION} is "
            "off). Build one that can: `west utvm build -b BOARD --loadable`, then "
            "`west utvm flash`.")


def read_edk(build: ZephyrBuild) -> Edk:
    """The EDK of a loadable build; UtvmError saying how to make it when it is missing."""
    require_loadable(build)
    root = _unpacked(build)
    flags_file = root / "Makefile.cflags"
    match = _VARIABLE.search(flags_file.read_text(encoding="utf-8"))
    if match is None:
        raise UtvmError(f"{flags_file} has no LLEXT_CFLAGS: not an EDK this utvm understands")
    text = re.sub(r"\$\(\w+_INSTALL_DIR\)", str(root), match[2])
    compiler = build.cache.get("CMAKE_C_COMPILER")
    if not compiler or not Path(compiler).is_file():
        raise UtvmError(f"{build.build_dir}'s CMakeCache.txt names no C compiler that exists "
                        f"({compiler!r}): build the firmware again on this computer")
    return Edk(root=root, cflags=tuple(shlex.split(text)), compiler=Path(compiler))


def _unpacked(build: ZephyrBuild) -> Path:
    """The EDK folder, unpacked again whenever the build made a newer archive."""
    archive = build.zephyr_dir / EDK_ARCHIVE
    if not archive.is_file():
        raise UtvmError(f"{build.build_dir} has no LLEXT EDK ({archive} is missing). Run "
                        "`west utvm build --loadable` again (it makes the EDK).")
    target = build.state_dir / "edk"
    root = target / EDK_DIR
    stamp = target / ".unpacked"
    if stamp.is_file() and stamp.stat().st_mtime_ns >= archive.stat().st_mtime_ns:
        return root
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    try:
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):  # no links or paths out of the folder
                tar.extractall(target, filter="data")
            else:
                tar.extractall(target)
    except (tarfile.TarError, OSError) as exc:
        raise UtvmError(f"cannot unpack the EDK {archive}: {exc}. Run `west utvm build "
                        "--loadable` again.") from exc
    if not (root / "Makefile.cflags").is_file():
        raise UtvmError(f"{archive} holds no {EDK_DIR}/Makefile.cflags: not an EDK this utvm "
                        "understands")
    stamp.touch()
    return root
