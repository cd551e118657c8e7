"""--model: TVM (a fake one, in its own process) compiles the model into the build folder,
with the options the app needs; an unchanged model is not compiled again."""

from __future__ import annotations

import json
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from westsupport import tvm_calls

from utvm.board.tvm_compile import CompileOptions, compile_model
from utvm.errors import UtvmError


@pytest.fixture
def tflite(tmp_path: Path) -> Path:
    model = tmp_path / "model.tflite"
    model.write_bytes(b"TFL3 fake flatbuffer")
    return model


def test_compiles_into_the_build_folder_with_tvmc(tmp_path: Path, tflite: Path,
                                                 fake_tvm: Callable[..., Path]) -> None:
    fake_tvm()
    out = tmp_path / "build" / "utvm" / "compiled"
    result = compile_model(tflite, out, CompileOptions("aot", "packed"))
    assert result.archive == out / "model.tar" and not result.reused
    with tarfile.open(result.archive) as tar:
        assert "./metadata.json" in tar.getnames()
    (call,) = tvm_calls(tmp_path)
    assert call["model"] == str(tflite.resolve())
    assert call["output_format"] == "mlf" and call["mod_name"] == "default"
    assert call["target"] == "c -keys=cpu -model=host"
    assert call["executor"] == "aot" and call["executor_attrs"] == {"link-params": True}
    assert call["runtime"] == "crt" and call["runtime_attrs"] == {"system-lib": True}
    assert call["pass_configs"] == ["tir.disable_vectorize=1"]
    record = json.loads((out / "compile.json").read_text())
    assert record["tvm_version"] == "0.18.0"


def test_standalone_c_interface_options(tmp_path: Path, tflite: Path,
                                        fake_tvm: Callable[..., Path]) -> None:
    fake_tvm()
    compile_model(tflite, tmp_path / "out", CompileOptions("aot", "c", "c -mcpu=cortex-m4"))
    (call,) = tvm_calls(tmp_path)
    assert call["executor_attrs"] == {"link-params": True, "interface-api": "c",
                                      "unpacked-api": True}
    assert call["runtime_attrs"] == {}
    assert call["pass_configs"] == ["tir.disable_vectorize=1", "tir.usmp.enable=1"]
    assert call["target"] == "c -mcpu=cortex-m4"


def test_graph_executor_options(tmp_path: Path, tflite: Path,
                                fake_tvm: Callable[..., Path]) -> None:
    fake_tvm()
    compile_model(tflite, tmp_path / "out", CompileOptions("graph", "packed"))
    (call,) = tvm_calls(tmp_path)
    assert call["executor"] == "graph" and call["runtime_attrs"] == {"system-lib": True}


def test_graph_executor_has_no_c_interface() -> None:
    with pytest.raises(UtvmError, match="graph executor has no C interface"):
        CompileOptions("graph", "c")


def test_unchanged_model_is_reused_and_a_changed_one_recompiled(
        tmp_path: Path, tflite: Path, fake_tvm: Callable[..., Path]) -> None:
    fake_tvm()
    out = tmp_path / "out"
    compile_model(tflite, out, CompileOptions())
    again = compile_model(tflite, out, CompileOptions())
    assert again.reused and len(tvm_calls(tmp_path)) == 1
    compile_model(tflite, out, CompileOptions(target="c -keys=arm_cpu"))  # other options
    assert len(tvm_calls(tmp_path)) == 2
    tflite.write_bytes(b"TFL3 another model")
    assert not compile_model(tflite, out, CompileOptions(target="c -keys=arm_cpu")).reused
    assert len(tvm_calls(tmp_path)) == 3


def test_tvm_failure_is_reported_with_its_reason(tmp_path: Path,
                                                 fake_tvm: Callable[..., Path]) -> None:
    fake_tvm()
    model = tmp_path / "bad.tflite"
    model.write_bytes(b"broken bytes")
    with pytest.raises(UtvmError, match=r"TVM could not load .*bad\.tflite: this is not a "
                                        r"TFLite flatbuffer"):
        compile_model(model, tmp_path / "out", CompileOptions())
    assert not (tmp_path / "out" / "model.tar").exists()


