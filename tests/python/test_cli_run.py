"""``utvm run`` and utvm.host: input checks, build cache, runner contract, real runs.

Three groups:
* input validation, which fails before anything is built;
* the build/cache/run plumbing against a tiny stand-in runner that follows the host
  runner contract (compiled with cmake in tmp_path);
* real runs of the TVM fixtures with runtime/host_runner, compared bit for bit.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from utvm.cli import main
from utvm.errors import UtvmError
from utvm.host import build_host_runner, find_cmake, run_on_host
from utvm.mlf import open_mlf

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST_RUNNER_CMAKELISTS = REPO_ROOT / "runtime" / "host_runner" / "CMakeLists.txt"
GRAPH_EXECUTOR_SOURCES = REPO_ROOT / "runtime" / "src" / "executors" / "graph"

needs_toolchain = pytest.mark.skipif(
    shutil.which("cmake") is None or shutil.which("cc") is None,
    reason="needs cmake and a C compiler (cc) on PATH to build a runner",
)

# A stand-in runner with the host runner's command line and output: every output file
# gets input 0's bytes plus one (mod 256); FAKE_RUNNER_FAIL makes it fail; with
# FAKE_RUNNER_ARGS set, it writes its arguments there, one per line.
FAKE_RUNNER_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  const char* inputs[16]; const char* outputs[16];
  int n_in = 0, n_out = 0, repeat = 1;
  const char* args_log = getenv("FAKE_RUNNER_ARGS");
  if (args_log) {
    FILE* log = fopen(args_log, "w");
    for (int i = 1; i < argc; ++i) fprintf(log, "%s\n", argv[i]);
    fclose(log);
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--input")) inputs[n_in++] = argv[i + 1];
    else if (!strcmp(argv[i], "--output")) outputs[n_out++] = argv[i + 1];
    else if (!strcmp(argv[i], "--repeat")) repeat = atoi(argv[i + 1]);
  }
  if (getenv("FAKE_RUNNER_FAIL")) {
    fprintf(stderr, "error: %s\n", getenv("FAKE_RUNNER_FAIL"));
    return 3;
  }
  unsigned char data[4096];
  FILE* in = fopen(inputs[0], "rb");
  size_t size = fread(data, 1, sizeof data, in);
  fclose(in);
  for (size_t i = 0; i < size; ++i) data[i] = (unsigned char)(data[i] + 1);
  printf("starting\n{\"executor\": \"aot_c\", \"outputs\": [");
  for (int o = 0; o < n_out; ++o) {
    FILE* out = fopen(outputs[o], "wb");
    fwrite(data, 1, size, out);
    fclose(out);
    printf("%s{\"dtype\": \"int8\", \"shape\": null}", o ? ", " : "");
  }
  printf("], \"seconds_per_inference\": 0.00025, \"repeat\": %d}\n", repeat);
  return 0;
}
"""

FAKE_RUNNER_CMAKE = """
cmake_minimum_required(VERSION 3.13)
project(fake_host_runner C)
if(NOT EXISTS "${UTVM_MLF_DIR}/metadata.json")
  message(FATAL_ERROR "UTVM_MLF_DIR does not hold an MLF")
endif()
add_executable(utvm_host_runner main.c)
"""


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    """A utvm checkout whose host runner is the stand-in; builds cached in tmp_path."""
    repo = tmp_path / "repo"
    runner_dir = repo / "runtime" / "host_runner"
    runner_dir.mkdir(parents=True)
    (runner_dir / "CMakeLists.txt").write_text(FAKE_RUNNER_CMAKE)
    (runner_dir / "main.c").write_text(FAKE_RUNNER_C)
    monkeypatch.setenv("UTVM_ROOT", str(repo))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("FAKE_RUNNER_FAIL", raising=False)
    monkeypatch.delenv("FAKE_RUNNER_ARGS", raising=False)
    return repo


def twelve_int8():
    return np.arange(12, dtype=np.int8).reshape(1, 12)


