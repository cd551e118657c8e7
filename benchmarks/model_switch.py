#!/usr/bin/env python3
"""Time from "new model" to its first output on one board (issue 17): a firmware built with
`--loadable` takes the model's code over RPC, against the classic rebuild + reflash.

On mps2/an385 in QEMU, both firmwares serving RPC over TCP (`--link tcp`: the board's
Ethernet through QEMU's user networking, the same link for both), going through the fixture
models in turn (kws_ref_model, ad01_int8, vww_96_int8; a model whose image does not fit the
board's loader is named with the numbers and left out, before anything is uploaded):
  * loadable: compile the MLF into an .llext with the build's EDK (cache emptied first),
    upload it, load it, create the executor, set the input, run, read the output; the board
    keeps running the whole time (one QEMU for all switches);
  * rebuild: `west utvm build --mlf NEW` into an existing build of the other model
    (incremental: only the model's files recompile), start the new firmware (QEMU, what
    `west utvm flash` does for this board), open a session, set the input, run, read.
Both are wall-clock times on this machine (QEMU runs as fast as it can; board time is an
instruction count and not what is compared). Printed: each switch with its phases (compile,
upload, load, executor + run), the ratio per model and the median of each over all switches
(goal: every model's switch at least 5x faster than rebuild + reflash), and the load time
per KiB of image (upload + link) over TCP and, from a third firmware built with --loadable
over the board's UART, over the emulated UART (each image once), next to the image sizes.

    ZEPHYR_BASE=... python3 benchmarks/model_switch.py [--rounds N] [--work DIR] [--json]
                    [--loadable-build DIR] [--classic-build DIR] [--uart-build DIR] [--no-uart]

Needs ZEPHYR_BASE, arm-none-eabi-gcc (ZEPHYR_TOOLCHAIN_VARIANT=gnuarmemb) and qemu-system-arm.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))
FIXTURES = REPO.parent / "shared" / "fixtures" / "tvm-0.18"
MODELS = ("kws_ref_model", "ad01_int8", "vww_96_int8")
BOARD = "mps2/an385"
LINK = "tcp"
GOAL_RATIO = 5.0


def _quiet() -> object:
    return open(os.devnull, "w")


def first_output(client, mlf, module=None):
    import numpy as np

    from utvm.rpc.model_run import create_executor

    with create_executor(client, mlf, module) as executor:
        for index, info in enumerate(mlf.inputs):
            executor.set_input(info.name, np.load(Path(mlf.source) / f"input_{index}.npy"))
        executor.run()
        return executor.get_output(0)


@dataclass
class Switch:
    """One loadable switch, in seconds per phase."""

    compile_s: float
    upload_s: float
    load_s: float
    run_s: float  # executor created, input set, run, output read
    image: bytes = field(repr=False)

    @property
    def image_bytes(self) -> int:
        return len(self.image)

    @property
    def total_s(self) -> float:
        return self.compile_s + self.upload_s + self.load_s + self.run_s

    @property
    def upload_load_s(self) -> float:
        return self.upload_s + self.load_s


def compile_image(build, model: str, cache: Path) -> tuple[bytes, float]:
    from utvm.loadable.edk import read_edk
    from utvm.loadable.fit import check_fits
    from utvm.loadable.image import build_image
    from utvm.mlf import open_mlf

    shutil.rmtree(cache, ignore_errors=True)
    start = time.perf_counter()
    with open_mlf(FIXTURES / model / "aot_packed") as mlf:
        image = build_image(mlf, read_edk(build), cache)
        check_fits(image, build)  # UtvmError with the numbers, before uploading
        data = image.read_bytes()
    return data, time.perf_counter() - start


def upload_and_load(client, data: bytes) -> tuple[object, float, float]:
    """The loaded module, seconds of upload, seconds of linking on the board."""
    from utvm.loadable.session import load_image

    start = time.perf_counter()
    uploaded = [start]

    def progress(done: int, total: int) -> None:
        if done == total:
            uploaded[0] = time.perf_counter()

    module = load_image(client, data, progress)
    end = time.perf_counter()
    return module, uploaded[0] - start, end - uploaded[0]


def loadable_switch(build, client, model: str) -> Switch:
    from utvm.mlf import open_mlf

    data, compile_s = compile_image(build, model, build.state_dir / "llext-bench")
    module, upload_s, load_s = upload_and_load(client, data)
    start = time.perf_counter()
    with open_mlf(FIXTURES / model / "aot_packed") as mlf:
        first_output(client, mlf, module)
    return Switch(compile_s, upload_s, load_s, time.perf_counter() - start, data)


def uart_load_per_kib(uart_dir: Path, images: dict[str, bytes]) -> dict[str, float]:
    """ms of upload + link per KiB of each image over the board's emulated UART."""
    from utvm.board.build_dir import read_build
    from utvm.board.targets import DEFAULT_BAUD, LinkOptions, target_for
    from utvm.loadable.session import unload
    from utvm.rpc import Session
    from utvm.transport.base import TransportTimeouts

    target = target_for(read_build(uart_dir, must_be_built=True))
    figures = {}
    with _quiet() as quiet, target.link(LinkOptions(None, DEFAULT_BAUD, None), quiet) as link:
        session = Session(link, reply_timeout=120.0, timeouts=TransportTimeouts(2.0, 60.0, 120.0))
        session.open(retry_timeout=2.0, start_timeout=target.start_timeout)
        for model, data in images.items():
            _, upload_s, load_s = upload_and_load(session.client, data)
            figures[model] = 1000 * (upload_s + load_s) / (len(data) / 1024)
            unload(session.client)
    return figures