def test_tvm_that_cannot_be_imported(tmp_path: Path, tflite: Path,
                                     fake_tvm: Callable[..., Path]) -> None:
    fake_tvm(broken_import=True)
    with pytest.raises(UtvmError, match=r"cannot import TVM .*libtvm\.so not found"):
        compile_model(tflite, tmp_path / "out", CompileOptions())


def test_tvm_0_19_is_refused_before_compiling(tmp_path: Path, tflite: Path,
                                             fake_tvm: Callable[..., Path]) -> None:
    fake_tvm(version="0.19.0")
    with pytest.raises(UtvmError, match="no microTVM"):
        compile_model(tflite, tmp_path / "out", CompileOptions())
    assert tvm_calls(tmp_path) == []


def test_unsupported_model_file(tmp_path: Path, fake_tvm: Callable[..., Path]) -> None:
    fake_tvm()
    model = tmp_path / "model.pb"
    model.write_bytes(b"x")
    with pytest.raises(UtvmError, match=r"\.tflite or \.onnx"):
        compile_model(model, tmp_path / "out", CompileOptions())
    with pytest.raises(UtvmError, match="does not exist"):
        compile_model(tmp_path / "missing.tflite", tmp_path / "out", CompileOptions())



def test_missing_tvm_requirement_says_where_to_install_it(tmp_path: Path, tflite: Path,
                                                          fake_tvm: Callable[..., Path]) -> None:
    fake_tvm(init_text="import attrs_is_not_installed_here\n")
    with pytest.raises(UtvmError) as caught:
        compile_model(tflite, tmp_path / "out", CompileOptions())
    message = str(caught.value)
    assert "requirement 'attrs_is_not_installed_here' is missing" in message
    assert f"{sys.executable} -m pip install attrs_is_not_installed_here" in message


def test_runtime_only_tvm_says_it_has_no_compiler(tmp_path: Path, tflite: Path,
                                                  fake_tvm: Callable[..., Path]) -> None:
    """A TVM whose loader found only libtvm_runtime.so said 'Build TVM first'."""
    fake_tvm(init_text=(
        "import sys, types\n"
        "base = types.ModuleType('tvm._ffi.base')\n"
        "base._LIB = types.SimpleNamespace(_name='/opt/tvm/build/libtvm_runtime.so')\n"
        "sys.modules['tvm._ffi.base'] = base\n"
        "raise AttributeError(\"module 'tvm.relay._ffi_api' has no attribute 'Any'\")\n"))
    with pytest.raises(UtvmError) as caught:
        compile_model(tflite, tmp_path / "out", CompileOptions())
    message = str(caught.value)
    assert "This TVM has no compiler: it loaded /opt/tvm/build/libtvm_runtime.so" in message
    assert "TVM_LIBRARY_PATH" in message and "TVM_USE_RUNTIME_LIB" in message
    assert "Build TVM first" not in message


def test_compiling_prints_no_runpy_warning(tmp_path: Path, tflite: Path,
                                           fake_tvm: Callable[..., Path]) -> None:
    import io

    fake_tvm()
    progress = io.StringIO()
    compile_model(tflite, tmp_path / "out", CompileOptions(), progress)
    assert "utvm: loading" in progress.getvalue()  # the worker's own output is here
    assert "RuntimeWarning" not in progress.getvalue()


