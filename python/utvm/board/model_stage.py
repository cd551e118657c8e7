"""Copy a Model Library Format into the build directory, touching only what changed.

The application always gets the same folder (``<build>/utvm/model``), so a new model of
the same shape changes only some files there: ninja then recompiles just those, and CMake
is re-run only when the set of files or what CMake reads at configure time changed
(metadata.json, the interface header and the Relay text, which utvm_add_model() reads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from utvm.mlf.constant_copies import without_constant_copies
from utvm.mlf.model import ModelLibrary

# The parts of an MLF the build uses. TVM's own runtime/ and templates/ are left out: the
# utvm module brings its own runtime.
STAGED_ENTRIES = ("metadata.json", "codegen", "executor-config", "parameters", "src")
# Read by utvm_add_model() while CMake configures: a change needs a new configure.
_CONFIGURE_INPUTS = ("metadata.json", "codegen/host/include/", "src/")


@dataclass
class StageReport:
    folder: Path
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed)

    @property
    def needs_configure(self) -> bool:
        """New or deleted files, or a file CMake reads while configuring, changed."""
        if self.added or self.removed:
            return True
        return any(name == _CONFIGURE_INPUTS[0] or name.startswith(_CONFIGURE_INPUTS[1:])
                   for name in self.changed)

    def describe(self) -> str:
        if self.unchanged:
            return "model unchanged"
        parts = []
        for label, names in (("new", self.added), ("changed", self.changed),
                             ("removed", self.removed)):
            if names:
                shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4
                                                else "")
                parts.append(f"{label}: {shown}")
        return "model files " + "; ".join(parts)


def stage_model(mlf: ModelLibrary, folder: Path) -> StageReport:
    """Make ``folder`` hold exactly the staged entries of ``mlf``; report what changed."""
    report = StageReport(folder)
    wanted = _files_of(mlf.root)
    folder.mkdir(parents=True, exist_ok=True)
    present = _files_of(folder)
    for name in sorted(set(present) - set(wanted)):
        present[name].unlink()
        report.removed.append(name)
    for name, source in sorted(wanted.items()):
        target = folder / name
        data = _staged_bytes(name, source)
        if name not in present:
            report.added.append(name)
        elif target.stat().st_size == len(data) and target.read_bytes() == data:
            continue  # same bytes: keep the old file and its time stamp
        else:
            report.changed.append(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    _remove_empty_folders(folder)
    return report


def _staged_bytes(name: str, source: Path) -> bytes:
    """The file as staged: generated C without TVM's unused second copy of the constants."""
    data = source.read_bytes()
    return without_constant_copies(data) if name.endswith(".c") else data


def _files_of(root: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for entry in STAGED_ENTRIES:
        path = root / entry
        if path.is_file():
            files[entry] = path
        elif path.is_dir():
            for child in path.rglob("*"):
                if child.is_file() and not child.is_symlink():
                    files[child.relative_to(root).as_posix()] = child
    return files


def _remove_empty_folders(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
