"""A real board's UART through pyserial (any URL it knows: /dev/ttyACM0, COM3, rfc2217://...)."""

from __future__ import annotations

import time
from typing import Any

from utvm.transport.base import SERIAL_TIMEOUTS, Transport, TransportClosed


class SerialTransport(Transport):
    timeouts = SERIAL_TIMEOUTS

    def __init__(self, port: str, baudrate: int = 115200, **serial_options: Any) -> None:
        self.port_name, self.baudrate, self.serial_options = port, baudrate, serial_options
        self.name = port
        self.hint = (f"is the board powered and connected, is {port} its UART (list ports with "
                     "`python -m serial.tools.list_ports`), is it flashed with the RPC server "
                     f"firmware, and does that firmware use {baudrate} baud?")
        self.port: Any = None

    def _open(self) -> None:
        import serial  # pyserial, imported here so the package works without it

        self._serial = serial
        try:
            self.port = serial.serial_for_url(self.port_name, baudrate=self.baudrate,
                                              timeout=0, write_timeout=None,
                                              **self.serial_options)
        except (serial.SerialException, ValueError, OSError) as e:
            raise TransportClosed(f"cannot open serial port {self.port_name}: {e}. Is the "
                                  "board plugged in, is this the right port (see `python -m "
                                  "serial.tools.list_ports`), and is no other program (a "
                                  "serial console?) holding it?") from e

    def _close(self) -> None:
        port, self.port = self.port, None
        port.close()

    def _gone(self, e: Exception) -> TransportClosed:
        return TransportClosed(f"{self.name} failed ({e}): was the board unplugged or reset?")

    def _read(self, n: int, timeout: float | None) -> bytes:
        try:
            self.port.timeout = timeout
            first = self.port.read(1)
            if not first:
                raise self.timeout_error("read", timeout)
            # Then whatever else is already there, without waiting.
            waiting = min(n - 1, self.port.in_waiting)
            return first + (self.port.read(waiting) if waiting else b"")
        except self._serial.SerialException as e:
            raise self._gone(e) from e

    def _write(self, data: bytes, timeout: float | None) -> None:
        start = time.monotonic()
        try:
            self.port.write_timeout = timeout
            self.port.write(data)
            self.port.flush()
        except self._serial.SerialTimeoutException as e:
            raise self.timeout_error(f"write ({len(data)} bytes)",
                                     time.monotonic() - start) from e
        except self._serial.SerialException as e:
            raise self._gone(e) from e
