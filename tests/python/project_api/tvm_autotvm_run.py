"""Run with TVM 0.18's own Python (not utvm's): TVM's unmodified micro AutoTVM recipe through
utvm's template on one board, then the best configuration applied and the tuned model run on
that board next to a host LLVM run. Writes what it saw as JSON (``--out``).

    python tvm_autotvm_run.py --template-dir <utvm>/template_project --board mps2/an385 \
        --trials 5 --work-dir DIR --out result.json [--reuse-firmware true|false]
        [--tflite model.tflite] [--tuner grid|random|ga] [--as-built] [--against-default]

Without --tflite the model is one float32 conv2d (NCHW, 3x3). With --tflite (an int8
MLPerf Tiny model) every tunable task gets --trials trials, and the result also holds the
board's time per inference of the untuned and the tuned model.

By default this is TVM's recipe as it stands (grid search, every record of the log applied).
Two choices make the tuned model worth having (the benchmark uses them):
  * --as-built: candidates are built as relay.build builds the operator. While tuning, TVM
    builds some templates with their weights as an already packed input (AutoTVM's in_tuning
    placeholders), assuming a layout pass packs them once before the model runs. Where no
    such pass exists (arm_cpu's NHWC spatial-pack conv2d), the model repacks the weights
    inside the operator on every call, and for a tuned configuration once per output tile,
    which the trial never measured; TVM's own default configuration also cannot be measured
    that way (it inlines the packing, which fails on a placeholder).
  * --against-default: every task's default configuration (the one relay.build uses where no
    log record applies) is measured as a trial too, and the tuned model applies a task's best
    record only where it costs less than that default on the same board in the same run
    (tasks that are alternative implementations of one operator are compared as one group,
    against the cheapest default among them).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import tvm
import tvm.micro
from tvm import autotvm, relay
from tvm.autotvm.measure.measure import create_measure_batch
from tvm.autotvm.task.space import FallbackConfigEntity
from tvm.contrib.popen_pool import PopenPoolExecutor
from tvm.relay.backend import Executor, Runtime

RUNTIME = Runtime("crt", {"system-lib": True})
EXECUTOR = Executor("aot")  # runs on the board, so the board times it


def target_for(board: str) -> tvm.target.Target:
    if board.startswith("native_sim"):
        return tvm.target.Target("c -keys=cpu -model=host")
    return tvm.target.Target("c -keys=arm_cpu,cpu -mcpu=cortex-m3")


def conv2d_model() -> tuple[tvm.IRModule, dict[str, Any], dict[str, np.ndarray]]:
    data = relay.var("data", shape=(1, 8, 16, 16), dtype="float32")
    weight = relay.var("weight", shape=(16, 8, 3, 3), dtype="float32")
    conv = relay.nn.conv2d(data, weight, padding=(1, 1), channels=16, kernel_size=(3, 3))
    mod = tvm.IRModule.from_expr(relay.Function([data, weight], conv))
    rng = np.random.default_rng(7)
    params = {"weight": rng.uniform(-1, 1, (16, 8, 3, 3)).astype("float32")}
    inputs = {"data": rng.uniform(-1, 1, (1, 8, 16, 16)).astype("float32")}
    return mod, params, inputs


def tflite_model(path: Path) -> tuple[tvm.IRModule, dict[str, Any], dict[str, np.ndarray]]:
    import tflite

    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    mod, params = relay.frontend.from_tflite(model)
    rng = np.random.default_rng(7)
    inputs = {}
    for param in mod["main"].params:
        if param.name_hint in params:
            continue  # a weight, bound by relay.build
        shape = [int(d) for d in param.type_annotation.shape]
        dtype = param.type_annotation.dtype
        info = np.iinfo(dtype) if dtype.startswith(("int", "uint")) else None
        inputs[param.name_hint] = (rng.integers(info.min, info.max + 1, shape).astype(dtype)
                                   if info else rng.uniform(-1, 1, shape).astype(dtype))
    return mod, params, inputs


def pass_context() -> tvm.transform.PassContext:
    return tvm.transform.PassContext(opt_level=3, config={"tir.disable_vectorize": True})


class AsBuiltBuilder(autotvm.LocalBuilder):
    """LocalBuilder whose build worker does not inherit AutoTVM's in_tuning flag, so every
    candidate is the operator relay.build will compile (weights packed inside it where the
    model packs them there), and the default configuration can be built too."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.executor = PopenPoolExecutor(timeout=kwargs.get("timeout"))


