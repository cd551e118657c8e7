"""The checked CMSIS-NN build (UTVM_CMSIS_NN_CHECKED, CONFIG_UTVM_CMSIS_NN_CHECKED): a CMSIS-NN
kernel that fails makes the inference fail with the kernel's name and status, where TVM 0.18's
generated code (`switch (!status)`) would report success.

The failure is real: ResNet-8's first convolution gets no scratch buffer (as when TVM sized the
buffers for other code paths), so arm_convolve_s8 returns ARM_CMSIS_NN_ARG_ERROR."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from testsupport import CMSIS_NN_FIXTURES_ROOT, REPO_ROOT, cmake_build, cmsis_nn_dir

RESNET = CMSIS_NN_FIXTURES_ROOT / "pretrainedResnet_quant" / "cmsis_nn"
FIRST_CONTEXT = "cmsis_nn_context context= {context_buffer_0_let,108};"


@pytest.fixture(scope="module")
def starved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ResNet-8 whose first convolution is handed no scratch buffer."""
    if not RESNET.is_dir():
        pytest.skip(f"CMSIS-NN fixtures not found at {CMSIS_NN_FIXTURES_ROOT}")
    mlf = tmp_path_factory.mktemp("starved") / "mlf"
    shutil.copytree(RESNET, mlf)
    source = mlf / "codegen" / "host" / "src" / "default_lib2.c"
    text = source.read_text()
    assert text.count(FIRST_CONTEXT) == 1
    source.write_text(text.replace(FIRST_CONTEXT, "cmsis_nn_context context= {NULL,0};"))
    return mlf


def _run(exe: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    spec = json.loads((RESNET / "fixture.json").read_text())
    (name,) = spec["inputs"]
    np.load(RESNET / "input_0.npy").tofile(tmp_path / "in.bin")
    return subprocess.run([str(exe), "--input", f"{name}={tmp_path / 'in.bin'}",
                           "--output", str(tmp_path / "out.bin")],
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("checked", [False, True], ids=["tvm-default", "checked"])
def test_a_failing_kernel_fails_the_inference_only_when_checked(
        starved_model: Path, checked: bool, build_root: Path, tmp_path: Path) -> None:
    build = build_root / f"starved-resnet-{'checked' if checked else 'plain'}"
    cmake_build(REPO_ROOT / "runtime" / "host_runner", build,
                UTVM_MLF_DIR=str(starved_model), UTVM_CMSIS_NN_DIR=str(cmsis_nn_dir()),
                UTVM_CMSIS_NN_CHECKED="ON" if checked else "OFF", UTVM_SANITIZE="ON")
    proc = _run(build / "utvm_host_runner", tmp_path)
    if checked:
        assert proc.returncode != 0
        assert ("CMSIS-NN arm_convolve_wrapper_s8 returned -1 (ARM_CMSIS_NN_ARG_ERROR)"
                in proc.stderr), proc.stderr
    else:
        # What TVM's generated code does on its own: success, with outputs not TVM's.
        assert proc.returncode == 0, proc.stderr
        got = np.fromfile(tmp_path / "out.bin", dtype=np.int8)
        assert not np.array_equal(got, np.load(RESNET / "tvm_crt_output_0.npy").ravel())


def test_checked_calls_keep_a_healthy_model_bit_exact(build_root: Path, tmp_path: Path) -> None:
    if not RESNET.is_dir():
        pytest.skip(f"CMSIS-NN fixtures not found at {CMSIS_NN_FIXTURES_ROOT}")
    build = build_root / "resnet-checked"
    cmake_build(REPO_ROOT / "runtime" / "host_runner", build, UTVM_MLF_DIR=str(RESNET),
                UTVM_CMSIS_NN_DIR=str(cmsis_nn_dir()), UTVM_CMSIS_NN_CHECKED="ON")
    proc = _run(build / "utvm_host_runner", tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = np.fromfile(tmp_path / "out.bin", dtype=np.int8)
    assert np.array_equal(got, np.load(RESNET / "tvm_crt_output_0.npy").ravel())
