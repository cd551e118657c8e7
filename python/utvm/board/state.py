"""utvm's small records inside a build directory (``<build>/utvm/<name>.json``).

`west utvm build` records the app and the model, `west utvm flash` the probe it used and the
simulated board it started, so that `west utvm run` later finds all of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BUILD_RECORD = "build"
FLASH_RECORD = "flash"
SIMULATOR_RECORD = "simulator"


def record_path(state_dir: Path, name: str) -> Path:
    return state_dir / f"{name}.json"


def read_record(state_dir: Path, name: str) -> dict[str, Any] | None:
    try:
        data = json.loads(record_path(state_dir, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_record(state_dir: Path, name: str, data: dict[str, Any]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = record_path(state_dir, name)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    partial.replace(path)


def remove_record(state_dir: Path, name: str) -> None:
    record_path(state_dir, name).unlink(missing_ok=True)
