"""Check an MLF folder against the rules an archive is extracted by.

A folder MLF is read, hashed and copied just like an extracted archive, so it must not hold
what extraction refuses: FIFOs and devices (reading one blocks or yields endless data),
links that leave the folder or lead back into a folder (loops), names that are not UTF-8,
or more entries and bytes than the archive limits allow. Only the entries utvm uses
(``MLF_ENTRIES``) are checked: other files beside them are never read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from utvm.errors import UtvmError
from utvm.mlf.archive import DEFAULT_LIMITS, ExtractionLimits

# The parts of an MLF that utvm reads, builds from and copies.
MLF_ENTRIES = ("metadata.json", "codegen", "executor-config", "parameters", "src",
               "runtime", "templates")


def check_mlf_folder(root: Path, limits: ExtractionLimits = DEFAULT_LIMITS) -> None:
    """Raise UtvmError naming the first entry under ``root`` that an archive could not hold.

    Accepted: plain files, folders, and symbolic links to plain files inside ``root``.
    The walk is iterative and never follows links, so a loop cannot make it hang.
    """
    real_root = root.resolve()
    pending = [root / entry for entry in MLF_ENTRIES]
    entries = 0
    total_bytes = 0
    while pending:
        path = pending.pop()
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise UtvmError(f"cannot read {_shown(path)} ({exc.strerror}).") from exc
        entries += 1
        if entries > limits.max_members:
            raise UtvmError(
                f"{root} holds more than {limits.max_members} files and folders; a Model "
                "Library Format has far fewer. Refusing to read it."
            )
        _check_name(root, path)
        if stat.S_ISDIR(info.st_mode):
            try:
                pending.extend(sorted(path.iterdir(), reverse=True))
            except OSError as exc:
                raise UtvmError(f"cannot list {_shown(path)} ({exc.strerror}).") from exc
            continue
        if stat.S_ISLNK(info.st_mode):
            info = _linked_file(real_root, path)
        elif not stat.S_ISREG(info.st_mode):
            raise UtvmError(
                f"{_shown(path)} is a {_kind(info.st_mode)}; a Model Library Format holds only "
                "plain files and folders. Refusing to read it."
            )
        if info.st_size > limits.max_member_bytes:
            raise UtvmError(
                f"{_shown(path)} is {info.st_size} bytes, over the {limits.max_member_bytes}"
                "-byte limit for one file of a Model Library Format. Refusing to read it."
            )
        total_bytes += info.st_size
        if total_bytes > limits.max_total_bytes:
            raise UtvmError(
                f"{root} holds more than {limits.max_total_bytes} bytes of model files, over "
                "the limit for a Model Library Format. Refusing to read it."
            )


def _check_name(root: Path, path: Path) -> None:
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UtvmError(
            f"{_shown(path)} has a name that is not UTF-8; TVM writes only ASCII names. "
            "Refusing to read it."
        ) from exc


def _linked_file(real_root: Path, link: Path) -> os.stat_result:
    """The stat of the plain file inside the folder that ``link`` leads to; else refuse."""
    target = os.readlink(link)
    try:
        resolved = link.resolve(strict=True)
        info = resolved.stat()
    except (OSError, RuntimeError) as exc:  # dangling, or a loop
        raise UtvmError(
            f"{_shown(link)} is a symbolic link (to {target!r}) that leads nowhere or in a "
            "loop. Replace it with the file itself."
        ) from exc
    if not resolved.is_relative_to(real_root):
        raise UtvmError(
            f"{_shown(link)} is a symbolic link to {target!r}, outside the model's folder; "
            "refusing to read files from elsewhere. Copy the file in instead."
        )
    if not stat.S_ISREG(info.st_mode):
        raise UtvmError(
            f"{_shown(link)} is a symbolic link to {target!r}, which is not a plain file "
            "(links to folders can loop). Replace it with the folder's contents."
        )
    return info


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file"
    return "special file"


def _shown(path: Path) -> str:
    """The path, with anything unprintable (e.g. undecodable bytes) escaped."""
    text = str(path)
    return text if text.isprintable() else ascii(text)[1:-1]
