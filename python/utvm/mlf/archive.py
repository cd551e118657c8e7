"""Safe, all-or-nothing extraction of Model Library Format tar archives.

An MLF archive comes from elsewhere (another machine, a download, a colleague), so it is
treated as hostile: only plain files and folders with relative paths inside the destination
are accepted, sizes are bounded, and nothing is left behind when anything is wrong.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from utvm.errors import UtvmError

MiB = 1024 * 1024
_COPY_CHUNK_BYTES = MiB


@dataclass(frozen=True)
class ExtractionLimits:
    """Upper bounds that stop a hostile or broken archive from filling the disk."""

    max_total_bytes: int = 512 * MiB
    max_member_bytes: int = 512 * MiB
    max_members: int = 100_000


DEFAULT_LIMITS = ExtractionLimits()


def is_tar_archive(path: Path) -> bool:
    """True for a file that Python's tarfile can open (plain, gzip, bz2 or xz tar)."""
    try:
        return path.is_file() and tarfile.is_tarfile(path)
    except OSError:
        return False


def extract_archive(
    archive: Path, destination: Path, limits: ExtractionLimits = DEFAULT_LIMITS
) -> Path:
    """Extract ``archive`` into the new folder ``destination`` and return it.

    Members are written into a temporary sibling folder that is renamed to
    ``destination`` only once everything was checked and written, so a failure never
    leaves a half-extracted tree. Raises UtvmError for anything unsafe or corrupt.
    """
    archive = Path(archive)
    destination = Path(destination)
    if destination.exists():
        raise UtvmError(
            f"cannot extract {archive} into {destination}: that path already exists. "
            "Choose a new folder or remove the old one first."
        )
    if not archive.is_file():
        raise UtvmError(f"{archive} does not exist or is not a file.")
    parent = destination.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.partial-", dir=parent))
    try:
        _extract_members(archive, staging, limits)
        os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def _extract_members(archive: Path, staging: Path, limits: ExtractionLimits) -> None:
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            _write_checked_members(archive, tar, staging, limits)
    except UtvmError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as exc:
        raise UtvmError(
            f"{archive} is not a readable tar archive ({type(exc).__name__}: {exc}). "
            "It may be truncated or corrupt: export the Model Library Format again."
        ) from exc


def _write_checked_members(
    archive: Path, tar: tarfile.TarFile, staging: Path, limits: ExtractionLimits
) -> None:
    total_bytes = 0
    seen: set[PurePosixPath] = set()
    for count, member in enumerate(tar, start=1):
        if count > limits.max_members:
            raise UtvmError(
                f"{archive} has more than {limits.max_members} members; a Model Library "
                "Format has far fewer. Refusing to extract it."
            )
        relative = _safe_relative_path(archive, member)
        if relative is None:
            continue
        if relative in seen:
            raise UtvmError(
                f"{archive} contains '{member.name}' more than once; refusing an archive "
                "whose later members would overwrite earlier ones."
            )
        seen.add(relative)
        target = staging.joinpath(*relative.parts)
        if member.isdir():
            try:
                target.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UtvmError(
                    f"{archive}: cannot create folder '{member.name}' ({exc}); the archive's "
                    "paths clash (a file where a folder should be)."
                ) from exc
            continue
        if member.size > limits.max_member_bytes:
            raise UtvmError(
                f"{archive}: member '{member.name}' is {member.size} bytes, over the "
                f"{limits.max_member_bytes}-byte limit for one file. Refusing to extract it."
            )
        total_bytes += member.size
        if total_bytes > limits.max_total_bytes:
            raise UtvmError(
                f"{archive} unpacks to more than {limits.max_total_bytes} bytes, over the "
                "limit for a Model Library Format. Refusing to extract it."
            )
        try:
            _write_file(archive, tar, member, target)
        except OSError as exc:
            raise UtvmError(
                f"{archive}: cannot extract member '{member.name}' ({exc}). The archive's "
                "paths clash (a file where a folder should be) or the disk is full."
            ) from exc


def _safe_relative_path(archive: Path, member: tarfile.TarInfo) -> PurePosixPath | None:
    """Return the member's path relative to the destination, or None for the root entry."""
    name = member.name
    if not member.isfile() and not member.isdir():
        raise UtvmError(
            f"{archive}: member '{name}' is a {_kind_of(member)}; a Model Library Format "
            "holds only plain files and folders. Refusing to extract it."
        )
    if member.issparse():
        raise UtvmError(f"{archive}: member '{name}' is a sparse file; refusing to extract it.")
    if "\x00" in name:
        raise UtvmError(f"{archive}: a member name contains a NUL byte; refusing to extract it.")
    if not _is_utf8(name):
        raise UtvmError(
            f"{archive}: member {name!a} has a name that is not UTF-8; TVM writes only "
            "ASCII names. Refusing to extract it."
        )
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise UtvmError(
            f"{archive}: member '{name}' has an absolute path; refusing to extract it "
            "(a Model Library Format uses paths like ./metadata.json)."
        )
    if ".." in path.parts:
        raise UtvmError(
            f"{archive}: member '{name}' contains a '..' component, which could write outside "
            "the destination folder. Refusing to extract it."
        )
    parts = [part for part in path.parts if part not in (".", "")]
    if not parts:
        return None
    return PurePosixPath(*parts)


def _is_utf8(name: str) -> bool:
    """False for names tarfile decoded with surrogate escapes (bytes that are not UTF-8)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _kind_of(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"symbolic link (to '{member.linkname}')"
    if member.islnk():
        return f"hard link (to '{member.linkname}')"
    if member.ischr() or member.isblk():
        return "device file"
    if member.isfifo():
        return "FIFO"
    return f"special member (type {member.type!r})"


def _write_file(
    archive: Path, tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path
) -> None:
    source = tar.extractfile(member)
    if source is None:  # only for non-regular members, which were refused above
        raise UtvmError(f"{archive}: cannot read member '{member.name}'.")
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    # Write with our own loop and permissions: never trust the archive's mode or owner.
    with source, open(target, "xb") as out:
        while chunk := source.read(_COPY_CHUNK_BYTES):
            written += len(chunk)
            if written > member.size:
                raise UtvmError(f"{archive}: member '{member.name}' is longer than declared.")
            out.write(chunk)
    if written != member.size:
        raise UtvmError(
            f"{archive}: member '{member.name}' is truncated ({written} of {member.size} bytes). "
            "Export the Model Library Format again."
        )
    executable = member.mode & stat.S_IXUSR
    target.chmod(0o755 if executable else 0o644)
