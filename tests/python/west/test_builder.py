"""`utvm build` up to `west build`: the model is staged, and west gets CMake arguments only
when something CMake reads changed. A fake west (a script standing in for `west build`,
which needs Zephyr) records every call and writes the CMake cache a real build would."""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from westsupport import BUNDLED_DATA, BUNDLED_MODEL, REPO_ROOT, python_script, tvm_calls

from utvm.board import zephyr_env
from utvm.cli import main

AOT_C_MODEL = BUNDLED_MODEL.parent / "aot_c"
# The smallest graph: its one input is its output.
GRAPH_JSON = {
    "nodes": [{"op": "null", "name": "input", "inputs": []}],
    "arg_nodes": [0], "heads": [[0, 0, 0]], "node_row_ptr": [0, 1],
    "attrs": {"dltype": ["list_str", ["float32"]], "shape": ["list_shape", [[1, 768]]],
              "storage_id": ["list_int", [0]]},
}

FAKE_WEST = """
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["FAKE_WEST_LOG"], "a") as log:
    log.write(json.dumps({"args": args, "cwd": os.getcwd(),
                          "zephyr_base": os.environ.get("ZEPHYR_BASE")}) + "\\n")
if os.environ.get("FAKE_WEST_NO_MODULE"):  # as Zephyr's scripts fail without their pip list
    print("Traceback (most recent call last):")
    print("ModuleNotFoundError: No module named 'elftools'")
    print("CMake Error at cmake/modules/kernel.cmake:200 (message):")
    sys.exit(1)
if os.environ.get("FAKE_WEST_OUTPUT"):  # a failure with this output
    print(os.environ["FAKE_WEST_OUTPUT"])
    sys.exit(1)
if os.environ.get("FAKE_WEST_FAIL"):
    print("No board named 'nosuchboard' found.")
    print("CMake Error at cmake/modules/boards.cmake:228 (message):")
    print("  Invalid BOARD; see above.")
    sys.exit(1)
build = Path(args[args.index("-d") + 1])
board = args[args.index("-b") + 1]
if os.environ.get("FAKE_WEST_DTS"):  # the devicetree configuring produces
    (build / "zephyr").mkdir(parents=True, exist_ok=True)
    (build / "zephyr" / "zephyr.dts").write_text(os.environ["FAKE_WEST_DTS"])
cmake = args[args.index("--") + 1:] if "--" in args else []
cache_file = build / "CMakeCache.txt"
if cmake or not cache_file.exists():
    entries = {}
    if cache_file.exists():
        for line in cache_file.read_text().splitlines():
            name, _, value = line.partition("=")
            entries[name.split(":")[0]] = value
    before = [a for a in args[:args.index("--")] if not a.startswith("-")] if "--" in args \\
        else [a for a in args if not a.startswith("-")]
    entries.update({"ZEPHYR_BASE": os.environ["ZEPHYR_BASE"], "BOARD": board,
                    "CACHED_BOARD": board, "CMAKE_PROJECT_NAME": "app",
                    "APPLICATION_SOURCE_DIR": before[-1]})
    config_file = build / "zephyr" / ".config"
    config = dict(line.split("=", 1) for line in config_file.read_text().splitlines()) \\
        if config_file.exists() else {}
    config["CONFIG_BOARD"] = f'"{board}"'
    if board.startswith("qemu") or os.environ.get("FAKE_WEST_QEMU_RUN"):
        config["CONFIG_QEMU_TARGET"] = "y"
    if os.environ.get("FAKE_WEST_QEMU_RUN"):  # the QEMU command configuring writes
        build.mkdir(parents=True, exist_ok=True)
        (build / "build.ninja").write_text(
            f"build run_qemu: CUSTOM_COMMAND\\n  COMMAND = cd {build} && "
            f"/usr/bin/qemu-system-arm {os.environ['FAKE_WEST_QEMU_RUN']}\\n")
    for item in cmake:
        if item.startswith("-D"):
            name, _, value = item[2:].partition("=")
            # Like Zephyr: Kconfig values go to .config, everything else to the cache.
            (config if name.startswith("CONFIG_") else entries)[name.split(":")[0]] = value
    build.mkdir(parents=True, exist_ok=True)
    cache_file.write_text("".join(f"{k}:STRING={v}\\n" for k, v in entries.items()))
    config_file.parent.mkdir(exist_ok=True)
    config_file.write_text("".join(f"{k}={v}\\n" for k, v in config.items()))
print("fake west build done")
"""


