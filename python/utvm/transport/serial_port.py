"""A real UART through pyserial (any URL pyserial knows: /dev/ttyACM0, COM3, rfc2217://...)."""

from __future__ import annotations

import time

from utvm.transport.base import Transport, TransportClosed


class SerialTransport(Transport):
    def __init__(self, port: str, baudrate: int = 115200) -> None:
        import serial  # pyserial; imported here so the package works without a UART

        try:
            self.port = serial.serial_for_url(port, baudrate=baudrate, timeout=0)
        except (serial.SerialException, ValueError) as e:
            raise TransportClosed(f"cannot open serial port {port}: {e}. Is the board plugged "
                                  "in, and is it the right port (see `python -m serial.tools."
                                  "list_ports`)?") from e
        self._serial = serial
        self.name = port
        self.hint = (f"is the board powered and flashed with the RPC server, and is {port} at "
                     f"{baudrate} baud its UART?")

    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        self.port.timeout = timeout
        try:
            first = self.port.read(1)
            if not first:
                raise self.timeout_error("read", timeout or 0)
            self.port.timeout = 0
            return first + self.port.read(max(0, max_bytes - 1))
        except self._serial.SerialException as e:
            raise TransportClosed(f"{self.name} went away ({e}): was the board unplugged?") from e

    def write(self, data: bytes, timeout: float | None) -> None:
        self.port.write_timeout = timeout
        start = time.monotonic()
        try:
            self.port.write(data)
            self.port.flush()
        except self._serial.SerialTimeoutException as e:
            raise self.timeout_error("write", time.monotonic() - start) from e
        except self._serial.SerialException as e:
            raise TransportClosed(f"{self.name} went away ({e}): was the board unplugged?") from e

    def close(self) -> None:
        if self.port.is_open:
            self.port.close()
