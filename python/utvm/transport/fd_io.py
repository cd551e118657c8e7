"""Reading and writing non-blocking file descriptors (pipes, PTYs) with deadlines."""

from __future__ import annotations

import errno
import os
import select
import time

from utvm.transport.base import Transport, TransportClosed

# A PTY whose other side has closed reports EIO; a pipe whose reader exited reports EPIPE.
_GONE = (errno.EIO, errno.EPIPE, errno.EBADF, errno.ECONNRESET)


def read_fd(link: Transport, fd: int, n: int, timeout: float | None) -> bytes:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                data = os.read(fd, n)
            except BlockingIOError:
                data = None  # woken up for nothing; wait again
            except OSError as e:
                if e.errno in _GONE:
                    raise TransportClosed(f"{link.name} closed the link ({e.strerror})") from e
                raise
            if data == b"":
                raise TransportClosed(f"{link.name} closed the link (end of file)")
            if data:
                return data
        if deadline is not None and time.monotonic() >= deadline:
            raise link.timeout_error("read", timeout)


def write_fd(link: Transport, fd: int, data: bytes, timeout: float | None) -> None:
    deadline = None if timeout is None else time.monotonic() + timeout
    view = memoryview(data)
    while view:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        _, ready, _ = select.select([], [fd], [], left)
        if ready:
            try:
                view = view[os.write(fd, view):]
                continue
            except BlockingIOError:
                pass
            except OSError as e:
                if e.errno in _GONE:
                    raise TransportClosed(f"{link.name} closed the link ({e.strerror})") from e
                raise
        if deadline is not None and time.monotonic() >= deadline:
            sent = len(data) - len(view)
            raise link.timeout_error(f"write ({sent} of {len(data)} bytes sent)", timeout)