@pytest.fixture
def west_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict]]:
    """A fake Zephyr tree and west; returns a function listing west's calls so far."""
    base = tmp_path / "zephyr"
    (base / "cmake" / "modules").mkdir(parents=True)
    (base / "VERSION").write_text("VERSION_MAJOR = 4\n")
    monkeypatch.setenv("ZEPHYR_BASE", str(base))
    log = tmp_path / "west-calls.jsonl"
    monkeypatch.setenv("FAKE_WEST_LOG", str(log))
    script = python_script(tmp_path / "fake_west.py", FAKE_WEST)
    monkeypatch.setattr(zephyr_env, "west_command", lambda: [sys.executable, str(script)])
    for name in ("SYSTEM", "GLOBAL", "LOCAL"):
        monkeypatch.setenv(f"WEST_CONFIG_{name}", str(tmp_path / f"west-{name.lower()}.ini"))
    monkeypatch.delenv("BOARD", raising=False)
    monkeypatch.chdir(tmp_path)
    return lambda: _builds([json.loads(line) for line in log.read_text().splitlines()]
                           if log.exists() else [])


def _builds(calls: list[dict]) -> list[dict]:
    """One entry per build: a `--cmake-only` configure and the compile after it are one
    (with the configure's arguments; ``compile`` holds the second call's)."""
    builds: list[dict] = []
    for call in calls:
        if builds and builds[-1].get("compile") is None and "--cmake-only" in \
                builds[-1]["configure_args"]:
            if "--cmake-only" in call["args"]:  # configured again (QEMU's PTY)
                builds[-1] = _configure_call(call)
                continue
            builds[-1]["compile"] = call
            continue
        builds.append(_configure_call(call) if "--cmake-only" in call["args"]
                      else dict(call, configure_args=[], compile=call))
    return builds


def _configure_call(call: dict) -> dict:
    return dict(call, args=[a for a in call["args"] if a != "--cmake-only"],
                configure_args=call["args"], compile=None)


def cmake_args(call: dict) -> list[str]:
    args = call["args"]
    return args[args.index("--") + 1:] if "--" in args else []


def build(*args: str) -> int:
    return main(["build", *[str(a) for a in args]])


def test_first_build_configures_with_the_staged_model(tmp_path: Path, west_log) -> None:
    assert build("-b", "native_sim", "-d", "b", "--mlf", BUNDLED_MODEL) == 0
    (call,) = west_log()
    staged = tmp_path / "b" / "utvm" / "model"
    assert call["args"][:7] == ["build", "-d", str(tmp_path / "b"), "-b", "native_sim",
                                "--pristine=never", str(REPO_ROOT / "samples" / "rpc_server")]
    assert f"-DUTVM_MODEL={staged}" in cmake_args(call)
    assert f"-DZEPHYR_EXTRA_MODULES={REPO_ROOT}" in cmake_args(call)
    assert call["zephyr_base"] == str(tmp_path / "zephyr")
    assert (staged / "codegen" / "host" / "src" / "default_lib2.c").is_file()
    record = json.loads((tmp_path / "b" / "utvm" / "build.json").read_text())
    assert record["model"] == {"kind": "mlf", "path": str(BUNDLED_MODEL)}
    assert record["app"] == "rpc_server" and record["host_driven"] is True


def test_same_model_again_does_not_reconfigure(tmp_path: Path, west_log, capsys) -> None:
    assert build("-b", "native_sim", "-d", "b", "--mlf", BUNDLED_MODEL) == 0
    assert build("-b", "native_sim", "-d", "b", "--mlf", BUNDLED_MODEL) == 0
    assert build("-d", "b") == 0  # board, app and model come from the build folder
    first, second, third = west_log()
    assert cmake_args(first) and not cmake_args(second) and not cmake_args(third)
    assert third["args"][3:5] == ["-b", "native_sim"]
    assert "model unchanged" in capsys.readouterr().out


def test_changed_model_source_rebuilds_without_reconfigure(tmp_path: Path, west_log) -> None:
    model = tmp_path / "model"
    shutil.copytree(BUNDLED_MODEL, model)
    assert build("-b", "native_sim", "-d", "b", "--mlf", model) == 0
    staged_lib = tmp_path / "b" / "utvm" / "model" / "codegen" / "host" / "src" / "default_lib2.c"
    with open(model / "codegen" / "host" / "src" / "default_lib2.c", "a") as handle:
        handle.write("/* changed */\n")
    assert build("-d", "b") == 0
    assert staged_lib.read_text().endswith("/* changed */\n")
    assert not cmake_args(west_log()[-1])
    (model / "metadata.json").write_text((model / "metadata.json").read_text() + " ")
    assert build("-d", "b") == 0
    assert cmake_args(west_log()[-1])  # metadata.json is read while configuring


