"""Runs the fake device over stdin/stdout (a host "board" process) or one TCP connection.

    python hostrpc_device_main.py                 # stdin/stdout
    python hostrpc_device_main.py --die-after 3   # writes to stderr and exits after 3 reads
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "python"))

from hostrpc_fake_device import FakeDevice


def serve(read: Callable[[], bytes], write: Callable[[bytes], None],
          die_after: int | None = None) -> None:
    device = FakeDevice()
    write(device.take_output())
    reads = 0
    while True:
        data = read()
        if not data:
            return
        reads += 1
        if die_after is not None and reads >= die_after:
            sys.stderr.write("fake board: simulated crash\n")
            sys.exit(3)
        device.receive(data)
        out = device.take_output()
        if out:
            write(out)


def serve_socket(connection: socket.socket) -> None:
    with connection:
        serve(lambda: connection.recv(4096), connection.sendall)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--die-after", type=int)
    args = parser.parse_args()

    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(1, view):]

    serve(lambda: os.read(0, 4096), write, args.die_after)


if __name__ == "__main__":
    main()
