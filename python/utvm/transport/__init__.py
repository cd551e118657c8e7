"""Byte links to a board, one interface over serial ports, PTYs, subprocesses and sockets.

Every transport has ``open()``, ``close()``, ``read(n, timeout)``, ``write(data, timeout)``, a
``name`` used in messages, a ``hint`` saying what to check when it is silent, and the
session ``timeouts`` TVM uses for that kind of link. See ``utvm.transport.base``.
``FaultyTransport`` wraps any of them and damages bytes on purpose (tests, benchmarks).
"""

from utvm.transport.base import (
    SERIAL_TIMEOUTS,
    SIMULATOR_TIMEOUTS,
    Transport,
    TransportClosed,
    TransportTimeout,
    TransportTimeouts,
)
from utvm.transport.faulty import FaultyTransport
from utvm.transport.pty import PtyTransport
from utvm.transport.serial_port import SerialTransport
from utvm.transport.subprocess_stdio import SubprocessTransport
from utvm.transport.tcp import TcpTransport

__all__ = [
    "SERIAL_TIMEOUTS",
    "SIMULATOR_TIMEOUTS",
    "FaultyTransport",
    "PtyTransport",
    "SerialTransport",
    "SubprocessTransport",
    "TcpTransport",
    "Transport",
    "TransportClosed",
    "TransportTimeout",
    "TransportTimeouts",
]
