"""A link that damages bytes on purpose: flips, drops and duplicates at a given rate.

``FaultyTransport(inner, rate, seed=...)`` wraps any transport. Each byte, in either
direction, is hit with probability ``rate``; a hit flips one bit, drops the byte or sends it
twice (one of ``kinds``, chosen at random). Everything comes from one seeded generator per
direction, so a seed replays the same damage to the same bytes: tests and
``benchmarks/noisy_link.py`` share it to reproduce what a flaky USB-serial link does.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from utvm.transport.base import Transport, TransportTimeouts

FAULT_KINDS = ("flip", "drop", "duplicate")


@dataclass
class FaultCounts:
    """What one direction of the link did to the bytes that passed."""

    bytes: int = 0
    flip: int = 0
    drop: int = 0
    duplicate: int = 0

    @property
    def faults(self) -> int:
        return self.flip + self.drop + self.duplicate


@dataclass
class _Direction:
    """The damage of one direction: its own generator, and bytes left until the next hit."""

    rng: random.Random
    kinds: tuple[str, ...]
    enabled: bool
    rate: float = 0.0
    counts: FaultCounts = field(default_factory=FaultCounts)
    until_fault: int = -1  # -1: never

    def gap(self) -> int:
        """Bytes that pass untouched before the next hit: geometric, so each byte is hit
        with probability ``rate`` without drawing a number per byte."""
        if self.rate <= 0:
            return -1  # never
        if self.rate >= 1:
            return 0
        return int(math.log(1.0 - self.rng.random()) / math.log(1.0 - self.rate))

    def apply(self, data: bytes) -> bytes:
        self.counts.bytes += len(data)
        if self.until_fault < 0 or self.until_fault >= len(data):
            if self.until_fault > 0:
                self.until_fault -= len(data)
            return data
        out = bytearray()
        start = 0
        position = self.until_fault
        while 0 <= position < len(data):
            out += data[start:position]
            byte = data[position]
            kind = self.kinds[self.rng.randrange(len(self.kinds))]
            if kind == "flip":
                out.append(byte ^ (1 << self.rng.randrange(8)))
            elif kind == "duplicate":
                out += bytes((byte, byte))
            setattr(self.counts, kind, getattr(self.counts, kind) + 1)
            start = position + 1
            gap = self.gap()
            position = -1 if gap < 0 else start + gap
        out += data[start:]
        self.until_fault = -1 if position < 0 else position - len(data)
        return bytes(out)


class FaultyTransport(Transport):
    """``inner`` with damage: each byte hit with probability ``rate`` (see the module doc).

    ``seed`` makes the damage reproducible; ``directions`` limits it to ``"to_board"`` or
    ``"from_board"``. ``counts`` reports what was done, per direction.

    Requests are not pipelined over it (``buffers_requests`` is False, as on a real serial
    link): were a reply lost without trace, the next reply would be taken for it.
    """

    buffers_requests = False

    def __init__(self, inner: Transport, rate: float, seed: int = 0,
                 kinds: tuple[str, ...] = FAULT_KINDS,
                 directions: tuple[str, ...] = ("to_board", "from_board")) -> None:
        unknown = set(kinds) - set(FAULT_KINDS)
        if not kinds or unknown:
            raise ValueError(f"fault kinds are {', '.join(FAULT_KINDS)}; got {kinds}")
        self.inner, self.seed = inner, seed
        self.hint = inner.hint
        self.timeouts: TransportTimeouts = inner.timeouts
        # Independent generators, so the damage one way does not shift the other's.
        self._to_board = _Direction(random.Random(f"{seed}/to_board"), tuple(kinds),
                                    "to_board" in directions)
        self._from_board = _Direction(random.Random(f"{seed}/from_board"), tuple(kinds),
                                      "from_board" in directions)
        self.rate = rate

    @property
    def name(self) -> str:  # type: ignore[override]  # the inner link's, which may change
        return self.inner.name

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, rate: float) -> None:
        """A new rate from the next byte on (e.g. a clean handshake, then noise)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"a fault rate is a probability per byte, not {rate}")
        self._rate = rate
        for direction in (self._to_board, self._from_board):
            if direction.enabled:
                direction.rate = rate
                direction.until_fault = direction.gap()

    @property
    def counts(self) -> dict[str, FaultCounts]:
        return {"to_board": self._to_board.counts, "from_board": self._from_board.counts}

    def _open(self) -> None:
        self.inner.open()

    def _close(self) -> None:
        self.inner.close()

    def _read(self, n: int, timeout: float | None) -> bytes:
        while True:
            data = self._from_board.apply(self.inner.read(n, timeout))
            if data:  # all of it dropped: read on, as a UART would simply see less
                return data

    def _write(self, data: bytes, timeout: float | None) -> None:
        damaged = self._to_board.apply(data)
        if damaged:
            self.inner.write(damaged, timeout)