def make_tuner(name: str, task: Any, trials: int) -> Any:
    if name == "random":
        return autotvm.tuner.RandomTuner(task)
    if name == "ga":
        # A small population so a budget of tens of trials still sees a few generations.
        population = max(4, min(16, trials // 4))
        return autotvm.tuner.GATuner(task, pop_size=population, elite_num=max(2, population // 4))
    # Grid search: the same candidates every run, in the space's order.
    return autotvm.tuner.GridSearchTuner(task)


def measure_defaults(tasks: list[Any], measure: dict[str, Any]) -> list[dict[str, Any]]:
    """Every task's default configuration (what relay.build uses without a log record),
    measured as one more trial on the same board."""
    defaults = []
    for task in tasks:
        batch = create_measure_batch(task, measure)
        (res,) = batch([autotvm.MeasureInput(task.target, task, FallbackConfigEntity())])
        del batch  # stops this measurement's RPC tracker and server
        defaults.append({"task": task.name, "error_no": int(res.error_no),
                         "costs": [float(c) for c in res.costs] if res.error_no == 0 else [],
                         "error": "" if res.error_no == 0 else str(res.costs)[:4000]})
    return defaults


def keep_better_than_default(tasks: list[Any], defaults: list[dict[str, Any]], log: Path,
                             kept_log: Path) -> list[dict[str, Any]]:
    """Writes to kept_log the best record of every group of tasks (one operator, its
    alternative implementations) that beats the group's cheapest default; says why for each."""
    best: dict[int, tuple[float, Any, Any]] = {}
    workloads = {task.workload: index for index, task in enumerate(tasks)}
    for inp, res in autotvm.record.load_from_file(str(log)):
        index = workloads.get(inp.task.workload)
        if index is None or res.error_no != 0:
            continue
        cost = float(np.mean(res.costs))
        if index not in best or cost < best[index][0]:
            best[index] = (cost, inp, res)
    groups: dict[str, list[int]] = defaultdict(list)
    for index, task in enumerate(tasks):
        groups[repr(task.args)].append(index)
    decisions = []
    with open(kept_log, "w") as out:
        for members in groups.values():
            default_costs = [float(np.mean(defaults[i]["costs"])) for i in members
                             if defaults[i]["error_no"] == 0]
            default = min(default_costs) if default_costs else None
            tuned = [best[i] for i in members if i in best]
            winner = min(tuned, key=lambda entry: entry[0]) if tuned else None
            keep = winner is not None and (default is None or winner[0] < default)
            if keep:
                out.write(autotvm.record.encode(winner[1], winner[2]) + "\n")
            decisions.append({"tasks": members, "default_cost": default,
                              "best_tuned_cost": winner[0] if winner else None,
                              "best_tuned_task": winner[1].task.name if winner else None,
                              "kept": keep})
    return decisions


def tune(mod: tvm.IRModule, params: dict[str, Any], target: tvm.target.Target,
         arguments: argparse.Namespace, log: Path) -> dict[str, Any]:
    with pass_context():
        tasks = autotvm.task.extract_from_program(mod["main"], params, target)
    if not arguments.tflite:
        tasks = tasks[:1]  # one conv2d: its first template (Arm: spatial pack)
    np.random.seed(arguments.seed)  # random and GA search: the same candidates every run
    options: dict[str, Any] = {"board": arguments.board, "project_type": "host_driven"}
    if arguments.reuse_firmware is not None:
        options["reuse_firmware"] = arguments.reuse_firmware == "true"
    loader = tvm.micro.AutoTvmModuleLoader(template_project_dir=arguments.template_dir,
                                           project_options=options)
    builder = (AsBuiltBuilder if arguments.as_built else autotvm.LocalBuilder)(
        n_parallel=1, timeout=arguments.timeout,
        build_kwargs={"build_option": {"tir.disable_vectorize": True}}, do_fork=True,
        build_func=tvm.micro.autotvm_build_func, runtime=RUNTIME)
    runner = autotvm.LocalRunner(number=1, repeat=1, timeout=arguments.timeout,
                                 module_loader=loader)
    measure = autotvm.measure_option(builder=builder, runner=runner)
    trials: list[dict[str, Any]] = []

    def record(_tuner: Any, inputs: Any, results: Any) -> None:
        for inp, res in zip(inputs, results, strict=True):
            trials.append({"task": inp.task.name, "task_index": tasks.index(inp.task),
                           "config": int(inp.config.index),  # GA gives numpy ints
                           "costs": [float(c) for c in res.costs] if res.error_no == 0 else [],
                           "error_no": int(res.error_no),
                           "error": "" if res.error_no == 0 else str(res.costs)[:4000],
                           "all_cost": float(res.all_cost), "at": time.monotonic()})

    start = time.monotonic()
    result: dict[str, Any] = {"tasks": [t.name for t in tasks], "trials": trials,
                              "space_sizes": [len(t.config_space) for t in tasks]}
    if arguments.against_default:
        result["defaults"] = measure_defaults(tasks, measure)
    for task in tasks:
        trials_here = min(arguments.trials, len(task.config_space))
        make_tuner(arguments.tuner, task, trials_here).tune(
            n_trial=trials_here, measure_option=measure,
            callbacks=[autotvm.callback.log_to_file(str(log)), record])
    result["tuning_seconds"] = time.monotonic() - start
    if arguments.against_default:
        kept = log.with_suffix(".kept.log")
        result["decisions"] = keep_better_than_default(tasks, result["defaults"], log, kept)
        result["applied_log"] = str(kept)
    return result


def run_on_board(lowered: Any, inputs: dict[str, np.ndarray], arguments: argparse.Namespace,
                 project_dir: Path, repeat: int) -> tuple[np.ndarray, float]:
    options = {"board": arguments.board, "project_type": "host_driven"}
    project = tvm.micro.generate_project(arguments.template_dir, lowered, project_dir, options)
    project.build()
    project.flash()
    with tvm.micro.Session(project.transport()) as session:
        aot = tvm.micro.create_local_aot_executor(session)
        for name, value in inputs.items():
            aot.set_input(name, value)
        aot.run()
        output = aot.get_output(0).numpy()
        # The executor's run on the board, timed by the board's own timer.
        timer = aot.module.time_evaluator("run", session.device, number=1, repeat=repeat)
        seconds = float(np.median(timer().results))
    return output, seconds


def run_on_host(mod: tvm.IRModule, params: dict[str, Any],
                inputs: dict[str, np.ndarray]) -> np.ndarray:
    from tvm.contrib import graph_executor

    with tvm.transform.PassContext(opt_level=3):
        lib = relay.build(mod, target="llvm", params=params)
    graph = graph_executor.GraphModule(lib["default"](tvm.cpu()))
    graph.set_input(**inputs)
    graph.run()
    return graph.get_output(0).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template-dir", required=True)
    parser.add_argument("--board", required=True)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--reuse-firmware", choices=["true", "false"])
    parser.add_argument("--tflite", type=Path)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--skip-model", action="store_true",
                        help="tune only (no tuned model built and run)")
    parser.add_argument("--tuner", choices=["grid", "random", "ga"], default="grid")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-built", action="store_true",
                        help="build candidates as relay.build builds the operator")
    parser.add_argument("--against-default", action="store_true",
                        help="measure each task's default config; apply only what beats it")
    arguments = parser.parse_args()
    arguments.work_dir.mkdir(parents=True, exist_ok=True)
    target = target_for(arguments.board)
    mod, params, inputs = (tflite_model(arguments.tflite) if arguments.tflite
                           else conv2d_model())
    log = arguments.work_dir / "tuning.log"
    log.unlink(missing_ok=True)
    result = tune(mod, params, target, arguments, log)
    arguments.out.write_text(json.dumps(result))  # what tuning saw, should the models fail
    if not arguments.skip_model:
        reference = run_on_host(mod, params, inputs)
        result["reference"] = reference.tolist()
        runs = {"tuned": autotvm.apply_history_best(result.get("applied_log", str(log)))}
        if arguments.tflite:
            runs["untuned"] = None
        for name, context in runs.items():
            with pass_context():
                if context is None:
                    lowered = relay.build(mod, target=target, runtime=RUNTIME,
                                          executor=EXECUTOR, params=params)
                else:
                    with context:
                        lowered = relay.build(mod, target=target, runtime=RUNTIME,
                                              executor=EXECUTOR, params=params)
            output, seconds = run_on_board(lowered, inputs, arguments,
                                           arguments.work_dir / f"{name}-project", repeat=3)
            result[name] = {"output": output.tolist(), "dtype": str(output.dtype),
                            "seconds_per_inference": seconds}
    arguments.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