def test_board_or_app_change_needs_pristine(tmp_path: Path, west_log, capsys) -> None:
    assert build("-b", "native_sim", "-d", "b", "--mlf", BUNDLED_MODEL) == 0
    assert build("-b", "qemu_x86", "-d", "b") == 2
    assert "is for board native_sim, not qemu_x86. Add -p" in capsys.readouterr().err
    assert build("-b", "native_sim", "-d", "b", "--app", "aot_inference",
                 "--mlf", AOT_C_MODEL) == 2
    assert "is for the application" in capsys.readouterr().err
    (tmp_path / "b" / "stale.txt").write_text("x")
    assert build("-b", "qemu_x86", "-d", "b", "-p") == 0
    assert not (tmp_path / "b" / "stale.txt").exists()
    last = west_log()[-1]
    # a PTY for the RPC UART; instruction counting for deterministic board times
    assert "-DQEMU_EXTRA_FLAGS=-serial;pty;-icount;shift=0,align=off,sleep=off" in cmake_args(last)
    assert f"-DUTVM_MODEL={tmp_path / 'b' / 'utvm' / 'model'}" in cmake_args(last)


def qemu_flags(call: dict) -> str | None:
    """The QEMU_EXTRA_FLAGS a configure call gives (None: not given)."""
    for argument in cmake_args(call):
        if argument.startswith("-DQEMU_EXTRA_FLAGS="):
            return argument.partition("=")[2]
    return None


def test_standalone_app_on_qemu_gets_instruction_counting_and_no_rpc_pty(
        tmp_path: Path, west_log) -> None:
    """aot_inference prints its results on the console: no PTY for an RPC UART it lacks."""
    assert build("-b", "qemu_cortex_m3", "-d", "b", "--app", "aot_inference",
                 "--mlf", AOT_C_MODEL) == 0
    (only,) = west_log()
    assert qemu_flags(only) == "-icount;shift=0,align=off,sleep=off"
    assert build("-d", "b") == 0
    assert not cmake_args(west_log()[-1])  # the same flags are in the cache


@pytest.mark.parametrize("app, flags", [("aot_inference", ""), ("rpc_server", "-serial;pty")])
def test_qemu_running_another_core_gets_no_instruction_counting(
        tmp_path: Path, west_log, monkeypatch, capsys, app: str, flags: str) -> None:
    """mps2/an521/cpu1: QEMU loads an image for CPU0 too, which spins once it has woken
    CPU1; with -icount shift=0, QEMU 7.2 gives the spinning CPU0 every instruction and the
    board hangs after "Booting Zephyr". The board's own clock setting stays."""
    monkeypatch.setenv("FAKE_WEST_QEMU_RUN", "-cpu cortex-m33 -machine mps2-an521 -icount "
                       "shift=7,align=off,sleep=off -device loader,file=b/zephyr/zephyr.elf "
                       "-device loader,file=b/empty_cpu0/zephyr/zephyr.elf")
    model = AOT_C_MODEL if app == "aot_inference" else BUNDLED_MODEL
    assert build("-b", "mps2/an521/cpu1", "-d", "b", "--app", app, "--mlf", model) == 0
    (only,) = west_log()
    assert qemu_flags(only) == flags
    out = " ".join(capsys.readouterr().out.split())
    assert "no -icount shift=0: QEMU runs 2 images, one per core" in out
    assert build("-d", "b") == 0
    assert not cmake_args(west_log()[-1])


def test_graph_model_gets_the_memory_and_packets_it_needs(tmp_path: Path, west_log,
                                                         kit) -> None:
    graph = kit.metadata_v7({"input": ("float32", 3072)}, {"output": ("float32", 3072)},
                            executor="graph")
    model = kit.write_tree(tmp_path / "graph_model", {
        "metadata.json": json.dumps(graph),
        "codegen/host/src/default_lib0.c": "int op;\nvoid* TVMSystemLibEntryPoint(void);\n",
        "executor-config/graph/default.graph": json.dumps(GRAPH_JSON | {"pad": "x" * 5000}),
        "parameters/default.params": kit.params_blob({"p0": bytes(9000)}),
    })
    assert build("-b", "native_sim", "-d", "b", "--mlf", model) == 0
    args = cmake_args(west_log()[-1])
    assert "-DCONFIG_UTVM_MEMORY_FROM_APP=y" in args
    assert not any("UTVM_ARENA_SIZE=" in a or "PACKET_SIZE=" in a for a in args)  # not Kconfig
    source = tmp_path / "b" / "utvm" / "memory" / "utvm_memory.c"
    assert f"-DUTVM_MEMORY_SOURCE={source}" in args
    arena, packet = generated_sizes(source)
    assert packet >= 9000 + 100  # the parameters travel in one request
    assert arena >= 256 + 2 * 3072 + 9000 + 5000  # workspace, tensors, params, graph
    written = source.stat().st_mtime_ns
    assert build("-d", "b") == 0
    assert not cmake_args(west_log()[-1])  # the same values are already in .config
    assert source.stat().st_mtime_ns == written  # nothing to recompile


