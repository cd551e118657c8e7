#!/usr/bin/env python3
"""A model run over a noisy link: does the client recover, and are the outputs bit-exact?

For each fault rate (probability per byte, each direction, of a flipped bit, a dropped byte
or a duplicated byte: utvm.transport.faulty) and each link to the host board (pipe, PTY),
N runs of the bundled tiny_conv_f32 model (one fresh host board per run; seeds 0..N-1, so a
row replays exactly): session, AOT executor, input up, one timed run, one run, output down,
through utvm.rpc.recovery (requests sent again, then the run redone in a new session).

Printed per row: success rate (a result came back), bit-exact rate (it equals TVM 0.18's own
output), resends and new sessions per run, and the mean time of a successful run against a
clean run on the same link in the same process (ratio). Goals (issue 11): bit-exact in
>= 99 % of runs at 1e-4 and >= 90 % at 1e-3, on both links; PASS/MISS per row (1e-2 has no
goal: there the point is a clear error, reached within the retry budget).

Timeouts are the benchmark's, short for a host board that answers in microseconds: a reply
within 0.5 s, the timed run within 5 s, a session start retried every 0.5 s.

    python3 benchmarks/noisy_link.py [--runs N] [--rates 1e-4,1e-3,1e-2] [--links pipe,pty]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "samples" / "models" / "tiny_conv_f32" / "aot_packed"
DATA = MODEL.parent / "test_data"
GOALS = {1e-4: 0.99, 1e-3: 0.90}  # bit-exact rate, at least
RUN_TIMEOUT_S = 5.0


def one_run(mlf: object, link: str, rate: float, seed: int, data: np.ndarray,
            expected: bytes) -> dict:
    from utvm.host.board import start_host_board
    from utvm.rpc import Session
    from utvm.rpc.model_run import run_model
    from utvm.rpc.recovery import run_with_recovery
    from utvm.rpc.retry_policy import RetryState
    from utvm.transport.base import TransportTimeouts
    from utvm.transport.faulty import FaultyTransport

    timeouts = TransportTimeouts(0.5, 10.0, 0.5)
    noisy = FaultyTransport(start_host_board(mlf, link), rate, seed=seed)
    state = RetryState(report=lambda _line: None)
    session = Session(noisy, timeouts=timeouts, seed=(seed % 255) + 1)
    began = time.monotonic()
    outcome = {"ok": False, "exact": False, "error": ""}
    try:
        session.open()
        result = run_with_recovery(session, lambda client: run_model(
            client, mlf, [data], timeout=RUN_TIMEOUT_S), state)
        outcome["ok"] = True
        outcome["exact"] = result.outputs[0].tobytes() == expected
    except Exception as error:  # every failure is a row entry, not a crash
        outcome["error"] = f"{type(error).__name__}: {error}"
    finally:
        session.close()
    outcome.update(seconds=time.monotonic() - began, resends=state.resends,
                   restarts=state.restarts,
                   faults=sum(c.faults for c in noisy.counts.values()))
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="runs per row (default 20)")
    parser.add_argument("--rates", default="1e-4,1e-3,1e-2",
                        help="fault rates per byte, comma-separated")
    parser.add_argument("--links", default="pipe,pty", help="pipe, pty or both")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="print each failed run's error")
    options = parser.parse_args()
    rates = [float(r) for r in options.rates.split(",")]
    links = options.links.split(",")

    from utvm.mlf import open_mlf

    data = np.load(DATA / "input_0.npy")
    expected = np.load(DATA / "tvm_crt_output_0.npy").tobytes()
    print(f"noisy link benchmark: {options.runs} runs per row of {MODEL.name} on the host "
          "board; faults per byte, each direction: flip / drop / duplicate")
    header = (f"{'link':<5} {'rate':>7} {'success':>8} {'bit-exact':>10} {'resends':>8} "
              f"{'sessions':>9} {'time/clean':>11}  goal")
    all_met = True
    with open_mlf(MODEL) as mlf:
        for link in links:
            one_run(mlf, link, 0.0, 0, data, expected)  # warm-up: caches, the board build
            clean = [one_run(mlf, link, 0.0, seed, data, expected)["seconds"]
                     for seed in range(5)]
            clean_s = statistics.median(clean)
            print(f"\n{link}: a clean run takes {clean_s * 1e3:.1f} ms (median of 5)")
            print(header)
            for rate in rates:
                runs = [one_run(mlf, link, rate, seed, data, expected)
                        for seed in range(options.runs)]
                ok = sum(r["ok"] for r in runs) / len(runs)
                exact = sum(r["exact"] for r in runs) / len(runs)
                good = [r["seconds"] for r in runs if r["ok"]]
                ratio = f"{statistics.mean(good) / clean_s:10.1f}x" if good else f"{'-':>11}"
                goal = GOALS.get(rate)
                if goal is None:
                    verdict = "no goal (a clear error is the point)"
                else:
                    met = exact >= goal
                    all_met &= met
                    verdict = f"{'PASS' if met else 'MISS'} (bit-exact >= {goal:.0%})"
                print(f"{link:<5} {rate:>7g} {ok:>8.0%} {exact:>10.0%} "
                      f"{statistics.mean(r['resends'] for r in runs):>8.1f} "
                      f"{statistics.mean(r['restarts'] for r in runs):>9.2f} {ratio}  "
                      f"{verdict}", flush=True)
                if options.verbose:
                    for seed, r in enumerate(runs):
                        if not r["ok"]:
                            print(f"    seed {seed}: {r['error'][:300]}")
    print("\nresends: requests sent again per run; sessions: new sessions (run redone) per "
          "run; time/clean: mean time of a successful run / a clean run's")
    return 0  # a table to read, not a test (goals missed say MISS above)


if __name__ == "__main__":
    sys.exit(main())
