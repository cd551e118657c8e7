"""Byte links to a board: one interface over serial ports, PTYs, subprocesses and sockets."""

from utvm.transport.base import Transport, TransportClosed, TransportTimeout
from utvm.transport.pty import PtyTransport
from utvm.transport.serial_port import SerialTransport
from utvm.transport.subprocess_stdio import SubprocessTransport
from utvm.transport.tcp import TcpTransport

__all__ = [
    "PtyTransport",
    "SerialTransport",
    "SubprocessTransport",
    "TcpTransport",
    "Transport",
    "TransportClosed",
    "TransportTimeout",
]
