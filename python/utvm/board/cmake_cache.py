"""Read a CMakeCache.txt: ``NAME:TYPE=VALUE`` lines, comments skipped."""

from __future__ import annotations

import re
from pathlib import Path

_ENTRY = re.compile(r'^(?:"(?P<quoted>[^"]+)"|(?P<name>[^:=\s]+)):(?P<type>[^=]*)=(?P<value>.*)$')


def read_cmake_cache(path: Path) -> dict[str, str]:
    """Every entry of the cache at ``path`` (name -> value); {} when the file is missing."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    entries: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith(("#", "//")):
            continue
        match = _ENTRY.match(line)
        if match:
            entries[match["quoted"] or match["name"]] = match["value"]
    return entries


def cmake_list(value: str | None) -> list[str]:
    """A CMake list (``a;b;c``) as Python strings; empty items dropped."""
    return [item for item in (value or "").split(";") if item]
