"""Entry point of the Project API server: ``microtvm_api_server.py --read-fd R --write-fd W``.

TVM starts the server from the template or project folder with two pipe ends; requests
come in on R, replies go out on W. stdout and stderr stay the user's (TVM passes its own
through), so everything said to people goes to stderr. The server ends when TVM closes
the request pipe, closing any transport it opened.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from utvm.project_api.handlers import ProjectHandler
from utvm.project_api.jsonrpc import JsonRpcServer


def main(argv: Sequence[str] | None = None, server_dir: Path | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="utvm's microTVM Project API server (TVM starts it; see "
                    "template_project/README.md).")
    parser.add_argument("--read-fd", type=int, required=True,
                        help="file descriptor requests are read from")
    parser.add_argument("--write-fd", type=int, required=True,
                        help="file descriptor replies are written to")
    parser.add_argument("--debug", action="store_true", help="log every request and reply")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if arguments.debug else logging.INFO,
                        stream=sys.stderr, format="%(name)s: %(message)s")
    folder = server_dir if server_dir is not None else Path(sys.argv[0]).absolute().parent
    handler = ProjectHandler(folder)
    try:
        read_file = os.fdopen(arguments.read_fd, "rb")
        write_file = os.fdopen(arguments.write_fd, "wb", buffering=0)
    except OSError as exc:
        parser.error(f"cannot use the given file descriptors: {exc}")
    try:
        JsonRpcServer(read_file, write_file, handler.methods()).serve_forever()
    except BrokenPipeError:
        pass  # TVM went away mid-reply: nothing left to tell it
    finally:
        handler.close_transport()
    return 0