def generated_sizes(source: Path) -> tuple[int, int]:
    text = source.read_text()
    arena = int(re.search(r"utvm_app_arena_size = (\d+);", text).group(1))
    packet = int(re.search(r"utvm_app_rpc_rx_size = (\d+);", text).group(1))
    assert f"utvm_app_arena[{arena}]" in text and f"utvm_app_rpc_rx_buf[{packet}]" in text
    return arena, packet


def test_another_model_changes_the_generated_sizes_not_kconfig(tmp_path: Path,
                                                                west_log) -> None:
    """Kconfig sizes recompiled the whole image (111 objects) on every model change."""
    assert build("-b", "native_sim", "-d", "b", "--mlf", BUNDLED_MODEL) == 0
    source = tmp_path / "b" / "utvm" / "memory" / "utvm_memory.c"
    before = generated_sizes(source)
    bigger = tmp_path / "bigger"
    shutil.copytree(BUNDLED_MODEL, bigger)
    metadata = json.loads((bigger / "metadata.json").read_text())
    main = metadata["modules"]["default"]["memory"]["functions"]["main"][0]
    main["workspace_size_bytes"] = 300000  # asked of the runtime: it grows the arena
    (bigger / "metadata.json").write_text(json.dumps(metadata))
    with open(bigger / "codegen" / "host" / "src" / "default_lib1.c", "a") as handle:
        handle.write("void* f(void) { return TVMBackendAllocWorkspace(1, 0, 300000, 0, 8); }\n")
    assert build("-d", "b", "--mlf", bigger) == 0
    assert generated_sizes(source)[0] > before[0] + 290000
    config = (tmp_path / "b" / "zephyr" / ".config").read_text()
    assert "CONFIG_UTVM_ARENA_SIZE" not in config and "CONFIG_UTVM_MEMORY_FROM_APP=y" in config


def test_sizes_given_by_the_user_win(tmp_path: Path, west_log) -> None:
    assert build("-b", "native_sim", "-d", "b", "--mlf", BUNDLED_MODEL, "--",
                 "-DCONFIG_UTVM_ARENA_SIZE=262144") == 0
    source = tmp_path / "b" / "utvm" / "memory" / "utvm_memory.c"
    assert generated_sizes(source)[0] == 262144


def test_model_compiled_with_tvm_home(tmp_path: Path, west_log, fake_tvm) -> None:
    fake_tvm()
    model = tmp_path / "kws.tflite"
    model.write_bytes(b"TFL3 fake")
    assert build("-b", "native_sim", "-d", "b", "--model", model) == 0
    assert build("-b", "native_sim", "-d", "b", "--model", model) == 0
    assert len(tvm_calls(tmp_path)) == 1  # the second build reused the compiled MLF
    assert (tmp_path / "b" / "utvm" / "compiled" / "model.tar").is_file()
    assert (tmp_path / "b" / "utvm" / "model" / "metadata.json").read_bytes() == \
        (BUNDLED_MODEL / "metadata.json").read_bytes()
    assert not cmake_args(west_log()[-1])


def test_model_for_the_standalone_app_is_compiled_with_the_c_interface(
        tmp_path: Path, west_log, fake_tvm) -> None:
    fake_tvm(mlf=AOT_C_MODEL)
    model = tmp_path / "kws.onnx"
    model.write_bytes(b"onnx")
    assert build("-b", "native_sim", "-d", "b", "--app", "aot_inference", "--model",
                 model) == 0
    (call,) = tvm_calls(tmp_path)
    assert call["executor_attrs"]["interface-api"] == "c"
    args = cmake_args(west_log()[-1])
    inputs = next(a for a in args if a.startswith("-DUTVM_INPUTS="))
    (input_file,) = inputs.split("=", 1)[1].split(";")
    assert Path(input_file).read_bytes() == bytes(Path(input_file).stat().st_size)  # zeros


def test_standalone_app_with_given_inputs(tmp_path: Path, west_log, capsys) -> None:
    data = BUNDLED_DATA
    assert build("-b", "native_sim", "-d", "b", "--app", "aot_inference", "--mlf",
                 AOT_C_MODEL, "--input", data / "input_0.npy", "--expected",
                 data / "tvm_crt_output_0.npy") == 0
    args = cmake_args(west_log()[-1])
    inputs = next(a for a in args if a.startswith("-DUTVM_INPUTS=")).split("=", 1)[1]
    expected = next(a for a in args if a.startswith("-DUTVM_EXPECTED_OUTPUTS=")).split("=", 1)[1]
    assert Path(inputs).read_bytes() == np.load(data / "input_0.npy").tobytes()
    assert Path(expected).read_bytes() == np.load(data / "tvm_crt_output_0.npy").tobytes()
    # An expected output of the wrong size is caught here, not on the board.
    assert build("-d", "b", "--expected", data / "input_0.npy") == 2
    assert "expected output 0 has 3072 bytes; the model's output 'output' has 40" in \
        capsys.readouterr().err


