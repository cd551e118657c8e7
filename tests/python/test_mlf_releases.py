"""Every TVM release that wrote a Model Library Format, read and run the same way everywhere.

Each synthetic MLF below is laid out as one release wrote it (facts from TVM's history of
python/tvm/micro/model_library_format.py and its C-interface code generator):

* TVM 0.8 (MLF 5): one module at the top level, target a {device: target} map,
  ``src/relay.txt`` without the result type, no per-tensor records in metadata.json, no
  ``TVMGEN_*_SIZE`` macros; the header declares ``tvmgen_<mod>_run()`` but the code defines
  ``tvmgen_<mod>_run_model(void* input..., void* output...)``.
* TVM 0.9 development snapshots of mid-2022 (MLF 6): target a list; otherwise as 0.8, with
  0.9's ``__tvm_main__`` and ``tvmgen_<mod>_run()`` code.
* TVM 0.9 and 0.10 (MLF 7): ``modules``, ``src/<mod>.relay``; still no per-tensor records
  and no size macros.
* TVM 0.11 to 0.18 (MLF 7): per-tensor dtype and size in metadata.json, size macros.

The model is y = x + 1 on int8[1, 4], its input named ``serving_default_x:0`` (a name TVM
sanitizes to ``serving_default_x_0`` in C). Each export is read by ``utvm info``, built and
run by a plain CMake app through ``utvm_add_model()`` and run by ``utvm run``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mlfsupport import APP, EMPTY_PARAMS, run_app, write_files

from testsupport import REPO_ROOT, cmake_exe

INPUT = "serving_default_x:0"
FIELD = "serving_default_x_0"
X = np.array([[1, -2, 3, 127]], dtype=np.int8)
Y = (X.astype(np.int16) + 1).astype(np.int8)  # wraps like the generated C

RELEASES = ("0.8", "0.9.dev", "0.9", "0.11")
MLF_VERSION = {"0.8": 5, "0.9.dev": 6, "0.9": 7, "0.11": 7}

_OPERATOR = """#include <tvm/runtime/c_runtime_api.h>
#include <tvm/runtime/c_backend_api.h>
TVM_DLL int32_t tvmgen_default_fused_add(int8_t* placeholder, int8_t* T_add) {
  for (int32_t i = 0; i < 4; ++i) {
    T_add[i] = (int8_t)(placeholder[i] + (int8_t)1);
  }
  return 0;
}
"""
# TVM 0.8: the AOT entry point takes one void* per tensor and hands it to the operators.
_RUN_MODEL_08 = """TVM_DLL int32_t tvmgen_default_run_model(void* serving_default_x_0,
                                           void* output) {
  (void)tvmgen_default_fused_add(serving_default_x_0, output);
  return 0;
}
"""
# TVM 0.9 on: typed __tvm_main__ and the C-interface run function that calls it.
_MAIN_09 = """TVM_DLL int32_t tvmgen_default___tvm_main__(int8_t* x_buffer_var,
                                              int8_t* output_buffer_var) {
  return tvmgen_default_fused_add(x_buffer_var, output_buffer_var);
}
"""
_RUN_09 = """#include <tvmgen_default.h>
#include <tvm/runtime/c_runtime_api.h>
TVM_DLL int32_t tvmgen_default___tvm_main__(void* serving_default_x_0, void* output0);
int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs,
                           struct tvmgen_default_outputs* outputs) {
  return tvmgen_default___tvm_main__(inputs->serving_default_x_0, outputs->output);
}
"""


def _header(size_macros: bool) -> str:
    macros = ""
    if size_macros:
        macros = (f"#define TVMGEN_DEFAULT_{FIELD.upper()}_SIZE 4\n"
                  "#define TVMGEN_DEFAULT_OUTPUT_SIZE 4\n")
    return (
        "#ifndef TVMGEN_DEFAULT_H_\n#define TVMGEN_DEFAULT_H_\n#include <stdint.h>\n"
        f"{macros}struct tvmgen_default_inputs {{\n  void* {FIELD};\n}};\n"
        "struct tvmgen_default_outputs {\n  void* output;\n};\n"
        "int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs,\n"
        "                           struct tvmgen_default_outputs* outputs);\n"
        "#define TVMGEN_DEFAULT_WORKSPACE_SIZE 0\n#endif\n"
    )


def _relay(result_type: bool) -> str:
    result = " -> Tensor[(1, 4), int8]" if result_type else ""
    return (f"def @main(%{INPUT}: Tensor[(1, 4), int8]){result} {{\n"
            f"  add(%{INPUT}, 1i8)\n}}\n")


def _metadata(release: str) -> dict[str, Any]:
    main: dict[str, Any] = {"constants_size_bytes": 0, "device": 1, "io_size_bytes": 8,
                            "workspace_size_bytes": 0}
    if release == "0.11":
        main["inputs"] = {INPUT: {"dtype": "int8", "size": 4}}
        main["outputs"] = {"output": {"dtype": "int8", "size": 4}}
    entry: dict[str, Any] = {
        "executors": ["aot"],
        "export_datetime": "2022-06-01 10:00:00Z",
        "memory": {"functions": {"main": [main], "operator_functions": []}},
        "model_name": "default",
        "style": "full-model",
        "target": ["c -keys=cpu -model=host"],
    }
    if release == "0.8":
        entry["target"] = {"1": "c -keys=cpu -link-params=0 -model=host"}
        return {**entry, "version": 5}
    entry["external_dependencies"] = [{"short_name": "tvm_standalone_crt", "url": "./runtime",
                                       "url_type": "mlf_path", "version_spec": "0.9.dev0"}]
    if release == "0.9.dev":
        return {**entry, "version": 6}
    return {"modules": {"default": entry}, "version": 7}


def release_mlf(root: Path, release: str) -> Path:
    """The y = x + 1 model exported as ``release`` laid its MLF out."""
    legacy = release == "0.8"
    files: dict[str, str | bytes] = {
        "metadata.json": json.dumps(_metadata(release), indent=2),
        "codegen/host/include/tvmgen_default.h": _header(size_macros=release == "0.11"),
        "codegen/host/src/default_lib0.c": _OPERATOR + (_RUN_MODEL_08 if legacy else _MAIN_09),
        "parameters/default.params": EMPTY_PARAMS,
    }
    if not legacy:
        files["codegen/host/src/default_lib1.c"] = _RUN_09
    relay_file = "src/default.relay" if MLF_VERSION[release] == 7 else "src/relay.txt"
    files[relay_file] = _relay(result_type=not legacy)
    return write_files(root / f"tvm-{release}", files)


def utvm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "utvm", *args], capture_output=True, text=True,
                          check=False, timeout=600)


@pytest.mark.parametrize("release", RELEASES)
def test_info_reads_every_release(release: str, tmp_path: Path) -> None:
    proc = utvm("info", "--json", str(release_mlf(tmp_path, release)))
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["mlf_version"] == MLF_VERSION[release]
    assert info["interface"] == "c"
    assert [(t["name"], t["dtype"], t["shape"]) for t in info["inputs"]] == [
        (INPUT, "int8", [1, 4])
    ]
    # TVM 0.8 states the output's dtype only in the code, its size only as io_size_bytes.
    shape = None if release == "0.8" else [1, 4]
    assert [(t["dtype"], t["shape"], t["size_bytes"]) for t in info["outputs"]] == [
        ("int8", shape, 4)
    ]


@pytest.mark.parametrize("release", RELEASES)
def test_add_model_builds_and_runs_every_release(release: str, tmp_path: Path) -> None:
    mlf = release_mlf(tmp_path, release)
    (out,) = run_app(mlf, tmp_path / "build", [X], 1)
    assert out == Y.tobytes()
    variables = (tmp_path / "build" / "model_variables.txt").read_text()
    assert f"mlf_version={MLF_VERSION[release]}\n" in variables
    assert "interface=c\n" in variables


@pytest.mark.parametrize("release", RELEASES)
def test_utvm_run_every_release(release: str, tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", X)
    out_dir = tmp_path / "out"
    proc = utvm("run", str(release_mlf(tmp_path, release)), "--board", "host-runner",
                "--input", str(tmp_path / "x.npy"), "--output-dir", str(out_dir))
    assert proc.returncode == 0, proc.stderr
    got = np.load(out_dir / "output_0.npy")
    assert got.dtype == np.int8 and got.tobytes() == Y.tobytes()
    assert got.shape == ((4,) if release == "0.8" else (1, 4))


def test_add_model_reads_metadata_with_semicolons(tmp_path: Path) -> None:
    """metadata.json is read by the host package, not CMake's string(JSON): ';' is text."""
    mlf = release_mlf(tmp_path, "0.11")
    metadata = json.loads((mlf / "metadata.json").read_text())
    metadata["modules"]["default"]["export_datetime"] = "2024-01-31; 12:00"
    metadata["modules"]["default"]["target"] = ["c -keys=cpu -model=host;a;b"]
    (mlf / "metadata.json").write_text(json.dumps(metadata))
    (out,) = run_app(mlf, tmp_path / "build", [X], 1)
    assert out == Y.tobytes()


