"""Find a board's serial port: by the probe's serial number (west flash --dev-id), or the
only USB serial port there is. Uses pyserial's port list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from utvm.errors import UtvmError

PortLister = Callable[[], Sequence[Any]]


@dataclass(frozen=True)
class PortChoice:
    device: str
    reason: str  # for the user: why this port


def list_serial_ports() -> list[Any]:
    from serial.tools import list_ports  # pyserial

    return list(list_ports.comports())


def describe_port(port: Any) -> str:
    parts = [port.device]
    if getattr(port, "serial_number", None):
        parts.append(f"serial number {port.serial_number}")
    description = getattr(port, "description", None)
    if description and description != "n/a" and description != port.device:
        parts.append(description)
    return ", ".join(parts)


def _same_serial(a: str, b: str) -> bool:
    """Probes print their serial number with or without leading zeros, in either case."""
    a, b = a.strip().lower(), b.strip().lower()
    return a == b or (a.lstrip("0") == b.lstrip("0") and a.lstrip("0") != "")


def find_port(dev_id: str | None, lister: PortLister = list_serial_ports,
              dev_id_origin: str = "--dev-id") -> PortChoice:
    """The serial port of the board; UtvmError listing what is there when it is unclear."""
    ports = sorted(lister(), key=lambda p: (getattr(p, "location", None) or "", p.device))
    usb_ports = [p for p in ports if getattr(p, "vid", None) is not None]
    listing = "\n".join(f"  {describe_port(p)}" for p in ports) or "  (none)"
    if dev_id:
        matches = [p for p in ports if getattr(p, "serial_number", None)
                   and _same_serial(p.serial_number, dev_id)]
        if not matches:
            raise UtvmError(
                f"no serial port belongs to the board with serial number {dev_id} (from "
                f"{dev_id_origin}). Is it plugged in? Serial ports now:\n{listing}\n"
                "Give the port with --port if the board's UART is not on its probe's USB.")
        chosen = matches[0]
        note = "" if len(matches) == 1 else (
            f"; it has {len(matches)} ports ({', '.join(p.device for p in matches)}), using the "
            "first — give --port to pick another")
        return PortChoice(chosen.device, f"serial number {dev_id} from {dev_id_origin}{note}")
    if len(usb_ports) == 1:
        return PortChoice(usb_ports[0].device,
                          f"the only USB serial port ({describe_port(usb_ports[0])})")
    if not usb_ports:
        raise UtvmError("no USB serial port found: is the board plugged in and powered? Give "
                        f"its port with --port. Serial ports now:\n{listing}")
    raise UtvmError("several USB serial ports are present; say which is the board with --port "
                    f"PORT, or --dev-id SERIAL_NUMBER (as for west flash):\n{listing}")
