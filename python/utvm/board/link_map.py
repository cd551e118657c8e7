"""Which source file each input section of a Zephyr image came from, via the GNU linker map
(``zephyr/<kernel>.map``) and the build's ``compile_commands.json``.

Symbols miss some bytes — string literals, switch tables, code without debug information —
and the linker map places every input section, so footprint uses it for those bytes. A map
line names an object (``app/libapp.a(main.c.obj)`` or a path); compile_commands.json says
which source file CMake compiled into that object.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

_ONE_LINE = re.compile(r"^ (\S+)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
_NAME_ONLY = re.compile(r"^ (\S+)$")
_CONTINUED = re.compile(r"^\s{2,}0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
_OUTPUT_SECTION = re.compile(r"^(\S+)(?:\s+0x[0-9a-fA-F]+)?")
_ARCHIVE_MEMBER = re.compile(r"^(.*)\((.+)\)$")
_LIBRARY = re.compile(r"^lib(.+)\.a$")


@dataclass(frozen=True)
class InputSection:
    start: int
    size: int
    obj: str  # as the map names it


def read_link_map(path: Path, output_sections: set[str]) -> list[InputSection]:
    """Input sections placed in the named (allocated) output sections, by address."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    try:
        lines = lines[lines.index("Linker script and memory map") + 1:]
    except ValueError:
        return []
    found: list[InputSection] = []
    current: str | None = None
    pending_name = False
    for line in lines:
        if line and not line[0].isspace():
            match = _OUTPUT_SECTION.match(line)
            current = match.group(1) if match else None
            pending_name = False
            continue
        if current not in output_sections:
            continue
        if pending_name:
            pending_name = False
            continued = _CONTINUED.match(line)
            if continued:
                _add(found, int(continued[1], 16), int(continued[2], 16), continued[3])
            continue
        one = _ONE_LINE.match(line)
        if one:
            if not one[1].startswith("*"):
                _add(found, int(one[2], 16), int(one[3], 16), one[4])
            continue
        name_only = _NAME_ONLY.match(line)
        pending_name = bool(name_only) and not name_only[1].startswith("*")
    found.sort(key=lambda s: s.start)
    return found


def _add(found: list[InputSection], start: int, size: int, obj: str) -> None:
    if size > 0 and "size before relaxing" not in obj:
        found.append(InputSection(start, size, obj.strip()))


class ObjectSources:
    """Object file (as a map names it) -> the source file it was compiled from."""

    def __init__(self, build_dir: Path) -> None:
        self.build_dir = build_dir
        self._by_output: dict[str, str] = {}
        self._by_target_member: dict[tuple[str, str], str] = {}
        self._by_library_member: dict[tuple[str, str], set[str]] = {}
        try:
            entries = json.loads((build_dir / "compile_commands.json").read_text())
        except (OSError, ValueError):
            entries = []
        for entry in entries if isinstance(entries, list) else []:
            output = entry.get("output") or _output_of(entry.get("command") or
                                                       entry.get("arguments") or "")
            source = entry.get("file")
            if not output or not source:
                continue
            directory = entry.get("directory") or str(build_dir)
            source = os.path.normpath(os.path.join(directory, source))
            relative = os.path.normpath(os.path.relpath(os.path.join(directory, output),
                                                        build_dir))
            self._by_output[relative] = source
            marker = relative.find("CMakeFiles" + os.sep)
            if marker >= 0:
                target_dir = relative[:marker + len("CMakeFiles") + 1]
                target = relative[len(target_dir):].split(os.sep, 1)[0]
                key = (os.path.join(target_dir, target), os.path.basename(relative))
                self._by_target_member[key] = source
                # Archives need not sit beside their objects (the app's libapp.a is in app/,
                # its objects in CMakeFiles/app.dir/): also index by target name alone.
                by_name = (target.removesuffix(".dir"), key[1])
                self._by_library_member.setdefault(by_name, set()).add(source)

    def source_of(self, obj: str) -> str | None:
        member = _ARCHIVE_MEMBER.match(obj)
        if member is None:
            relative = os.path.normpath(os.path.relpath(os.path.join(self.build_dir, obj),
                                                        self.build_dir))
            return self._by_output.get(relative) or (obj if os.path.isabs(obj) else None)
        archive, name = member[1], member[2]
        library = _LIBRARY.match(os.path.basename(archive))
        if library is not None and not os.path.isabs(archive):
            key = (os.path.join(os.path.dirname(archive), "CMakeFiles", f"{library[1]}.dir"),
                   name)
            found = self._by_target_member.get((os.path.normpath(key[0]), name))
            if found:
                return found
            candidates = self._by_library_member.get((library[1], name), set())
            if len(candidates) == 1:
                return next(iter(candidates))
        return archive if os.path.isabs(archive) else None  # a toolchain library


_OUTPUT_OPTION = re.compile(r"(?:^|\s)-o\s*(\S+)")


def _output_of(command: str | list[str]) -> str | None:
    if isinstance(command, list):
        for index, word in enumerate(command):
            if word == "-o" and index + 1 < len(command):
                return command[index + 1]
        return None
    match = _OUTPUT_OPTION.search(command)  # paths CMake writes need no shell unquoting
    return match.group(1) if match else None
