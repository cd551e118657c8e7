"""A build's flash runners (``zephyr/runners.yaml``) and the probe serial number in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

# Options of Zephyr's runners that name the probe's or board's USB serial number.
SERIAL_NUMBER_OPTIONS = ("--dev-id", "--serial", "--snr", "--board-id", "--serial-number")


@dataclass(frozen=True)
class RunnersConfig:
    flash_runner: str | None
    runners: list[str] = field(default_factory=list)
    args: dict[str, list[str]] = field(default_factory=dict)

    def serial_number(self, runner: str | None = None) -> str | None:
        """The serial number the (flash) runner is told to use, if runners.yaml has one."""
        return serial_number_in(self.args.get(runner or self.flash_runner or "", []))


def read_runners(zephyr_dir: Path) -> RunnersConfig | None:
    path = zephyr_dir / "runners.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    args = {str(k): [str(a) for a in (v or [])] for k, v in (data.get("args") or {}).items()}
    return RunnersConfig(data.get("flash-runner"), [str(r) for r in data.get("runners") or []],
                         args)


def serial_number_in(args: list[str]) -> str | None:
    for index, arg in enumerate(args):
        for option in SERIAL_NUMBER_OPTIONS:
            if arg.startswith(option + "="):
                return arg.split("=", 1)[1]
            if arg == option and index + 1 < len(args):
                return args[index + 1]
    return None