# ----------------------------------------------------------------------------------------
# Input validation: no runner needed, nothing is built.


def test_wrong_input_count_is_explained(aot_c_mlf):
    with pytest.raises(UtvmError, match=r"takes 1 input\(s\) but 2 were given.*input_1: int8"):
        run_on_host(aot_c_mlf, [twelve_int8(), twelve_int8()])


def test_wrong_dtype_is_refused_not_cast(aot_c_mlf):
    with pytest.raises(UtvmError, match=r"input 0 \('input_1'\) must be int8 but is float32"):
        run_on_host(aot_c_mlf, [np.zeros((1, 12), dtype=np.float32)])


def test_wrong_byte_size_is_explained(aot_c_mlf):
    with pytest.raises(UtvmError, match=r"has 13 bytes .* expects 12 bytes, shape \[1, 12\]"):
        run_on_host(aot_c_mlf, [np.zeros(13, dtype=np.int8)])


def test_repeat_must_be_positive(aot_c_mlf):
    with pytest.raises(UtvmError, match="repeat must be"):
        run_on_host(aot_c_mlf, [twelve_int8()], repeat=0)


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_reports_a_missing_input_file(capsys, aot_c_mlf, tmp_path):
    code, _, err = run_cli(capsys, "run", aot_c_mlf, "--input", tmp_path / "nope.npy")
    assert code == 2
    assert "input file" in err and "does not exist" in err


def test_cli_reports_a_file_that_is_not_npy(capsys, aot_c_mlf, tmp_path):
    bogus = tmp_path / "x.npy"
    bogus.write_text("1,2,3\n")
    code, _, err = run_cli(capsys, "run", aot_c_mlf, "--input", bogus)
    assert code == 2
    assert "cannot read" in err and "numpy.save()" in err


def test_cli_reports_an_npz_without_the_input_name(capsys, aot_c_mlf, tmp_path):
    archive = tmp_path / "in.npz"
    np.savez(archive, wrong_name=twelve_int8())
    code, _, err = run_cli(capsys, "run", aot_c_mlf, "--input", archive)
    assert code == 2
    assert "no array named input_1; it holds wrong_name" in err


def test_cli_reports_a_dtype_mismatch(capsys, aot_c_mlf, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((1, 12), dtype=np.float64))
    code, out, err = run_cli(capsys, "run", aot_c_mlf, "--input", path)
    assert code == 2 and out == ""
    assert "must be int8 but is float64" in err


def test_cli_rejects_zero_repeat(capsys, aot_c_mlf):
    code, _, err = run_cli(capsys, "run", aot_c_mlf, "--repeat", "0")
    assert code == 2
    assert "--repeat must be at least 1" in err


# ----------------------------------------------------------------------------------------
# Build, cache and runner contract, with the stand-in runner.


@needs_toolchain
def test_run_builds_once_then_reuses_the_cache(fake_repo, aot_c_mlf, tmp_path, capsys):
    result = run_on_host(aot_c_mlf, [twelve_int8()], repeat=3)
    assert result.executor == "aot_c"
    assert result.repeat == 3
    assert result.seconds_per_inference == pytest.approx(0.00025)
    assert len(result.outputs) == 1
    assert result.outputs[0].dtype == np.int8
    np.testing.assert_array_equal(result.outputs[0].reshape(-1), np.arange(1, 13))
    assert "building the host runner" in capsys.readouterr().err

    logs = list((tmp_path / "cache" / "utvm" / "host-runner").glob("*/build.log"))
    assert len(logs) == 1
    first_log = logs[0].read_text()
    run_on_host(aot_c_mlf, [twelve_int8()])
    assert "building the host runner" not in capsys.readouterr().err
    assert logs[0].read_text() == first_log


@needs_toolchain
def test_changed_runtime_sources_trigger_a_rebuild(fake_repo, aot_c_mlf, capsys):
    with open_mlf(aot_c_mlf) as mlf:
        first = build_host_runner(mlf)
        main_c = fake_repo / "runtime" / "host_runner" / "main.c"
        main_c.write_text(main_c.read_text() + "\n/* changed */\n")
        second = build_host_runner(mlf)
    assert first != second
    assert capsys.readouterr().err.count("building the host runner") == 2


