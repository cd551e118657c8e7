"""A board that is a local process speaking the protocol on its stdin/stdout (the host board)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from utvm.device_text import printable
from utvm.transport.base import SIMULATOR_TIMEOUTS, Transport, TransportClosed
from utvm.transport.fd_io import FdChannel

_STDERR_KEEP = 16384  # bytes of the process's stderr kept for error messages


class SubprocessTransport(Transport):
    """Starts ``argv`` on open; its stdin/stdout are the link, its stderr is kept for errors."""

    timeouts = SIMULATOR_TIMEOUTS
    buffers_requests = True  # the kernel's buffer; the board reads it when ready

    def __init__(self, argv: Sequence[str | os.PathLike[str]], cwd: str | Path | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        if not argv:
            raise ValueError("argv must name the program to start")
        self.argv = [str(a) for a in argv]
        self.cwd, self.env = cwd, env
        self.name = Path(self.argv[0]).name
        self.hint = "did the board process exit or crash? (its stderr is in the error message)"
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr = bytearray()
        self._stderr_lock = threading.Lock()
        self._stderr_thread: threading.Thread | None = None
        self._channel: FdChannel | None = None

    def _open(self) -> None:
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, cwd=self.cwd, env=self.env,
                                         bufsize=0)
        except OSError as e:
            raise TransportClosed(f"cannot start {self.argv[0]}: {e.strerror or e}. Was it "
                                  "built, and is the path right?") from e
        self.name = f"{Path(self.argv[0]).name} (pid {self.proc.pid})"
        os.set_blocking(self.proc.stdin.fileno(), False)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self._channel = FdChannel(self, self.proc.stdout.fileno(), self.proc.stdin.fileno())
        # Drained in the background so a chatty process never blocks on a full stderr pipe.
        self._stderr_thread = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_thread.start()

    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read(4096), b""):
            with self._stderr_lock:
                self._stderr += chunk
                del self._stderr[:-_STDERR_KEEP]

    def stderr_text(self) -> str:
        """What the process wrote on stderr so far (the last 16 KiB)."""
        with self._stderr_lock:
            return self._stderr.decode(errors="replace")

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def _gone(self, error: TransportClosed) -> TransportClosed:
        """``error`` completed with the exit status and stderr tail, which say why."""
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.5)
        status = self.returncode
        if self._stderr_thread is not None and status is not None:
            self._stderr_thread.join(timeout=0.5)
        detail = "still running" if status is None else f"exit status {status}"
        tail = printable(self.stderr_text().strip()[-2000:], multiline=True)
        return TransportClosed(f"{error} [{detail}]" + (f"; its stderr:\n{tail}" if tail else ""))

    def _read(self, n: int, timeout: float | None) -> bytes:
        try:
            return self._channel.read(n, timeout)
        except TransportClosed as e:
            raise self._gone(e) from e

    def _write(self, data: bytes, timeout: float | None) -> None:
        try:
            self._channel.write(data, timeout)
        except TransportClosed as e:
            raise self._gone(e) from e

    def _close(self) -> None:
        """Closes stdin (the board's cue to exit), then waits; kills it if it lingers.
        ``proc`` stays, for its ``returncode``."""
        proc = self.proc
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=1)
        if proc.stderr is not None:
            proc.stderr.close()
