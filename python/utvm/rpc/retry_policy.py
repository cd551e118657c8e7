"""How hard the client tries on a noisy link, and what it has tried so far.

Two levels (``utvm.rpc.recovery`` has the outer one):

* a request whose reply is lost (a frame that fails its CRC check, or, for requests on the
  ordinary reply timeout, silence) is sent again on the same session, after the link has gone
  quiet: up to ``resends`` times in a row. The device objects stay, so the work goes on from
  the last request that was answered. What the host asks of a board is safe to repeat
  (copies, lookups, runs); a repeated free that the device already did is not an error.
* when that does not help, or the device reset the session, a new session is opened and the
  whole run is done again: up to ``restarts`` times.

After ``shrink_after`` failures in a row, copies use packets half as large (down to
``smallest_packet``): on a noisy link a smaller packet is less likely to be hit. ``budget``
bounds all resends and restarts together, so a hopeless link ends with a clear error after a
bounded number of tries. Each one is reported in one line through ``report``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from utvm.rpc.errors import DamagedReply, SessionReset
from utvm.transport.base import TransportTimeout

FIRST_SHRINK = 1024  # copies start shrinking from at most this (the device may take far more)


def _stderr_line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RetryPolicy:
    resends: int = 4  # a request sent again this many times in a row at most
    restarts: int = 3  # new sessions (the whole run again) at most
    shrink_after: int = 2  # failures in a row before copies use smaller packets
    # Copies never go below this: each packet also carries ~70 bytes of headers, and more
    # packets mean more chances of a hit (at 1e-3 per byte, 256-512 bytes do best).
    smallest_packet: int = 256
    budget: int = 60  # resends and restarts together, per run
    quiet_seconds: float = 0.05  # silence that ends the draining of a lost reply

    def __post_init__(self) -> None:
        if min(self.resends, self.restarts, self.shrink_after, self.budget) < 0:
            raise ValueError("retry counts cannot be negative")


@dataclass
class RetryState:
    """A policy in use: counts, the copy packet limit, and where lines go."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    report: Callable[[str], None] = _stderr_line
    resends: int = 0
    restarts: int = 0
    failures_in_a_row: int = 0
    copy_packet_limit: int | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def used(self) -> int:
        return self.resends + self.restarts

    @property
    def exhausted(self) -> bool:
        return self.used >= self.policy.budget

    def succeeded(self) -> None:
        self.failures_in_a_row = 0

    def failed(self, device_max_packet: int | None) -> str:
        """Counts a failure; lowers the copy packet limit if they keep coming. Returns a
        note on the new limit for the report line ("" if unchanged)."""
        self.failures_in_a_row += 1
        if device_max_packet is not None and device_max_packet >= 1 << 31:
            device_max_packet = None  # a device without a limit (TVM's answer: 2**64 - 1)
        if self.failures_in_a_row < self.policy.shrink_after:
            return ""
        current = self.copy_packet_limit or min(device_max_packet or FIRST_SHRINK, FIRST_SHRINK)
        smaller = max(self.policy.smallest_packet, current // 2)
        if self.copy_packet_limit is not None and smaller >= self.copy_packet_limit:
            return ""
        self.copy_packet_limit = smaller
        return f", copies now in packets of {smaller} bytes"

    def say(self, line: str) -> None:
        self.lines.append(line)
        self.report(line)


def failure_name(error: BaseException) -> str:
    """What went wrong, in the few words of a report line."""
    if isinstance(error, DamagedReply):
        return "CRC error"
    if isinstance(error, SessionReset):
        return "session reset by the board"
    if isinstance(error, TransportTimeout):
        return "timeout"
    return "session lost"