def test_wrong_model_for_the_app_is_refused_before_building(tmp_path: Path, west_log,
                                                            capsys) -> None:
    assert build("-b", "native_sim", "-d", "b", "--mlf", AOT_C_MODEL) == 2
    assert "interface-api=c: it runs standalone" in capsys.readouterr().err
    assert build("-b", "native_sim", "-d", "b2", "--app", "aot_inference",
                 "--mlf", BUNDLED_MODEL) == 2
    assert "needs an AOT model with interface-api=c" in capsys.readouterr().err
    assert west_log() == []


def test_broken_mlf_is_refused_with_a_precise_message(tmp_path: Path, west_log, capsys,
                                                      kit) -> None:
    archive = kit.tar_of_folder(BUNDLED_MODEL, tmp_path / "m.tar")
    evil = tmp_path / "evil.tar"
    import tarfile

    with tarfile.open(evil, "w") as tar:
        tar.add(archive, arcname="../../escape.tar")
    assert build("-b", "native_sim", "-d", "b", "--mlf", evil) == 2
    assert ".." in capsys.readouterr().err
    assert west_log() == []


def test_unknown_board_shows_zephyrs_message(tmp_path: Path, west_log, monkeypatch,
                                             capsys) -> None:
    monkeypatch.setenv("FAKE_WEST_FAIL", "1")
    assert build("-b", "nosuchboard", "-d", "b", "--mlf", BUNDLED_MODEL) == 2
    captured = capsys.readouterr()
    assert "No board named 'nosuchboard' found." in captured.out  # streamed through
    assert "west build failed (exit status 1)" in captured.err
    assert "No board named 'nosuchboard' found." in captured.err  # and repeated at the end
    assert "`west boards`" in captured.err


def test_missing_zephyr_python_module_says_what_to_install(tmp_path: Path, west_log,
                                                           monkeypatch, capsys) -> None:
    monkeypatch.setenv("FAKE_WEST_NO_MODULE", "1")
    assert build("-b", "native_sim", "-d", "b", "--mlf", BUNDLED_MODEL) == 2
    err = capsys.readouterr().err
    assert "ModuleNotFoundError: No module named 'elftools'" in err
    assert "need the Python module 'elftools'" in err
    assert "pip install -r $ZEPHYR_BASE/scripts/requirements.txt" in err


def test_west_build_arguments_after_the_double_dash(tmp_path: Path, west_log) -> None:
    assert build("-b", "native_sim", "-d", "b", "--mlf", BUNDLED_MODEL, "--", "--shield",
                 "x", "--", "-DCONFIG_FOO=y", "-DZEPHYR_EXTRA_MODULES=/other") == 0
    args = west_log()[-1]["args"]
    assert args[args.index("--shield") + 1] == "x"
    cmake = cmake_args(west_log()[-1])
    assert "-DCONFIG_FOO=y" in cmake
    assert f"-DZEPHYR_EXTRA_MODULES={REPO_ROOT};/other" in cmake
    assert build("-d", "b", "--", "-DCONFIG_BAR=y") == 0  # -D alone goes to CMake
    assert "-DCONFIG_BAR=y" in cmake_args(west_log()[-1])


def test_extra_zephyr_modules_join_ours_under_either_name(tmp_path: Path, west_log) -> None:
    """Zephyr reads EXTRA_ZEPHYR_MODULES before ZEPHYR_EXTRA_MODULES: given as such (as the
    docs say for a CMSIS-NN v4.1.0 tree), it replaced utvm's own module and Kconfig stopped
    at 'undefined symbol UTVM'."""
    assert build("-b", "native_sim", "-d", "b", "--mlf", BUNDLED_MODEL, "--",
                 "-DEXTRA_ZEPHYR_MODULES=/nn;/dsp") == 0
    cmake = cmake_args(west_log()[-1])
    assert f"-DZEPHYR_EXTRA_MODULES={REPO_ROOT};/nn;/dsp" in cmake
    assert not any(a.startswith("-DEXTRA_ZEPHYR_MODULES") for a in cmake)
    assert build("-d", "b", "--", "-DEXTRA_ZEPHYR_MODULES=/nn;/dsp") == 0  # nothing new
    assert not cmake_args(west_log()[-1])
    assert build("-d", "b", "--", "-DEXTRA_ZEPHYR_MODULES=/other") == 0
    assert f"-DZEPHYR_EXTRA_MODULES={REPO_ROOT};/other" in cmake_args(west_log()[-1])