@needs_toolchain
def test_runner_failure_shows_its_message(fake_repo, aot_c_mlf, monkeypatch):
    monkeypatch.setenv("FAKE_RUNNER_FAIL", "model exploded")
    with pytest.raises(UtvmError, match=r"failed \(exit code 3\):\nerror: model exploded"):
        run_on_host(aot_c_mlf, [twelve_int8()])


@needs_toolchain
def test_build_failure_shows_the_log_and_is_retried(fake_repo, aot_c_mlf, capsys):
    cmakelists = fake_repo / "runtime" / "host_runner" / "CMakeLists.txt"
    cmakelists.write_text('message(FATAL_ERROR "broken on purpose")\n')
    with pytest.raises(UtvmError, match=r"configure step failed(.|\n)*broken on purpose"):
        run_on_host(aot_c_mlf, [twelve_int8()])
    cmakelists.write_text(FAKE_RUNNER_CMAKE)
    assert run_on_host(aot_c_mlf, [twelve_int8()]).outputs[0].size == 12


@needs_toolchain
def test_graph_models_get_graph_and_params_arguments(fake_repo, kit, tmp_path, monkeypatch):
    metadata = kit.metadata_v7({"data": ("int8", 12)}, {"out": ("int8", 12)}, executor="graph")
    graph = {
        "nodes": [{"op": "null", "name": "data", "inputs": []},
                  {"op": "null", "name": "p0", "inputs": []}],
        "arg_nodes": [0, 1], "heads": [[0, 0, 0]], "node_row_ptr": [0, 1, 2],
        "attrs": {"dltype": ["list_str", ["int8", "int8"]],
                  "storage_id": ["list_int", [0, 1]],
                  "shape": ["list_shape", [[12], [4]]]},
    }
    folder = kit.write_tree(tmp_path / "graph_mlf", {
        "metadata.json": json.dumps(metadata),
        "codegen/host/src/default_lib0.c": "",
        "executor-config/graph/default.graph": json.dumps(graph),
        "parameters/default.params": kit.params_blob({"p0": bytes(4)}),
    })
    args_log = tmp_path / "args.txt"
    monkeypatch.setenv("FAKE_RUNNER_ARGS", str(args_log))
    run_on_host(folder, [np.zeros(12, dtype=np.int8)])
    args = args_log.read_text().splitlines()
    assert args[args.index("--graph") + 1].endswith("executor-config/graph/default.graph")
    assert args[args.index("--params") + 1].endswith("parameters/default.params")
    assert args.count("--input") == 1 and args.count("--output") == 1


@needs_toolchain
def test_aot_models_get_no_graph_or_empty_params(fake_repo, aot_c_mlf, tmp_path, monkeypatch):
    args_log = tmp_path / "args.txt"
    monkeypatch.setenv("FAKE_RUNNER_ARGS", str(args_log))
    run_on_host(aot_c_mlf, [twelve_int8()], repeat=5)
    args = args_log.read_text().splitlines()
    assert "--graph" not in args and "--params" not in args
    assert args[args.index("--repeat") + 1] == "5"


@needs_toolchain
def test_cli_run_with_default_zero_inputs(fake_repo, aot_c_mlf, tmp_path, capsys):
    out_dir = tmp_path / "results"
    code, out, err = run_cli(capsys, "run", aot_c_mlf, "--output-dir", out_dir)
    assert code == 0, err
    assert "no --input given; using all-zero inputs: input_1 (int8, shape [1, 12])" in err
    saved = np.load(out_dir / "output_0.npy")
    np.testing.assert_array_equal(saved, np.ones(12, dtype=np.int8))
    assert "output 0 'Identity': int8, shape [12]" in out
    assert "time per inference: 250.0 µs (host runner, aot_c, 1 run)" in out