def test_cmsis_nn_partitioning_builds_for_c_then_cmsis_nn(
        tmp_path: Path, tflite: Path, fake_tvm: Callable[..., Path]) -> None:
    """--cmsis-nn: partition_for_cmsisnn on the loaded model with its parameters, relay.build
    for [c, cmsis-nn] (TVM 0.18 refuses the other order) at opt_level 3 with the C interface's
    pass configs, and the MLF export."""
    fake_tvm()
    options = CompileOptions("aot", "c", cmsis_nn=True, cmsis_nn_mcpu="cortex-m33")
    assert options.describe().endswith("then 'cmsis-nn -mcpu=cortex-m33'")
    result = compile_model(tflite, tmp_path / "out", options)
    assert result.archive.is_file()
    context, build, export = tvm_calls(tmp_path)
    # TVM sizes CMSIS-NN's buffers from this pass option, not from the target's -mcpu: without
    # it, arm_avgpool_s8 got no buffer and failed (hidden) with the DSP code on a Cortex-M33.
    assert context == {"pass_context": 3,
                       "config": {"tir.disable_vectorize": 1, "tir.usmp.enable": 1,
                                  "relay.ext.cmsisnn.options": {"mcpu": "cortex-m33"}}}
    assert build["relay_build"][0] == "partitioned_for_cmsisnn"
    assert build["targets"] == ["c -keys=cpu -model=host", "cmsis-nn -mcpu=cortex-m33"]
    assert build["executor_attrs"] == {"link-params": True, "interface-api": "c",
                                       "unpacked-api": True}
    assert export == {"export": ["built", "default"]}


def test_cmsis_nn_without_mcpu_is_tvms_default(tmp_path: Path, tflite: Path,
                                               fake_tvm: Callable[..., Path]) -> None:
    fake_tvm()
    compile_model(tflite, tmp_path / "out", CompileOptions("aot", "c", cmsis_nn=True))
    context, build = tvm_calls(tmp_path)[:2]
    assert build["targets"] == ["c -keys=cpu -model=host", "cmsis-nn"]
    assert "relay.ext.cmsisnn.options" not in context["config"]


def test_cmsis_nn_choice_is_part_of_the_cache_key(tmp_path: Path, tflite: Path,
                                                  fake_tvm: Callable[..., Path]) -> None:
    fake_tvm()
    out = tmp_path / "out"
    compile_model(tflite, out, CompileOptions("aot", "c"))
    assert not compile_model(tflite, out, CompileOptions("aot", "c", cmsis_nn=True)).reused


@pytest.mark.parametrize(("options", "message"), [
    ({"cmsis_nn_mcpu": "cortex-m4"}, "without CMSIS-NN partitioning: add --cmsis-nn"),
    ({"cmsis_nn": True, "cmsis_nn_mcpu": "cortex-a72"}, "mcpu=cortex-a72"),
])
def test_bad_cmsis_nn_choices(options: dict[str, object], message: str) -> None:
    with pytest.raises(UtvmError, match=message):
        CompileOptions("aot", "c", **options)  # type: ignore[arg-type]


def test_tvm_runs_in_the_python_utvm_tvm_python_names(tmp_path: Path, tflite: Path,
                                                     fake_tvm: Callable[..., Path],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """TVM's requirements often live in a virtual environment of their own: the worker runs
    there, as a plain script that needs nothing of utvm's (the python here has no utvm)."""
    fake_tvm()
    used = tmp_path / "tvm-python-used"
    python = tmp_path / "tvm-venv-python"
    python.write_text(f"#!/bin/sh\necho \"$@\" > {used}\nexec {sys.executable} -S \"$@\"\n")
    python.chmod(0o755)
    monkeypatch.setenv("UTVM_TVM_PYTHON", str(python))
    result = compile_model(tflite, tmp_path / "out", CompileOptions())
    assert result.archive.is_file()
    assert used.read_text().split()[0].endswith("tvm_worker.py")
    assert len(tvm_calls(tmp_path)) == 1


def test_utvm_tvm_python_that_is_no_program(tmp_path: Path, tflite: Path,
                                            fake_tvm: Callable[..., Path],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    fake_tvm()
    monkeypatch.setenv("UTVM_TVM_PYTHON", str(tmp_path / "no-such-python"))
    with pytest.raises(UtvmError, match=r"UTVM_TVM_PYTHON=.*no-such-python is not a Python "
                                        r"program"):
        compile_model(tflite, tmp_path / "out", CompileOptions())
    assert not (tmp_path / "out" / "model.tar").exists()