def test_add_model_without_the_packages_says_what_to_install(tmp_path: Path) -> None:
    """A Python that lacks PyYAML/pykwalify: one line naming the pip command, no traceback."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    proc = subprocess.run(
        [cmake_exe(), "-S", str(APP), "-B", str(tmp_path / "build"),
         f"-DUTVM_TEST_MLF={release_mlf(tmp_path, '0.11')}",
         f"-DPython3_EXECUTABLE={bare / 'bin' / 'python'}"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode != 0
    message = " ".join(proc.stderr.split())  # CMake wraps long messages
    assert "cannot import 'yaml'" in message
    assert "-m pip install pyyaml pykwalify" in message
    assert "Traceback" not in message


def test_describe_step_runs_without_numpy(tmp_path: Path) -> None:
    """utvm_add_model()'s Python step needs only what Zephyr's Python has (no numpy)."""
    launcher = REPO_ROOT / "cmake" / "utvm_describe.py"
    script = (
        "import runpy, sys\n"
        "sys.modules['numpy'] = None  # any import of numpy now fails\n"
        f"sys.argv = ['utvm_describe.py', '--mlf', {str(release_mlf(tmp_path, '0.8'))!r},"
        f" '--out-dir', {str(tmp_path / 'out')!r}]\n"
        f"runpy.run_path({str(launcher)!r}, run_name='__main__')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    fragment = (tmp_path / "out" / "model.cmake").read_text()
    assert "set(UTVM_DESCRIBED_MLF_VERSION [=[5]=])" in fragment
    assert "tvmgen_default_run_model(" in (tmp_path / "out" / "utvm_model_default.c").read_text()


def test_add_model_refuses_what_utvm_info_refuses(tmp_path: Path) -> None:
    """The same reader: an operator-style export is refused with the package's message."""
    mlf = release_mlf(tmp_path, "0.11")
    metadata = json.loads((mlf / "metadata.json").read_text())
    (mlf / "metadata.json").write_text(json.dumps({**metadata, "style": "operator"}))
    proc = subprocess.run(
        [cmake_exe(), "-S", str(APP), "-B", str(tmp_path / "build"), f"-DUTVM_TEST_MLF={mlf}",
         f"-DPython3_EXECUTABLE={sys.executable}"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode != 0
    message = " ".join(proc.stderr.split())  # CMake wraps long messages
    assert "utvm_add_model(app): " in message
    assert "operator-style export" in message


@pytest.mark.parametrize(("version", "writer"), [
    (4, "a TVM 0.8 development snapshot of 2021"),
    (8, "a TVM newer than 0.18"),
])
def test_versions_no_release_of_microtvm_wrote_are_refused_naming_the_writer(
    version: int, writer: str, tmp_path: Path
) -> None:
    mlf = release_mlf(tmp_path, "0.8")
    metadata = json.loads((mlf / "metadata.json").read_text())
    (mlf / "metadata.json").write_text(json.dumps({**metadata, "version": version}))
    proc = utvm("info", str(mlf))
    assert proc.returncode != 0
    assert f"version {version} is not supported (it comes from {writer}" in proc.stderr
    assert "TVM 0.8 to 0.18" in proc.stderr
    cmake = subprocess.run(
        [cmake_exe(), "-S", str(APP), "-B", str(tmp_path / "build"), f"-DUTVM_TEST_MLF={mlf}",
         f"-DPython3_EXECUTABLE={sys.executable}"],
        capture_output=True, text=True, check=False,
    )
    assert cmake.returncode != 0
    assert f"it comes from {writer}" in " ".join(cmake.stderr.split())


@pytest.mark.parametrize(("release", "writer"), [
    ("0.8", "this MLF version 5 export comes from TVM 0.8"),
    ("0.9", "this MLF version 7 export comes from TVM 0.9 or 0.10"),
])
def test_what_an_old_release_left_out_is_refused_naming_the_release(
    release: str, writer: str, tmp_path: Path
) -> None:
    """An output whose dtype no file states (metadata.json before TVM 0.11 lists none, the
    Relay text has no result type, the code passes void*): the message says which release
    wrote the export, what it lacks and which TVM writes it, in `utvm info` and CMake."""
    mlf = release_mlf(tmp_path, release)
    code = mlf / "codegen" / "host" / "src" / "default_lib0.c"
    code.write_text(code.read_text().replace("int8_t* ", "void* "))
    for relay in (mlf / "src").iterdir():
        relay.write_text(re.sub(r"\) -> Tensor\[[^\]]*\]", ")", relay.read_text()))
    proc = utvm("info", str(mlf))
    assert proc.returncode != 0
    (error,) = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith("error: cannot tell the dtype of output 'output':")
    assert "metadata.json lists no per-tensor dtypes" in error
    assert f"({writer}; TVM 0.11 was the first to list them)" in error
    assert "Export the model with TVM 0.11 or later." in error
    cmake = subprocess.run(
        [cmake_exe(), "-S", str(APP), "-B", str(tmp_path / "build"), f"-DUTVM_TEST_MLF={mlf}",
         f"-DPython3_EXECUTABLE={sys.executable}"],
        capture_output=True, text=True, check=False,
    )
    assert cmake.returncode != 0
    assert writer in " ".join(cmake.stderr.split())


# ----------------------------------------------------------------------------------------
# Output shapes of a TVM 0.18 C-interface export with two outputs of different dtypes

_TWO_OUTPUTS_C = """#include <tvmgen_default.h>
#include <tvm/runtime/c_runtime_api.h>
TVM_DLL int32_t tvmgen_default___tvm_main__(float* x_buffer_var, float* Identity_buffer_var,
                                              int32_t* Identity_1_buffer_var) {
  for (int32_t i = 0; i < 8; ++i) {
    Identity_buffer_var[i] = x_buffer_var[i] * 2.0f;
    Identity_1_buffer_var[i] = (int32_t)x_buffer_var[i];
  }
  return 0;
}
int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs,
                           struct tvmgen_default_outputs* outputs) {
  return tvmgen_default___tvm_main__(inputs->x, outputs->Identity, outputs->Identity_1);
}
"""


def two_output_mlf(root: Path, result_type: str) -> Path:
    metadata = json.loads((release_mlf(root / "base", "0.11") / "metadata.json").read_text())
    main = metadata["modules"]["default"]["memory"]["functions"]["main"][0]
    main["inputs"] = {"x": {"dtype": "float32", "size": 32}}
    main["outputs"] = {"Identity": {"dtype": "float32", "size": 32},
                       "Identity_1": {"dtype": "int32", "size": 32}}
    main["io_size_bytes"] = 96
    header = (
        "#include <stdint.h>\nstruct tvmgen_default_inputs {\n  void* x;\n};\n"
        "struct tvmgen_default_outputs {\n  void* Identity;\n  void* Identity_1;\n};\n"
        "int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs,\n"
        "                           struct tvmgen_default_outputs* outputs);\n"
    )
    return write_files(root / "two_outputs", {
        "metadata.json": json.dumps(metadata),
        "codegen/host/include/tvmgen_default.h": header,
        "codegen/host/src/default_lib0.c": _TWO_OUTPUTS_C,
        "parameters/default.params": EMPTY_PARAMS,
        "src/default.relay": f"def @main(%x: Tensor[(1, 8), float32]){result_type}",
    })


@pytest.mark.parametrize("result_type", [
    " -> (Tensor[(1, 8), float32], Tensor[(1, 4, 2), int32]) {\n  %0 = f(%x);\n  %0\n}\n",
    # No '->': the type TVM printed after the last expression.
    " {\n  (multiply(%x, 2f), cast(%x, dtype=\"int32\"))"
    " /* ty=(Tensor[(1, 8), float32], Tensor[(1, 4, 2), int32]) */\n}\n",
], ids=["result-type", "ty-comment"])
def test_outputs_keep_the_models_shapes(result_type: str, tmp_path: Path) -> None:
    x = np.arange(8, dtype=np.float32).reshape(1, 8) - 3.5
    np.save(tmp_path / "x.npy", x)
    mlf = two_output_mlf(tmp_path, result_type)
    proc = utvm("run", str(mlf), "--board", "host-runner", "--input", str(tmp_path / "x.npy"),
                "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    first, second = (np.load(tmp_path / "out" / f"output_{i}.npy") for i in range(2))
    assert first.shape == (1, 8) and first.dtype == np.float32
    assert np.array_equal(first, x * 2)
    assert second.shape == (1, 4, 2) and second.dtype == np.int32
    assert np.array_equal(second.reshape(-1), x.astype(np.int32).reshape(-1))


# ----------------------------------------------------------------------------------------
# Tensor names that are not C identifiers, in a real TVM 0.18 AOT packed export

TVM_018 = REPO_ROOT.parent / "shared" / "fixtures" / "tvm-0.18" / "tiny_conv_f32" / "aot_packed"


def renamed_input_export(root: Path) -> Path:
    """tiny_conv_f32's AOT packed export as TVM 0.18 writes a model whose input is named
    ``serving_default_input:0``: that name in metadata.json and Relay, the sanitized
    ``serving_default_input_0`` in the generated metadata tables."""
    mlf = root / "renamed"
    shutil.copytree(TVM_018, mlf)
    metadata_path = mlf / "metadata.json"
    metadata = json.loads(metadata_path.read_text())
    main = metadata["modules"]["default"]["memory"]["functions"]["main"][0]
    main["inputs"] = {"serving_default_input:0": main["inputs"].pop("input")}
    metadata_path.write_text(json.dumps(metadata))
    table = mlf / "codegen" / "host" / "src" / "default_lib1.c"
    text = table.read_text()
    assert text.count('"input" /* name*/') == 1
    table.write_text(text.replace('"input" /* name*/', '"serving_default_input_0" /* name*/'))
    relay = mlf / "src" / "default.relay"
    relay.write_text(re.sub(r"%input\b", "%serving_default_input:0", relay.read_text()))
    return mlf


@pytest.mark.skipif(not TVM_018.is_dir(), reason="TVM 0.18 fixtures not found")
@pytest.mark.parametrize("board", ["host", "host-runner"])
def test_names_tvm_sanitizes_run_on_every_board(board: str, tmp_path: Path) -> None:
    mlf = renamed_input_export(tmp_path)
    info = json.loads(utvm("info", "--json", str(mlf)).stdout)
    assert [t["name"] for t in info["inputs"]] == ["serving_default_input:0"]
    proc = utvm("run", str(mlf), "--board", board, "--input", str(TVM_018 / "input_0.npy"),
                "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    expected = np.load(TVM_018 / "tvm_crt_output_0.npy")
    assert np.load(tmp_path / "out" / "output_0.npy").tobytes() == expected.tobytes()


TVM_018_GRAPH = TVM_018.parent / "graph"


@pytest.mark.skipif(not TVM_018_GRAPH.is_dir(), reason="TVM 0.18 fixtures not found")
@pytest.mark.parametrize("board", ["host", "host-runner"])
def test_graph_input_named_like_a_tensorflow_tensor_runs(board: str, tmp_path: Path) -> None:
    """The graph executor: TVM keeps ``serving_default_input:0`` in metadata.json, the graph
    JSON and Relay alike; the input is set by that name, over RPC and in the host runner."""
    mlf = tmp_path / "renamed_graph"
    shutil.copytree(TVM_018_GRAPH, mlf)
    metadata = json.loads((mlf / "metadata.json").read_text())
    main = metadata["modules"]["default"]["memory"]["functions"]["main"][0]
    main["inputs"] = {"serving_default_input:0": main["inputs"].pop("input")}
    (mlf / "metadata.json").write_text(json.dumps(metadata))
    graph_path = mlf / "executor-config" / "graph" / "default.graph"
    graph = json.loads(graph_path.read_text())
    (node,) = [n for n in graph["nodes"] if n["name"] == "input"]
    node["name"] = "serving_default_input:0"
    graph_path.write_text(json.dumps(graph))
    relay = mlf / "src" / "default.relay"
    relay.write_text(re.sub(r"%input\b", "%serving_default_input:0", relay.read_text()))
    info = json.loads(utvm("info", "--json", str(mlf)).stdout)
    assert [t["name"] for t in info["inputs"]] == ["serving_default_input:0"]
    proc = utvm("run", str(mlf), "--board", board, "--input", str(mlf / "input_0.npy"),
                "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    expected = np.load(mlf / "tvm_crt_output_0.npy")
    assert np.load(tmp_path / "out" / "output_0.npy").tobytes() == expected.tobytes()


def test_a_relay_type_that_disagrees_with_metadata_is_not_used(tmp_path: Path) -> None:
    """metadata.json's sizes win: a Relay result type of other sizes leaves shapes unknown."""
    mlf = two_output_mlf(tmp_path, " -> (Tensor[(1, 9), float32], Tensor[(1, 4, 2), int32]) "
                                   "{\n  %0\n}\n")
    info = json.loads(utvm("info", "--json", str(mlf)).stdout)
    assert [t["shape"] for t in info["outputs"]] == [None, [1, 4, 2]]