@needs_toolchain
def test_cli_run_with_an_npy_input(fake_repo, aot_c_mlf, tmp_path, capsys):
    values = np.array([[0, 5, 9, 2, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=np.int8)
    np.save(tmp_path / "x.npy", values)
    code, out, err = run_cli(capsys, "run", aot_c_mlf, "--input", tmp_path / "x.npy",
                             "--output-dir", tmp_path / "o", "--repeat", "2")
    assert code == 0, err
    assert "argmax: 2 (value 10)" in out
    assert "mean of 2 runs" in out


def test_missing_host_runner_sources_are_explained(aot_c_mlf, tmp_path, monkeypatch):
    (tmp_path / "repo" / "runtime").mkdir(parents=True)
    monkeypatch.setenv("UTVM_ROOT", str(tmp_path / "repo"))
    with pytest.raises(UtvmError, match=r"host runner sources are missing"):
        run_on_host(aot_c_mlf, [twelve_int8()])


def test_a_utvm_root_without_runtime_is_explained(aot_c_mlf, tmp_path, monkeypatch):
    monkeypatch.setenv("UTVM_ROOT", str(tmp_path))
    with pytest.raises(UtvmError, match=r"UTVM_ROOT .* has no runtime/ folder"):
        run_on_host(aot_c_mlf, [twelve_int8()])


def test_missing_cmake_is_explained(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "cmake", None)
    with pytest.raises(UtvmError, match=r"cmake was not found.*pip install cmake"):
        find_cmake()


# ----------------------------------------------------------------------------------------
# Real runs with runtime/host_runner on the TVM 0.18 fixtures (bit-exact).


@pytest.fixture(scope="session")
def shared_build_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("utvm-cache")


@pytest.fixture
def real_runner(shared_build_cache, monkeypatch):
    if not HOST_RUNNER_CMAKELISTS.is_file():
        pytest.skip("runtime/host_runner/CMakeLists.txt does not exist yet")
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not on PATH")
    monkeypatch.delenv("UTVM_ROOT", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_build_cache))


def skip_unbuilt_executor(fixture_dir):
    if fixture_dir.name.startswith("graph") and not any(GRAPH_EXECUTOR_SOURCES.glob("*.c")):
        pytest.skip("runtime/src/executors/graph has no sources yet")


def test_host_runner_matches_tvm_bit_for_bit(real_runner, fixture_dir, monkeypatch):
    skip_unbuilt_executor(fixture_dir)
    if fixture_dir.name.startswith("cmsis_nn"):
        from testsupport import cmsis_nn_dir

        # utvm's host build finds CMSIS-NN through the environment, as a user's would.
        monkeypatch.setenv("UTVM_CMSIS_NN_DIR", str(cmsis_nn_dir()))
    inputs = [np.load(p) for p in sorted(fixture_dir.glob("input_*.npy"))]
    expected = [np.load(p) for p in sorted(fixture_dir.glob("tvm_crt_output_*.npy"))]
    result = run_on_host(fixture_dir, inputs)
    assert len(result.outputs) == len(expected)
    for actual, reference in zip(result.outputs, expected, strict=True):
        assert actual.dtype == reference.dtype
        assert actual.size == reference.size
        np.testing.assert_array_equal(actual.reshape(reference.shape), reference)
    assert result.seconds_per_inference >= 0


def test_cli_run_on_a_fixture_archive(real_runner, tvm_fixtures, kit, tmp_path, capsys):
    variant = tvm_fixtures / "tiny_conv_f32" / "aot_packed"
    archive = kit.tar_of_folder(variant, tmp_path / "model.tar")
    code, out, err = run_cli(capsys, "run", archive, "--input", variant / "input_0.npy",
                             "--output-dir", tmp_path / "out")
    assert code == 0, err
    saved = np.load(tmp_path / "out" / "output_0.npy")
    np.testing.assert_array_equal(saved, np.load(variant / "tvm_crt_output_0.npy"))
    assert "output 0 'output': float32, shape [1, 10]" in out
    assert f"argmax: {int(np.argmax(saved))}" in out
