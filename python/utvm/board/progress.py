"""Progress of long steps (uploads, downloads) on stderr: one updating line on a terminal,
a few milestones otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

_MILESTONES = (25, 50, 75, 100)


class ByteProgress:
    """A callable(done, total) for utvm.rpc's copy progress."""

    def __init__(self, label: str, out: TextIO | None = None, min_bytes: int = 4096) -> None:
        self.label = label
        self.out = out if out is not None else sys.stderr
        self.min_bytes = min_bytes  # small copies are instant: say nothing
        self.interactive = getattr(self.out, "isatty", lambda: False)()
        self._reported = 0

    def __call__(self, done: int, total: int) -> None:
        if total < self.min_bytes or total <= 0:
            return
        percent = done * 100 // total
        if self.interactive:
            end = "\n" if done >= total else ""
            self.out.write(f"\r{self.label}: {_size(done)} of {_size(total)} ({percent}%){end}")
            self.out.flush()
            return
        while self._reported < len(_MILESTONES) and percent >= _MILESTONES[self._reported]:
            print(f"{self.label}: {_MILESTONES[self._reported]}% of {_size(total)}",
                  file=self.out, flush=True)
            self._reported += 1


def _size(count: int) -> str:
    return f"{count} B" if count < 1024 else f"{count / 1024:.1f} KiB"
