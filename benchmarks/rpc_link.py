#!/usr/bin/env python3
"""RPC round trip and copy throughput over a pipe and a PTY, next to a raw echo.

For each link (a pipe to a child process, a pseudo-terminal), measured in the same run:
  * raw: `cat` echoing bytes back — the floor any protocol over that link pays;
  * utvm: our client talking to the host board (runtime + RPC server) over the same link.
Printed: µs per empty remote call vs. µs per 1-byte echo, and MB/s of copies to and from
the device for 1 KiB .. 1 MiB vs. MB/s of a raw echo of the same size, with ratios.

    python3 benchmarks/rpc_link.py [--quick] [--json]

For scale (TVM 0.18's own host and server over a pipe, measured on this kind of machine):
203 µs per empty call and 1.1-2.5 MB/s copies, where a raw pipe echo takes 83 µs and
moves 459 MB/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = [1 << 10, 16 << 10, 256 << 10, 1 << 20]


class EchoLink:
    """A `cat` child on a pipe or a PTY, read and written through raw file descriptors."""

    def __init__(self, kind: str) -> None:
        if kind == "pipe":
            self.proc = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         bufsize=0)
            self.wfd, self.rfd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        else:
            master, slave = os.openpty()
            tty.setraw(slave)
            self.proc = subprocess.Popen(["cat"], stdin=slave, stdout=slave, close_fds=True)
            os.close(slave)
            self.wfd = self.rfd = master

    def write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.wfd, view):]

    def read_exactly(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            chunk = os.read(self.rfd, min(n - got, 1 << 16))
            if not chunk:
                raise EOFError("echo process closed the link")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def best_of(fn: Callable[[], float], tries: int = 3) -> float:
    return min(fn() for _ in range(tries))


def raw_round_trip(link: EchoLink, count: int) -> float:
    def once() -> float:
        start = time.perf_counter()
        for _ in range(count):
            link.write_all(b"x")
            link.read_exactly(1)
        return (time.perf_counter() - start) / count
    return best_of(once)


def raw_throughput(link: EchoLink, size: int) -> float:
    # PTYs hold about 4 KiB in flight: write in a thread while reading back.
    data = os.urandom(size)

    def once() -> float:
        start = time.perf_counter()
        writer = threading.Thread(target=link.write_all, args=(data,))
        writer.start()
        link.read_exactly(size)
        writer.join()
        return size / (time.perf_counter() - start)
    return max(once() for _ in range(3))


def measure_raw(kind: str, quick: bool) -> dict:
    link = EchoLink(kind)
    try:
        return {"round_trip_s": raw_round_trip(link, 200 if quick else 2000),
                "throughput_Bps": {s: raw_throughput(link, s) for s in SIZES}}
    finally:
        link.close()


def measure_utvm(kind: str, quick: bool) -> dict:
    """Our client and the host board (with the bundled model) over the same kind of link."""
    import numpy as np
    from utvm.host.board import start_host_board
    from utvm.mlf import open_mlf
    from utvm.rpc import RpcClient, Session

    with open_mlf(REPO / "samples" / "models" / "tiny_conv_f32") as mlf, \
            start_host_board(mlf, kind) as link:
        session = Session(link)
        session.start()
        client = RpcClient(session)
        # The lightest remote call there is: a global that only returns a number.
        func = client.global_func("tvm.rpc.server.GetCRTMaxPacketSize")
        calls = 200 if quick else 2000

        def call_once() -> float:
            start = time.perf_counter()
            for _ in range(calls):
                client.call(func)
            return (time.perf_counter() - start) / calls

        result = {"round_trip_s": best_of(call_once), "to_device_Bps": {},
                  "from_device_Bps": {}, "max_packet": client.max_packet()}
        for size in SIZES:
            tensor = client.empty((size,), np.uint8)
            data = np.frombuffer(os.urandom(size), dtype=np.uint8)

            def to_device() -> float:
                start = time.perf_counter()
                client.copy_to(tensor, data)
                return time.perf_counter() - start

            def from_device() -> float:
                start = time.perf_counter()
                back = client.copy_from(tensor)
                elapsed = time.perf_counter() - start
                assert np.array_equal(back, data), "copy from the device changed the data"
                return elapsed

            result["to_device_Bps"][size] = size / best_of(to_device)
            result["from_device_Bps"][size] = size / best_of(from_device)
            client.free_data(tensor)
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args()
    results = {}
    for kind in ("pipe", "pty"):
        results[kind] = {"raw": measure_raw(kind, args.quick), "utvm": measure_utvm(kind, args.quick)}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for kind, r in results.items():
        raw, ours = r["raw"], r["utvm"]
        print(f"\n{kind}: round trip")
        print(f"  raw 1-byte echo   {raw['round_trip_s'] * 1e6:9.1f} µs")
        if ours:
            ratio = ours["round_trip_s"] / raw["round_trip_s"]
            print(f"  utvm empty call   {ours['round_trip_s'] * 1e6:9.1f} µs   ratio {ratio:.2f} "
                  "(goal <= 2)")
        print(f"{kind}: throughput, MB/s")
        print(f"  {'size':>9} {'raw echo':>10} {'to device':>10} {'from device':>12} "
              f"{'to/raw':>7} {'from/raw':>9}")
        for size in SIZES:
            line = f"  {size:>9} {raw['throughput_Bps'][size] / 1e6:>10.1f}"
            if ours:
                to, frm = ours["to_device_Bps"][size], ours["from_device_Bps"][size]
                line += (f" {to / 1e6:>10.1f} {frm / 1e6:>12.1f}"
                         f" {to / raw['throughput_Bps'][size]:>7.3f}"
                         f" {frm / raw['throughput_Bps'][size]:>9.3f}")
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
