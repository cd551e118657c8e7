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
_STREAMING = 1024  # a read at least this big suggests a bulk transfer is under way


class FdChannel:
    """The two non-blocking file descriptors of a link (the same one for a PTY)."""

    def __init__(self, link: Transport, read_fd: int, write_fd: int) -> None:
        self.link, self.read_fd, self.write_fd = link, read_fd, write_fd
        self._readable = select.poll()
        self._readable.register(read_fd, _READABLE)
        self._writable = select.poll()
        self._writable.register(write_fd, _WRITABLE)
        self._streaming = False

    def _closed(self, e: OSError) -> TransportClosed:
        return TransportClosed(f"{self.link.name} closed the link ({e.strerror})")

    def read(self, n: int, timeout: float | None) -> bytes:
        if self._streaming:
            # Mid-stream (the last read was a big one), more is usually waiting already: a
            # PTY hands over at most 4 KiB per read, so skipping the poll saves a system
            # call per 4 KiB. A small reply (a round trip) polls first instead.
            try:
                data = os.read(self.read_fd, n)
            except (BlockingIOError, OSError):
                data = None  # nothing yet (or an error, which the path below reports)
            if data:
                self._streaming = len(data) >= _STREAMING
                return data
        start = time.monotonic()
        wait_ms = None if timeout is None else int(timeout * 1000 + 0.999)
        while True:
            if self._readable.poll(wait_ms):
                try:
                    data = os.read(self.read_fd, n)
                except BlockingIOError:
                    data = None  # woken up for nothing; wait again
                except OSError as e:
                    if e.errno in _GONE:
                        raise self._closed(e) from e
                    raise
                if data:
                    self._streaming = len(data) >= _STREAMING
                    return data
                if data == b"":
                    raise TransportClosed(f"{self.link.name} closed the link (end of file)")
            if timeout is not None:
                left = start + timeout - time.monotonic()
                if left <= 0:
                    raise self.link.timeout_error("read", timeout)
                # poll takes whole milliseconds: round up, so a short wait never busy-loops.
                wait_ms = int(left * 1000 + 0.999)

    def write(self, data: bytes, timeout: float | None) -> None:
        try:
            sent = os.write(self.write_fd, data)
        except BlockingIOError:
            sent = 0
        except OSError as e:
            if e.errno in _GONE:
                raise self._closed(e) from e
            raise
        if sent < len(data):  # the link is full: wait for room for the rest
            self._write_rest(memoryview(data)[sent:], len(data), timeout)

    def _write_rest(self, view: memoryview, total: int, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while view:
            wait_ms = None if deadline is None else \
                max(0, int((deadline - time.monotonic()) * 1000 + 0.999))
            if self._writable.poll(wait_ms):
                try:
                    view = view[os.write(self.write_fd, view):]
                    continue
                except BlockingIOError:
                    pass
                except OSError as e:
                    if e.errno in _GONE:
                        raise self._closed(e) from e
                    raise
            if deadline is not None and time.monotonic() >= deadline:
                raise self.link.timeout_error(
                    f"write ({total - len(view)} of {total} bytes sent)", timeout)
