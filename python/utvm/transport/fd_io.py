"""Reading and writing non-blocking file descriptors (pipes, PTYs) with deadlines.

Every remote call goes through here twice, so each direction costs as few system calls and
as little Python as possible: a write is tried at once (a pipe or PTY nearly always has
room) and only waits when the link is full; a read waits with a ``poll`` object made once
per link (no fd_set building, unlike select) and then reads.
"""

from __future__ import annotations

import errno
import os
import select
import time

from utvm.transport.base import Transport, TransportClosed

# A PTY whose other side has closed reports EIO; a pipe whose reader exited reports EPIPE.
_GONE = (errno.EIO, errno.EPIPE, errno.EBADF, errno.ECONNRESET)
_READABLE = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR
_WRITABLE = select.POLLOUT | select.POLLHUP | select.POLLERR


def _poll_ms(deadline: float | None) -> int | None:
    """Milliseconds left until ``deadline`` for poll(), rounded up so that a short wait
    never turns into a busy loop (None: no limit)."""
    if deadline is None:
        return None
    return max(0, int((deadline - time.monotonic()) * 1000 + 0.999))


class FdChannel:
    """The two non-blocking file descriptors of a link (the same one for a PTY)."""

    def __init__(self, link: Transport, read_fd: int, write_fd: int) -> None:
        self.link, self.read_fd, self.write_fd = link, read_fd, write_fd
        self._readable = select.poll()
        self._readable.register(read_fd, _READABLE)
        self._writable = select.poll()
        self._writable.register(write_fd, _WRITABLE)

    def _closed(self, e: OSError) -> TransportClosed:
        return TransportClosed(f"{self.link.name} closed the link ({e.strerror})")

    def read(self, n: int, timeout: float | None) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._readable.poll(_poll_ms(deadline)):
                try:
                    data = os.read(self.read_fd, n)
                except BlockingIOError:
                    data = None  # woken up for nothing; wait again
                except OSError as e:
                    if e.errno in _GONE:
                        raise self._closed(e) from e
                    raise
                if data:
                    return data
                if data == b"":
                    raise TransportClosed(f"{self.link.name} closed the link (end of file)")
            if deadline is not None and time.monotonic() >= deadline:
                raise self.link.timeout_error("read", timeout)

    def write(self, data: bytes, timeout: float | None) -> None:
        view = memoryview(data)
        deadline: float | None = None
        waited = False
        while view:
            try:
                view = view[os.write(self.write_fd, view):]
                continue
            except BlockingIOError:
                pass  # the link is full: wait for room below
            except OSError as e:
                if e.errno in _GONE:
                    raise self._closed(e) from e
                raise
            if not waited:  # the clock starts only once a write has to wait
                waited = True
                deadline = None if timeout is None else time.monotonic() + timeout
            if not self._writable.poll(_poll_ms(deadline)) and deadline is not None \
                    and time.monotonic() >= deadline:
                sent = len(data) - len(view)
                raise self.link.timeout_error(f"write ({sent} of {len(data)} bytes sent)",
                                              timeout)
