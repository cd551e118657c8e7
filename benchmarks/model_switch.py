#!/usr/bin/env python3
"""Time from "new model" to its first output on one board (issue 17): a firmware built with
`--loadable` takes the model's code over RPC, against the classic rebuild + reflash.

On mps2/an385 in QEMU, going through the fixture models in turn (kws_ref_model, ad01_int8,
vww_96_int8; a model whose image does not fit the board's loader is named with the numbers
and left out, before anything is uploaded):
  * loadable: compile the MLF into an .llext with the build's EDK (cache emptied first),
    upload it, load it, create the executor, set the input, run, read the output; the board
    keeps running the whole time (one QEMU for all switches);
  * rebuild: `west utvm build --mlf NEW` into an existing build of the other model
    (incremental: only the model's files recompile), start the new firmware (QEMU, what
    `west utvm flash` does for this board), open a session, set the input, run, read.
Both are wall-clock times on this machine (QEMU runs as fast as it can; board time is an
instruction count and not what is compared). Printed: each switch, the ratio per model and
the median of each over all switches (goal: every model's switch at least 5x faster than
rebuild + reflash) and the load time per KiB of image (upload over the emulated UART +
link), next to the image sizes.

    ZEPHYR_BASE=... python3 benchmarks/model_switch.py [--rounds N] [--work DIR] [--json]
                    [--loadable-build DIR] [--classic-build DIR]

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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))
FIXTURES = REPO.parent / "shared" / "fixtures" / "tvm-0.18"
MODELS = ("kws_ref_model", "ad01_int8", "vww_96_int8")
BOARD = "mps2/an385"
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


def loadable_switch(build, client, model: str) -> tuple[float, float, int]:
    """Seconds to first output, seconds of upload + load, image bytes."""
    from utvm.loadable.edk import read_edk
    from utvm.loadable.fit import check_fits
    from utvm.loadable.image import build_image
    from utvm.loadable.session import load_image
    from utvm.mlf import open_mlf

    cache = build.state_dir / "llext-bench"
    shutil.rmtree(cache, ignore_errors=True)
    start = time.perf_counter()
    with open_mlf(FIXTURES / model / "aot_packed") as mlf:
        image = build_image(mlf, read_edk(build), cache)
        check_fits(image, build)  # UtvmError with the numbers, before uploading
        data = image.read_bytes()
        load_start = time.perf_counter()
        module = load_image(client, data)
        load_seconds = time.perf_counter() - load_start
        first_output(client, mlf, module)
    return time.perf_counter() - start, load_seconds, len(data)


def rebuild_switch(build_dir: Path, model: str) -> float:
    from utvm.board.build_dir import read_build
    from utvm.board.builder import BuildRequest, build
    from utvm.board.targets import DEFAULT_BAUD, LinkOptions, target_for
    from utvm.mlf import open_mlf
    from utvm.rpc import Session

    start = time.perf_counter()
    with _quiet() as quiet:
        build(BuildRequest(board=BOARD, build_dir=str(build_dir),
                           mlf=FIXTURES / model / "aot_packed"), out=quiet)
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
                        help="folder for the two build directories (kept between runs)")
    parser.add_argument("--loadable-build", type=Path, metavar="DIR",
                        help="an existing --loadable build to use (default WORK/loadable)")
    parser.add_argument("--classic-build", type=Path, metavar="DIR",
                        help="an existing mps2/an385 rpc_server build (default WORK/classic)")
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

    loadable_dir = args.loadable_build or args.work / "loadable"
    classic_dir = args.classic_build or args.work / "classic"
    with _quiet() as quiet:  # both builds exist before anything is timed
        build(BuildRequest(board=BOARD, build_dir=str(loadable_dir), loadable=True), out=quiet)
        build(BuildRequest(board=BOARD, build_dir=str(classic_dir),
                           mlf=FIXTURES / MODELS[-1] / "aot_packed"), out=quiet)
    loadable_build = read_build(loadable_dir, must_be_built=True)
    target = target_for(loadable_build)
    loads, rebuilds, per_kib, sizes, switches = [], [], [], {}, []
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
                    total, load_s, size = loadable_switch(loadable_build, session.client,
                                                          model)
                except UtvmError as exc:
                    left_out[model] = str(exc)
                    continue
                loads.append(total)
                per_kib.append(load_s / (size / 1024))
                sizes[model] = size
                rebuilds.append(rebuild_switch(classic_dir, model))
                ratios.setdefault(model, []).append(rebuilds[-1] / total)
                switches.append({"model": model, "loadable_s": round(total, 2),
                                 "upload_load_s": round(load_s, 2),
                                 "rebuild_flash_s": round(rebuilds[-1], 2)})
    result = {
        "loadable_s": statistics.median(loads), "rebuild_flash_s": statistics.median(rebuilds),
        "ratio": statistics.median(rebuilds) / statistics.median(loads),
        "load_ms_per_kib": 1000 * statistics.median(per_kib), "image_bytes": sizes,
        "switches": switches,
        "ratio_per_model": {m: statistics.median(r) for m, r in ratios.items()},
        "left_out": left_out,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"model switch on {BOARD} (QEMU), median of {len(loads)} switches, wall clock")
    for switch in switches:
        print(f"  {switch['model']:14s} loadable {switch['loadable_s']:7.2f} s "
              f"(upload + load {switch['upload_load_s']:6.2f} s), rebuild + reflash "
              f"{switch['rebuild_flash_s']:7.2f} s")
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
    print(f"  upload + load: {result['load_ms_per_kib']:.1f} ms per KiB of image "
          f"({', '.join(f'{m} {s // 1024} KiB' for m, s in sizes.items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