def rebuild_switch(build_dir: Path, model: str) -> float:
    from utvm.board.build_dir import read_build
    from utvm.board.builder import BuildRequest, build
    from utvm.board.targets import DEFAULT_BAUD, LinkOptions, target_for
    from utvm.mlf import open_mlf
    from utvm.rpc import Session

    start = time.perf_counter()
    with _quiet() as quiet:
        build(BuildRequest(board=BOARD, build_dir=str(build_dir),
                           mlf=FIXTURES / model / "aot_packed", link=LINK), out=quiet)
        built = read_build(build_dir, must_be_built=True)
        target = target_for(built)
        with target.link(LinkOptions(None, DEFAULT_BAUD, None), quiet) as link:
            session = Session(link, reply_timeout=120.0)
            session.open(retry_timeout=2.0, start_timeout=target.start_timeout)
            with open_mlf(FIXTURES / model / "aot_packed") as mlf:
                first_output(session.client, mlf)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("build-model-switch"),
                        help="folder for the build directories (kept between runs)")
    parser.add_argument("--loadable-build", type=Path, metavar="DIR",
                        help="an existing --loadable --link tcp build to use (default "
                        "WORK/loadable-tcp)")
    parser.add_argument("--classic-build", type=Path, metavar="DIR",
                        help="an existing mps2/an385 rpc_server --link tcp build (default "
                        "WORK/classic-tcp)")
    parser.add_argument("--uart-build", type=Path, metavar="DIR",
                        help="an existing --loadable build over the UART, for the UART's load "
                        "time per KiB (default WORK/loadable)")
    parser.add_argument("--no-uart", action="store_true",
                        help="leave the UART's load time per KiB out (no third firmware)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("ZEPHYR_BASE") or shutil.which("qemu-system-arm") is None:
        print("error: needs ZEPHYR_BASE and qemu-system-arm (and an Arm toolchain)",
              file=sys.stderr)
        return 2
    from utvm.board.build_dir import read_build
    from utvm.board.builder import BuildRequest, build
    from utvm.board.targets import DEFAULT_BAUD, LinkOptions, target_for
    from utvm.errors import UtvmError
    from utvm.rpc import Session
    from utvm.transport.base import TransportTimeouts

    loadable_dir = args.loadable_build or args.work / "loadable-tcp"
    classic_dir = args.classic_build or args.work / "classic-tcp"
    uart_dir = None if args.no_uart else (args.uart_build or args.work / "loadable")
    with _quiet() as quiet:  # the builds exist before anything is timed
        build(BuildRequest(board=BOARD, build_dir=str(loadable_dir), loadable=True, link=LINK),
              out=quiet)
        build(BuildRequest(board=BOARD, build_dir=str(classic_dir),
                           mlf=FIXTURES / MODELS[-1] / "aot_packed", link=LINK), out=quiet)
        if uart_dir is not None:
            build(BuildRequest(board=BOARD, build_dir=str(uart_dir), loadable=True,
                               link="uart"), out=quiet)
    loadable_build = read_build(loadable_dir, must_be_built=True)
    target = target_for(loadable_build)
    loads, rebuilds, per_kib, images, switches = [], [], [], {}, []
    ratios: dict[str, list[float]] = {}
    left_out: dict[str, str] = {}
    with _quiet() as quiet, target.link(LinkOptions(None, DEFAULT_BAUD, None), quiet) as link:
        # Patient: on a busy machine QEMU may take in nothing for more than 10 s.
        session = Session(link, reply_timeout=120.0, timeouts=TransportTimeouts(2.0, 60.0, 120.0))
        session.open(retry_timeout=2.0, start_timeout=target.start_timeout)
        for _ in range(args.rounds):
            for model in MODELS:
                if model in left_out:
                    continue
                try:
                    switch = loadable_switch(loadable_build, session.client, model)
                except UtvmError as exc:
                    left_out[model] = str(exc)
                    continue
                loads.append(switch.total_s)
                per_kib.append(switch.upload_load_s / (switch.image_bytes / 1024))
                images.setdefault(model, switch.image)
                rebuilds.append(rebuild_switch(classic_dir, model))
                ratios.setdefault(model, []).append(rebuilds[-1] / switch.total_s)
                switches.append({"model": model, "loadable_s": round(switch.total_s, 2),
                                 "compile_s": round(switch.compile_s, 2),
                                 "upload_s": round(switch.upload_s, 2),
                                 "load_s": round(switch.load_s, 2),
                                 "run_s": round(switch.run_s, 2),
                                 "upload_load_s": round(switch.upload_load_s, 2),
                                 "rebuild_flash_s": round(rebuilds[-1], 2)})
    uart_per_kib = uart_load_per_kib(uart_dir, images) if uart_dir is not None else {}
    result = {
        "link": LINK,
        "loadable_s": statistics.median(loads), "rebuild_flash_s": statistics.median(rebuilds),
        "ratio": statistics.median(rebuilds) / statistics.median(loads),
        "load_ms_per_kib": 1000 * statistics.median(per_kib),
        "uart_load_ms_per_kib": statistics.median(uart_per_kib.values()) if uart_per_kib
        else None,
        "uart_load_ms_per_kib_per_model": uart_per_kib,
        "image_bytes": {m: len(d) for m, d in images.items()},
        "switches": switches,
        "ratio_per_model": {m: statistics.median(r) for m, r in ratios.items()},
        "left_out": left_out,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"model switch on {BOARD} (QEMU), RPC over {LINK} for both, median of {len(loads)} "
          "switches, wall clock")
    for switch in switches:
        print(f"  {switch['model']:14s} loadable {switch['loadable_s']:6.2f} s (compile "
              f"{switch['compile_s']:.2f}, upload {switch['upload_s']:.2f}, load "
              f"{switch['load_s']:.2f}, executor + run {switch['run_s']:.2f}), rebuild + "
              f"reflash {switch['rebuild_flash_s']:6.2f} s")
    print(f"  loadable (compile .llext + upload + load + first output): "
          f"{result['loadable_s']:8.2f} s")
    print(f"  rebuild + reflash + first output:                          "
          f"{result['rebuild_flash_s']:8.2f} s")
    for model, ratio in result["ratio_per_model"].items():
        goal = "met" if ratio >= GOAL_RATIO else "NOT met"
        print(f"  {model:14s} ratio {ratio:5.1f}x (goal >= {GOAL_RATIO:.0f}x: {goal})")
    goal = "met" if result["ratio"] >= GOAL_RATIO else "NOT met"
    print(f"  ratio of the medians: {result['ratio']:.1f}x (goal >= {GOAL_RATIO:.0f}x: {goal})")
    for model, reason in left_out.items():
        print(f"  {model}: left out, {reason}")
    sizes = ", ".join(f"{m} {len(d) // 1024} KiB" for m, d in images.items())
    print(f"  upload + load over TCP: {result['load_ms_per_kib']:.1f} ms per KiB of image "
          f"({sizes})")
    if uart_per_kib:
        print(f"  upload + load over the emulated UART: {result['uart_load_ms_per_kib']:.1f} ms "
              "per KiB (" + ", ".join(f"{m} {v:.1f}" for m, v in uart_per_kib.items()) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