def test_argument_without_double_dash(west_log, capsys) -> None:
    assert build("-b", "native_sim", "stray") == 2
    assert "unexpected argument 'stray'" in capsys.readouterr().err


def test_missing_board(west_log, capsys) -> None:
    assert build("--mlf", BUNDLED_MODEL) == 2
    assert "which board? Give it with -b" in capsys.readouterr().err


def test_no_zephyr(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("ZEPHYR_BASE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert build("-b", "native_sim", "--mlf", BUNDLED_MODEL) == 2
    assert "no Zephyr found: ZEPHYR_BASE is not set" in capsys.readouterr().err
    monkeypatch.setenv("ZEPHYR_BASE", str(tmp_path))
    assert build("-b", "native_sim", "--mlf", BUNDLED_MODEL) == 2
    assert "is not a Zephyr tree" in capsys.readouterr().err


def test_model_options_need_model(west_log, capsys) -> None:
    assert build("-b", "native_sim", "--mlf", BUNDLED_MODEL, "--executor", "graph") == 2
    assert "an --mlf is already compiled" in capsys.readouterr().err


SMALL_BOARD_DTS = """/dts-v1/;
/ {
	chosen {
		zephyr,console = &uart0;
		zephyr,sram = &sram0;
		zephyr,flash = &flash0;
	};
	sram0: memory@20000000 {
		compatible = "mmio-sram";
		reg = < 0x20000000 0x10000 >;
	};
	soc {
		flash0: flash@0 {
			compatible = "soc-nv-flash";
			reg = < 0x0 0x40000 >;
			partitions {
				slot0_partition: partition@0 {
					reg = < 0x0 0x1000 >;
				};
			};
		};
	};
};
"""


def test_model_too_large_for_the_board_is_refused_before_compiling(
        tmp_path: Path, west_log, monkeypatch, capsys, tvm_fixtures) -> None:
    """kws aot_packed holds 104,192 B of workspace in its code; the board has 64 KiB of RAM."""
    monkeypatch.setenv("FAKE_WEST_DTS", SMALL_BOARD_DTS)
    model = tvm_fixtures / "kws_ref_model" / "aot_packed"
    assert build("-b", "qemu_cortex_m3", "-d", "b", "--mlf", model) == 2
    err = capsys.readouterr().err
    assert "default (aot_packed) does not fit qemu_cortex_m3" in err
    assert "model workspace held by its code 104,192" in err
    assert "the board's zephyr,sram has 65,536 B" in err
    assert "-b mps2/an385" in err and "--executor graph" in err
    assert "Nothing was compiled" in err
    (only,) = west_log()
    assert "--cmake-only" in only["configure_args"] and only["compile"] is None


def test_model_that_fits_is_compiled(tmp_path: Path, west_log, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_WEST_DTS", SMALL_BOARD_DTS)
    assert build("-b", "qemu_cortex_m3", "-d", "b", "--mlf", BUNDLED_MODEL) == 0
    (only,) = west_log()
    assert only["compile"] is not None and not cmake_args(only["compile"])


def test_west_options_that_only_compile_do_not_reconfigure(tmp_path: Path, west_log) -> None:
    """`west utvm build -- -o=-j2` reconfigured on every build (5-7 s instead of 1.3 s)."""
    assert build("-b", "native_sim", "-d", "b", "--mlf", BUNDLED_MODEL, "--", "-o=-j2") == 0
    assert build("-d", "b", "--", "-o=-j2") == 0
    first, second = west_log()
    assert cmake_args(first) and not cmake_args(second)
    assert "-o=-j2" in second["args"] and "-o=-j2" in first["compile"]["args"]
    assert build("-d", "b", "--", "-DCONFIG_UTVM_ARENA_SIZE=65536") == 0
    assert "-DCONFIG_UTVM_ARENA_SIZE=65536" in cmake_args(west_log()[-1])
    assert build("-d", "b", "--", "-DCONFIG_UTVM_ARENA_SIZE=65536") == 0
    assert not cmake_args(west_log()[-1])  # already in .config
    assert build("-d", "b", "--", "--shield", "x") == 0
    assert "--shield" in west_log()[-1]["configure_args"]
    assert "--shield" not in west_log()[-1]["compile"]["args"]


def test_host_driven_model_without_system_library_is_refused(tmp_path: Path, west_log,
                                                              capsys) -> None:
    """Built without --runtime-crt-system-lib 1, it went through build and flash and failed
    only at run time ('no system library linked')."""
    model = tmp_path / "no_syslib"
    shutil.copytree(BUNDLED_MODEL, model)
    for source in (model / "codegen" / "host" / "src").glob("*.c"):
        text = source.read_text()
        source.write_text(text.replace("TVMSystemLibEntryPoint", "tvmgen_default_entry"))
    assert build("-b", "native_sim", "-d", "b", "--mlf", model) == 2
    err = capsys.readouterr().err
    assert "has no system library (no TVMSystemLibEntryPoint in its C sources)" in err
    assert "--runtime-crt-system-lib 1" in err
    assert west_log() == []  # refused before anything was built


@pytest.mark.parametrize(("output", "shown", "hint", "not_hinted"), [
    ('CMake Error at cmake/modules/FindZephyr-sdk.cmake:1 (find_package):\n'
     '  Could not find a package configuration file provided by "Zephyr-sdk" with any',
     'provided by "Zephyr-sdk"', "ZEPHYR_TOOLCHAIN_VARIANT=host for native_sim", "west boards"),
    ("/usr/bin/ld: zephyr_pre0.elf section `noinit' will not fit in region `RAM'\n"
     "/usr/bin/ld: region `RAM' overflowed by 168560 bytes",
     "region `RAM' overflowed by 168560 bytes", "168,560 bytes too large for the board's RAM",
     "west boards"),
    ("/w/b/utvm/model/codegen/host/src/default_lib1.c:12:3: error: unknown type name 'this'",
     "/w/b/utvm/model/codegen/host/src/default_lib1.c:12:3: error: unknown type name 'this'",
     "the model's generated code does not compile", "west boards"),
    ("/w/app/src/main.c:7:1: error: expected ';' before '}' token",
     "/w/app/src/main.c:7:1: error: expected ';'", "fix the code at the file and line",
     "west boards"),
])
def test_build_failure_hint_fits_the_failure(tmp_path: Path, west_log, monkeypatch, capsys,
                                             output: str, shown: str, hint: str,
                                             not_hinted: str) -> None:
    """Every failure ended with the unknown-board hint, and compile errors lost file:line."""
    monkeypatch.setenv("FAKE_WEST_OUTPUT", output)
    assert build("-b", "native_sim", "-d", "b", "--mlf", BUNDLED_MODEL) == 2
    err = capsys.readouterr().err
    assert shown in err and hint in err
    assert not_hinted not in err


def test_model_is_not_called_compiled_before_tvm_ran(tmp_path: Path, west_log, monkeypatch,
                                                     capsys) -> None:
    monkeypatch.delenv("TVM_HOME", raising=False)
    model = tmp_path / "kws.tflite"
    model.write_bytes(b"TFL3 fake")
    assert build("-b", "native_sim", "-d", "b", "--model", model) == 2
    captured = capsys.readouterr()
    assert "TVM_HOME is not set" in captured.err
    assert "kws.tflite compiled with TVM" not in captured.out
    assert "kws.tflite, to be compiled with TVM" in captured.out


CMSIS_NN_KWS = REPO_ROOT.parent / "shared" / "fixtures" / "tvm-0.18-cmsis-nn" / "kws_ref_model" / \
    "cmsis_nn_cortex_m4"


def test_model_compiled_with_cmsis_nn_gets_its_kernel_groups(tmp_path: Path, west_log,
                                                              fake_tvm) -> None:
    """--cmsis-nn-mcpu: TVM partitions for CMSIS-NN (targets c, then cmsis-nn with the mcpu),
    and the build enables Zephyr's cmsis-nn module with the kernel groups the MLF calls."""
    if not CMSIS_NN_KWS.is_dir():
        pytest.skip("no ../shared/fixtures/tvm-0.18-cmsis-nn")
    fake_tvm(mlf=CMSIS_NN_KWS)
    model = tmp_path / "kws.tflite"
    model.write_bytes(b"TFL3 fake")
    assert build("-b", "mps2/an386", "-d", "b", "--app", "aot_inference", "--model", model,
                 "--cmsis-nn-mcpu", "cortex-m4") == 0
    builds = [call for call in tvm_calls(tmp_path) if "relay_build" in call]
    assert [b["targets"] for b in builds] == [["c -keys=cpu -model=host",
                                               "cmsis-nn -mcpu=cortex-m4"]]
    args = cmake_args(west_log()[-1])
    for group in ("", "_CONVOLUTION", "_FULLYCONNECTED", "_NNSUPPORT", "_POOLING", "_SOFTMAX"):
        assert f"-DCONFIG_CMSIS_NN{group}=y" in args
    assert "-DCONFIG_CMSIS_NN_BASICMATH=y" not in args


def test_native_sim_gets_no_cmsis_nn_kconfig(tmp_path: Path, west_log) -> None:
    """Zephyr's CONFIG_CMSIS_NN needs a Cortex-M: on native_sim, utvm_add_model() compiles
    CMSIS-NN's portable code itself, and setting the option made Kconfig abort."""
    if not CMSIS_NN_KWS.is_dir():
        pytest.skip("no ../shared/fixtures/tvm-0.18-cmsis-nn")
    assert build("-b", "native_sim", "-d", "b", "--app", "aot_inference", "--mlf",
                 CMSIS_NN_KWS.parent / "cmsis_nn") == 0
    assert not [a for a in cmake_args(west_log()[-1]) if "CMSIS_NN" in a]


def test_cmsis_nn_is_a_compile_choice(west_log, capsys) -> None:
    assert build("-b", "native_sim", "--mlf", BUNDLED_MODEL, "--cmsis-nn") == 2
    assert "an --mlf is already compiled" in capsys.readouterr().err


def _conf_files(call: dict) -> str | None:
    for argument in cmake_args(call):
        if argument.startswith("-DEXTRA_CONF_FILE="):
            return argument.split("=", 1)[1]
    return None


def _ethernet_driver(base: Path) -> None:
    """A Zephyr tree with one Ethernet controller driver (it depends on a devicetree node)
    and one option that is no driver."""
    folder = base / "drivers" / "ethernet"
    folder.mkdir(parents=True)
    (folder / "Kconfig").write_text("menuconfig ETH_DRIVER\n\tbool \"Ethernet drivers\"\n"
                                    "config ETH_INIT_PRIORITY\n\tint \"Init priority\"\n")
    (folder / "Kconfig.lan").write_text("menuconfig ETH_LAN\n\tbool \"LAN driver\"\n\tdefault y"
                                        "\n\tdepends on DT_HAS_SOME_LAN_ENABLED\n")


def test_link_tcp_configures_the_network_and_qemu_user_networking(
        tmp_path: Path, west_log, monkeypatch, capsys) -> None:
    """--link tcp: tcp.conf, and on a board that turns out to run in QEMU tcp_slirp.conf too
    (configured again, as for QEMU's flags); the build record keeps the link, and the next
    build without options configures nothing again."""
    _ethernet_driver(tmp_path / "zephyr")
    monkeypatch.setenv("FAKE_WEST_QEMU_RUN", "-machine mps2-an385 -nic user,model=lan9118,"
                       "hostfwd=tcp:127.0.0.1:4242-:4242")
    assert build("-b", "mps2/an385", "-d", "b", "--link", "tcp", "--",
                 "-DCONFIG_ETH_LAN=y") == 0
    (only,) = west_log()
    assert _conf_files(only) == "tcp.conf;tcp_slirp.conf"
    assert "QEMU's user networking for RPC over TCP" in capsys.readouterr().out
    record = json.loads((tmp_path / "b" / "utvm" / "build.json").read_text())
    assert record["link"] == "tcp"
    assert build("-d", "b", "--", "-DCONFIG_ETH_LAN=y") == 0
    assert not cmake_args(west_log()[-1])
    # Back to the UART: the conf files go, which configures the UART firmware again.
    assert build("-d", "b", "--link", "uart") == 0
    assert _conf_files(west_log()[-1]) == ""
    assert json.loads((tmp_path / "b" / "utvm" / "build.json").read_text())["link"] == "uart"


def test_link_tcp_on_a_board_without_ethernet_is_refused_before_compiling(
        tmp_path: Path, west_log, capsys) -> None:
    _ethernet_driver(tmp_path / "zephyr")
    assert main(["build", "-b", "qemu_cortex_m0", "-d", "b", "--link", "tcp"]) == 2
    err = capsys.readouterr().err
    assert "error: qemu_cortex_m0 has no Ethernet controller Zephyr drives" in err
    assert "Build without --link tcp" in err
    assert all("--cmake-only" in call["configure_args"] and call["compile"] is None
               for call in west_log())


@pytest.mark.parametrize(("board", "app", "message"), [
    ("native_sim", None, "native_sim runs on this computer"),
    ("mps2/an385", "aot_inference", "--link tcp is an option of the rpc_server app"),
])
def test_link_tcp_where_it_makes_no_sense(tmp_path: Path, west_log, capsys, board: str,
                                          app: str | None, message: str) -> None:
    args = ["build", "-b", board, "-d", "b", "--link", "tcp"]
    if app:
        args += ["--app", app, "--mlf", str(AOT_C_MODEL)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("error: ") and "Traceback" not in err
    assert not west_log()
