"""Reading and writing file descriptors with deadlines (pipes, PTYs)."""

from __future__ import annotations

import os
import select
import time

from utvm.transport.base import Transport, TransportClosed


def read_fd(transport: Transport, fd: int, max_bytes: int, timeout: float | None) -> bytes:
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        raise transport.timeout_error("read", timeout or 0)
    try:
        data = os.read(fd, max_bytes)
    except OSError as e:  # a PTY whose other side closed reports EIO
        raise TransportClosed(f"{transport.name} closed the link ({e.strerror})") from e
    if not data:
        raise TransportClosed(f"{transport.name} closed the link")
    return data


def write_fd(transport: Transport, fd: int, data: bytes, timeout: float | None) -> None:
    deadline = None if timeout is None else time.monotonic() + timeout
    view = memoryview(data)
    while view:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        _, ready, _ = select.select([], [fd], [], left)
        if not ready:
            raise transport.timeout_error("write", timeout or 0)
        try:
            view = view[os.write(fd, view):]
        except OSError as e:
            raise TransportClosed(f"{transport.name} closed the link ({e.strerror})") from e
