"""UTVM_CMSIS_NN_DEPTHWISE_AS_CONV (on by default): the depthwise CMSIS-NN call TVM 0.18 makes
of a convolution with a one-channel input (kws's first layer) runs as the convolution's
matrix product, through a --wrap wrapper, with the outputs TVM's own run gave, bit for bit;
turned off, or with checked calls on top, the model is just as exact."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile

from testsupport import CMSIS_NN_FIXTURES_ROOT, REPO_ROOT, cmake_build, cmsis_nn_dir

KWS = CMSIS_NN_FIXTURES_ROOT / "kws_ref_model" / "cmsis_nn"
WRAPPER = "__wrap_arm_depthwise_conv_wrapper_s8"


def _symbols(exe: Path) -> set[str]:
    with exe.open("rb") as handle:
        table = ELFFile(handle).get_section_by_name(".symtab")
        return {symbol.name for symbol in table.iter_symbols()} if table else set()


@pytest.mark.parametrize("options", [{}, {"UTVM_CMSIS_NN_DEPTHWISE_AS_CONV": "OFF"},
                                     {"UTVM_CMSIS_NN_CHECKED": "ON"}],
                         ids=["default", "off", "checked"])
def test_kws_stays_bit_exact(options: dict[str, str], build_root: Path,
                             tmp_path: Path) -> None:
    if not KWS.is_dir():
        pytest.skip(f"CMSIS-NN fixtures not found at {CMSIS_NN_FIXTURES_ROOT}")
    build = build_root / ("kws-as-conv-" + "-".join(f"{k}-{v}" for k, v in options.items()))
    cmake_build(REPO_ROOT / "runtime" / "host_runner", build, UTVM_MLF_DIR=str(KWS),
                UTVM_CMSIS_NN_DIR=str(cmsis_nn_dir()), UTVM_SANITIZE="ON", **options)
    exe = build / "utvm_host_runner"
    assert (WRAPPER in _symbols(exe)) == ("UTVM_CMSIS_NN_DEPTHWISE_AS_CONV" not in options)
    (name,) = json.loads((KWS / "fixture.json").read_text())["inputs"]
    np.load(KWS / "input_0.npy").tofile(tmp_path / "in.bin")
    proc = subprocess.run([str(exe), "--input", f"{name}={tmp_path / 'in.bin'}",
                           "--output", str(tmp_path / "out.bin")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    got = np.fromfile(tmp_path / "out.bin", dtype=np.int8)
    assert np.array_equal(got, np.load(KWS / "tvm_crt_output_0.npy").ravel())
