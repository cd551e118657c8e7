#!/usr/bin/env python3
"""RPC round trip and copy throughput over a pipe and a PTY, next to a raw echo (issue 3).

For each link, two peers run side by side in the same process structure:
  * raw: `cat` echoing bytes back, on the same kind of link as the board — on the far end
    of a pipe pair (like the pipe board), or holding the PTY master while we hold the raw
    slave (like the PTY board). That is the floor any protocol over the link pays;
  * utvm: our client talking to the host board (runtime + RPC server) over the link.
The two are measured in alternating rounds, so contention from other work on the machine
hits both; every figure printed is the median over the rounds, and every ratio is the
median of the per-round ratios. Both peers get the same CPU placement (--placement): by
default the client runs on one CPU and the peers on another, as a board runs beside its
host. Left to the scheduler, a round trip costs a context switch on one CPU or a wake-up
across two, and on a virtual machine those differ by 10x from run to run.

Printed: µs per empty remote call vs. µs per 1-byte echo, and MB/s of copies to and from
the device (each with its DevStreamSync, as TVM does; on these links the client sends the
sync right behind the copy's last chunk) for 1 KiB .. 1 MiB vs. MB/s of a raw echo of the
same size, with ratios and the issue's goals.

    python3 benchmarks/rpc_link.py [--quick] [--rounds N] [--placement split|same|free]
                                   [--json]

For scale (TVM 0.18's own host and server over a pipe, measured on this kind of machine):
203 µs per empty call and 1.1-2.5 MB/s copies, where a raw pipe echo takes 83 µs and
moves 459 MB/s. Goals: an empty call within 2x the raw echo, copies at 10x TVM's rate or
better (25 MB/s: 10x its best).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import statistics
import subprocess
import sys
import time
import tty
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = [1 << 10, 16 << 10, 256 << 10, 1 << 20]
TVM_EMPTY_CALL_US = 203.0
TVM_BEST_COPY_MBPS = 2.5
GOAL_CALL_RATIO = 2.0  # empty call / raw echo, at most
GOAL_COPY_MBPS = 10 * TVM_BEST_COPY_MBPS  # at least
MIN_BATCH_S = 0.02  # each timed batch lasts at least this long (small ops are repeated)


class EchoLink:
    """`cat` echoing everything back on a pipe pair or a PTY, mirroring the host board."""

    def __init__(self, kind: str) -> None:
        if kind == "pipe":
            self.proc = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         bufsize=0)
            self.wfd, self.rfd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        else:
            # Like the board: the echo holds the master, we hold the slave in raw mode.
            master, slave = os.openpty()
            tty.setraw(slave)
            self.proc = subprocess.Popen(["cat"], stdin=master, stdout=master, close_fds=True)
            os.close(master)
            self.wfd = self.rfd = slave
            self._slave = slave

    def round_trip(self) -> None:
        os.write(self.wfd, b"x")
        os.read(self.rfd, 1)

    def echo(self, data: bytes) -> None:
        """Streams `data` out and reads it back in one thread, writing as the link allows
        (a PTY holds only a few KiB in flight)."""
        view, left = memoryview(data), len(data)
        os.set_blocking(self.wfd, False)
        try:
            while left:
                want = select.POLLIN | (select.POLLOUT if view else 0)
                poller = select.poll()
                if self.wfd == self.rfd:
                    poller.register(self.rfd, want)
                else:
                    poller.register(self.rfd, select.POLLIN)
                    if view:
                        poller.register(self.wfd, select.POLLOUT)
                for fd, events in poller.poll():
                    if events & select.POLLOUT and view:
                        with contextlib.suppress(BlockingIOError):
                            view = view[os.write(self.wfd, view[:1 << 16]):]
                    if fd == self.rfd and events & (select.POLLIN | select.POLLHUP):
                        got = len(os.read(self.rfd, min(left, 1 << 16)))
                        if not got:
                            raise EOFError("the echo process closed the link")
                        left -= got
        finally:
            os.set_blocking(self.wfd, True)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        if self.wfd == self.rfd:
            os.close(self._slave)


class Board:
    """Our client and the host board (with the bundled model) over a link."""

    def __init__(self, kind: str) -> None:
        from utvm.host.board import start_host_board
        from utvm.mlf import open_mlf
        from utvm.rpc import RpcClient, Session

        with open_mlf(REPO / "samples" / "models" / "tiny_conv_f32" / "aot_packed") as mlf:
            self.link = start_host_board(mlf, kind)
        self.session = Session(self.link)
        self.session.start()
        self.client = RpcClient(self.session)
        # The lightest remote call there is: a global that only returns a number.
        self.func = self.client.global_func("tvm.rpc.server.GetCRTMaxPacketSize")
        self.max_packet = self.client.max_packet()
        self.tensors: dict[int, tuple[object, object]] = {}

    def round_trip(self) -> None:
        self.client.call(self.func)

    def prepare(self, size: int) -> None:
        import numpy as np

        tensor = self.client.empty((size,), np.uint8)
        data = np.frombuffer(os.urandom(size), dtype=np.uint8)
        self.client.copy_to(tensor, data)
        self.tensors[size] = (tensor, data)

    def to_device(self, size: int) -> None:
        tensor, data = self.tensors[size]
        self.client.copy_to(tensor, data)

    def from_device(self, size: int) -> None:
        tensor, data = self.tensors[size]
        back = self.client.copy_from(tensor)
        if back.tobytes() != data.tobytes():
            raise AssertionError("a copy from the device changed the data")

    def close(self) -> None:
        self.session.close()


def calibrate(fn: Callable[[], None]) -> int:
    """How many calls of `fn` make one batch of at least MIN_BATCH_S (after a warm-up)."""
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, int(MIN_BATCH_S / once) + 1)


def per_call(fn: Callable[[], None], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - start) / count


def interleaved(fns: dict[str, Callable[[], None]], rounds: int) -> dict[str, list[float]]:
    """Seconds per call of each fn, one batch of each per round, in turns."""
    counts = {name: calibrate(fn) for name, fn in fns.items()}
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(per_call(fn, counts[name]))
    return times


def median_ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def placed_peers(kind: str, placement: str) -> tuple[EchoLink, Board]:
    """Starts the echo and the board with the CPU placement asked for (see --placement)."""
    if placement == "free":
        return EchoLink(kind), Board(kind)
    cpus = sorted(os.sched_getaffinity(0))
    peer_cpu = cpus[-1]
    client_cpu = cpus[0] if placement == "split" else peer_cpu
    os.sched_setaffinity(0, {peer_cpu})  # children inherit it
    try:
        return EchoLink(kind), Board(kind)
    finally:
        os.sched_setaffinity(0, {client_cpu})


def placement_in_effect(asked: str) -> str:
    """Pinning needs sched_setaffinity (Linux); ``split`` needs two CPUs this process may use,
    with one everything shares it."""
    if not hasattr(os, "sched_setaffinity"):
        return "free"
    if asked == "split" and len(os.sched_getaffinity(0)) < 2:
        return "same"
    return asked


def measure(kind: str, rounds: int, placement: str) -> dict:
    echo, board = placed_peers(kind, placement)
    try:
        calls = interleaved({"raw": echo.round_trip, "utvm": board.round_trip}, rounds)
        result = {
            "max_packet": board.max_packet,
            "round_trip": {
                "raw_us": statistics.median(calls["raw"]) * 1e6,
                "utvm_us": statistics.median(calls["utvm"]) * 1e6,
                "ratio": median_ratio(calls["utvm"], calls["raw"]),
            },
            "copies": {},
        }
        for size in SIZES:
            board.prepare(size)
            data = os.urandom(size)
            t = interleaved({"raw": lambda d=data: echo.echo(d),
                             "to": lambda s=size: board.to_device(s),
                             "from": lambda s=size: board.from_device(s)},
                            rounds if size < SIZES[-1] else max(3, rounds // 2))
            mbps = {name: [size / s / 1e6 for s in values] for name, values in t.items()}
            result["copies"][size] = {
                "raw_MBps": statistics.median(mbps["raw"]),
                "to_MBps": statistics.median(mbps["to"]),
                "from_MBps": statistics.median(mbps["from"]),
                "to_ratio": median_ratio(mbps["to"], mbps["raw"]),
                "from_ratio": median_ratio(mbps["from"], mbps["raw"]),
            }
        return result
    finally:
        board.close()
        echo.close()


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


PLACEMENTS = {
    "split": "the client on one CPU, the echo and the board on another (a board beside a host)",
    "same": "client, echo and board all on one CPU (every round trip is two context switches)",
    "free": "wherever the scheduler puts them (figures then vary from run to run)",
}


def print_tables(results: dict, rounds: int, placement: str) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"utvm RPC link benchmark: medians of {rounds} interleaved rounds, "
          f"load average {load:.2f}, {os.cpu_count()} CPUs")
    print(f"placement: {placement}, {PLACEMENTS[placement]}")
    print(f"TVM 0.18 for scale (pipe): empty call {TVM_EMPTY_CALL_US:.0f} µs, copies "
          f"1.1-{TVM_BEST_COPY_MBPS} MB/s")
    for kind, r in results.items():
        rt = r["round_trip"]
        print(f"\n{kind} (max RPC packet {r['max_packet']} bytes)")
        print(f"  {'empty call':<14} {'raw echo µs':>12} {'utvm µs':>9} {'ratio':>7} "
              f"{'goal':>7}")
        print(f"  {'':<14} {rt['raw_us']:>12.1f} {rt['utvm_us']:>9.1f} {rt['ratio']:>7.2f} "
              f"{'<= ' + str(GOAL_CALL_RATIO):>7}  {verdict(rt['ratio'] <= GOAL_CALL_RATIO)}")
        print(f"  {'copy size':<14} {'raw MB/s':>12} {'to MB/s':>9} {'to/raw':>7} "
              f"{'from MB/s':>10} {'from/raw':>9}   goal >= {GOAL_COPY_MBPS:.0f} MB/s")
        for size, c in r["copies"].items():
            ok = min(c["to_MBps"], c["from_MBps"]) >= GOAL_COPY_MBPS
            # A copy is a round trip too: where a raw echo of the same size is slower than
            # the goal, no protocol over this link can reach it.
            bound = "" if ok or c["raw_MBps"] >= GOAL_COPY_MBPS else " (raw echo < goal)"
            print(f"  {size:<14} {c['raw_MBps']:>12.1f} {c['to_MBps']:>9.1f} "
                  f"{c['to_ratio']:>7.3f} {c['from_MBps']:>10.1f} {c['from_ratio']:>9.3f}   "
                  f"{verdict(ok)}{bound}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (5)")
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds (21)")
    parser.add_argument("--links", default="pipe,pty", help="comma-separated: pipe, pty")
    parser.add_argument("--placement", choices=sorted(PLACEMENTS), default="split",
                        help="where the processes run: " + "; ".join(
                            f"{k}: {v}" for k, v in PLACEMENTS.items()) + " (default: split)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args()
    rounds = 5 if args.quick else max(1, args.rounds)
    placement = placement_in_effect(args.placement)
    results = {kind: measure(kind, rounds, placement) for kind in args.links.split(",")}
    if args.json:
        print(json.dumps({"placement": placement, "links": results}, indent=2))
    else:
        print_tables(results, rounds, placement)
    return 0


if __name__ == "__main__":
    sys.exit(main())
