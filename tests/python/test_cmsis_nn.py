"""utvm.mlf.cmsis_nn: what an MLF needs from CMSIS-NN, read from the MLF, and how CMSIS-NN is
built for it (kernel groups, the code paths TVM sized buffers for, the board's core)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testsupport import CMSIS_NN_FIXTURES_ROOT, REPO_ROOT
from utvm.errors import UtvmError
from utvm.mlf import open_mlf
from utvm.mlf.cmsis_nn import (
    DSP,
    MVE,
    PORTABLE,
    CmsisNnBuild,
    Core,
    build_plan,
    check_source_tree,
    cmake_values,
    depthwise_as_conv_buffer,
    detect,
    detect_in_mlf,
    kernel_group,
    paths_for_target,
)
from utvm.mlf.describe import main as describe_main

CMSIS_NN_FIXTURES = CMSIS_NN_FIXTURES_ROOT.resolve()

C_TARGET = "c -keys=cpu -model=host"
USES = '#include "tvm/runtime/c_runtime_api.h"\n#include <arm_nnfunctions.h>\n'


def _cmsis_nn_variants() -> list[Path]:
    if not CMSIS_NN_FIXTURES.is_dir():
        return []
    return sorted(p.parent for p in CMSIS_NN_FIXTURES.glob("*/*/fixture.json"))


VARIANTS = _cmsis_nn_variants()


def _source(tmp_path: Path, text: str, name: str = "lib.c") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.skipif(not VARIANTS, reason="no ../shared/fixtures/tvm-0.18-cmsis-nn")
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_needs_are_read_from_the_mlf(variant: Path) -> None:
    recipe = json.loads((variant / "fixture.json").read_text())
    with open_mlf(variant) as mlf:
        use = detect(mlf.c_sources, mlf.targets)
    assert use is not None
    assert list(use.functions) == recipe["cmsis_nn_functions_called"]
    assert use.mcpu == recipe["cmsis_nn_mcpu"]
    assert use.paths == (PORTABLE if recipe["cmsis_nn_mcpu"] is None else DSP)
    # Every call's group, plus the helpers every one of these models' kernels share.
    assert set(use.groups) == {kernel_group(f) for f in use.functions} | {"NNSUPPORT"}
    assert use.kconfig_symbols[0] == "CMSIS_NN"
    assert detect_in_mlf(variant) == use


def test_kws_groups_are_exactly_the_kernels_called() -> None:
    variant = CMSIS_NN_FIXTURES / "kws_ref_model" / "cmsis_nn"
    if not variant.is_dir():
        pytest.skip("no ../shared/fixtures/tvm-0.18-cmsis-nn")
    use = detect_in_mlf(variant)
    assert use is not None
    assert use.groups == ("CONVOLUTION", "FULLYCONNECTED", "NNSUPPORT", "POOLING", "SOFTMAX")
    assert use.source_folders == ("ConvolutionFunctions", "FullyConnectedFunctions",
                                  "NNSupportFunctions", "PoolingFunctions", "SoftmaxFunctions")


def test_plain_models_need_nothing(tmp_path: Path) -> None:
    plain = _source(tmp_path, '#include "tvm/runtime/c_runtime_api.h"\nint f(void) {'
                              " return arm_like(1); }\n")
    assert detect([plain], [C_TARGET]) is None


def test_calls_are_read_only_where_the_header_is_included(tmp_path: Path) -> None:
    caller = _source(tmp_path, USES + "void f(void) { arm_elementwise_add_s8(0); }\n")
    other = _source(tmp_path, "void g(void) { arm_unrelated_helper(); }\n", "other.c")
    use = detect([caller, other], [C_TARGET, "cmsis-nn "])
    assert use is not None
    assert use.functions == ("arm_elementwise_add_s8",)
    assert use.groups == ("BASICMATH",)  # no helpers needed by elementwise kernels
    assert use.sources == (caller,)
    assert use.mcpu is None and use.paths == PORTABLE


def test_an_unknown_cmsis_nn_call_is_an_error(tmp_path: Path) -> None:
    caller = _source(tmp_path, USES + "void f(void) { arm_future_op_s8(0); }\n")
    with pytest.raises(UtvmError, match=r"arm_future_op_s8.*kernel group"):
        detect([caller], [C_TARGET, "cmsis-nn "])


def test_a_cmsis_nn_target_without_cmsis_nn_code_is_an_incomplete_export(tmp_path: Path) -> None:
    plain = _source(tmp_path, "int f(void) { return 0; }\n")
    with pytest.raises(UtvmError, match=r"none of its generated C includes arm_nnfunctions\.h"):
        detect([plain], [C_TARGET, "cmsis-nn -mcpu=cortex-m4"])


@pytest.mark.parametrize(("target", "mcpu", "paths"), [
    ("cmsis-nn ", None, PORTABLE),
    ("cmsis-nn -keys=arm_cpu,cpu -mcpu=cortex-m4", "cortex-m4", DSP),
    ("cmsis-nn -mcpu=cortex-m3", "cortex-m3", PORTABLE),
    ("cmsis-nn -mcpu=cortex-m33", "cortex-m33", DSP),
    ("cmsis-nn -mcpu=cortex-m33 -mattr=+nodsp", "cortex-m33", PORTABLE),
    ("cmsis-nn -mcpu=cortex-m55", "cortex-m55", MVE),
    ("cmsis-nn -mcpu=cortex-m55+nomve", "cortex-m55+nomve", DSP),
])
def test_paths_tvm_sized_buffers_for(target: str, mcpu: str | None, paths: str) -> None:
    assert paths_for_target(target) == (mcpu, paths)


def test_an_unknown_mcpu_is_an_error() -> None:
    with pytest.raises(UtvmError, match="mcpu=cortex-a53"):
        paths_for_target("cmsis-nn -mcpu=cortex-a53")


def _use(tmp_path: Path, target: str):
    caller = _source(tmp_path, USES + "void f(void) { arm_fully_connected_s8(0); }\n")
    use = detect([caller], [C_TARGET, target])
    assert use is not None
    return use


M3 = Core("cortex-m3", has_dsp=False)
M4 = Core("cortex-m4", has_dsp=True)
M55 = Core("cortex-m55", has_dsp=True, has_mve=True)


def test_an_mlf_without_mcpu_gets_portable_code_even_on_a_dsp_core(tmp_path: Path) -> None:
    use = _use(tmp_path, "cmsis-nn ")
    plan = build_plan(use, M4)
    assert plan.paths == PORTABLE
    assert plan.compile_options == ("-U__ARM_FEATURE_DSP",)
    assert "portable C code on cortex-m4, not the core's DSP extension" in plan.summary
    assert build_plan(use, M55).compile_options == ("-U__ARM_FEATURE_MVE",
                                                    "-U__ARM_FEATURE_DSP")
    assert build_plan(use, M3).compile_options == ()
    assert build_plan(use, None).paths == PORTABLE  # the host


def test_an_mlf_for_a_dsp_core_uses_the_dsp_code(tmp_path: Path) -> None:
    use = _use(tmp_path, "cmsis-nn -mcpu=cortex-m4")
    assert build_plan(use, M4).compile_options == ()
    assert build_plan(use, M4).paths == DSP
    assert build_plan(use, M55).compile_options == ("-U__ARM_FEATURE_MVE",)


def test_an_mlf_for_cortex_m4_on_a_cortex_m3_is_an_error(tmp_path: Path) -> None:
    use = _use(tmp_path, "cmsis-nn -mcpu=cortex-m4")
    with pytest.raises(UtvmError, match=r"compiled for cortex-m4.*cortex-m3\) does not"):
        build_plan(use, M3)


def _tree(tmp_path: Path, s16_bias: str = "int64_t", aligned: bool = False) -> Path:
    tree = tmp_path / "cmsis-nn"
    (tree / "Include").mkdir(parents=True)
    (tree / "Include" / "arm_nnfunctions.h").write_text(
        " * $Revision:    V.9.9.9\n"
        "arm_cmsis_nn_status arm_convolve_wrapper_s16(const cmsis_nn_context *ctx,\n"
        f"    const cmsis_nn_dims *bias_dims,\n    const {s16_bias} *bias_data,\n"
        "    int16_t *output_data);\n")
    conv = tree / "Source" / "ConvolutionFunctions"
    conv.mkdir(parents=True)
    body = "int32_t aligned_rhs_cols = 0;" if aligned else "int32_t col_length = 0;"
    (conv / "arm_convolve_get_buffer_sizes_s8.c").write_text(body)
    return tree


def test_source_tree_checks(tmp_path: Path) -> None:
    assert check_source_tree(_tree(tmp_path / "a")) == []
    problems = check_source_tree(_tree(tmp_path / "b", "cmsis_nn_bias_data", aligned=True))
    assert len(problems) == 2
    assert "cmsis_nn_bias_data" in problems[0] and "rounded up to 4" in problems[1]
    assert "not a CMSIS-NN source tree" in check_source_tree(tmp_path)[0]


def test_the_real_trees() -> None:
    """CMSIS-NN v4.1.0 (TVM 0.18's pin) fits; Zephyr 4.1's pinned e9328d61 does not."""
    from testsupport import cmsis_nn_dir

    assert check_source_tree(cmsis_nn_dir()) == []
    zephyr_base = os.environ.get("ZEPHYR_BASE")
    zephyr_tree = Path(zephyr_base or "/nonexistent").parent / "modules" / "lib" / "cmsis-nn"
    if zephyr_tree.is_dir():
        assert len(check_source_tree(zephyr_tree)) == 2


def test_describe_step_writes_the_cmake_answers(tmp_path: Path) -> None:
    """utvm_add_model()'s one MLF reader (utvm.mlf.describe) says what CMSIS-NN needs."""
    variant = CMSIS_NN_FIXTURES / "kws_ref_model" / "cmsis_nn"
    if not variant.is_dir():
        pytest.skip("no ../shared/fixtures/tvm-0.18-cmsis-nn")
    assert describe_main(["--mlf", str(variant), "--out-dir", str(tmp_path),
                          "--cmsis-nn-core", "cortex-m4", "--cmsis-nn-core-dsp"]) == 0
    text = (tmp_path / "model.cmake").read_text()
    assert "set(UTVM_DESCRIBED_CMSIS_NN_USED [=[TRUE]=])" in text
    assert "set(UTVM_DESCRIBED_CMSIS_NN_COMPILE_OPTIONS [=[-U__ARM_FEATURE_DSP]=])" in text
    assert "[=[CMSIS_NN_POOLING]=]" in text


@pytest.mark.skipif(not VARIANTS, reason="no ../shared/fixtures/tvm-0.18-cmsis-nn")
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_one_channel_depthwise_calls_are_found(variant: Path) -> None:
    """kws's first layer (a 10x4 convolution of a one-channel input, 64 output channels) is
    the one depthwise call TVM made of a convolution: its buffer holds the transposed filter
    (2,560 bytes) and 50 im2col rows of 40 taps; the other models have no such call."""
    use = detect_in_mlf(variant)
    assert use is not None
    expected = 2560 + 50 * 40 if variant.parent.name == "kws_ref_model" else 0
    assert depthwise_as_conv_buffer(use) == expected


def test_depthwise_as_conv_is_described_only_with_a_fitting_matrix_product(
        tmp_path: Path) -> None:
    """The wrapper calls CMSIS-NN v4.1.0's arm_nn_mat_mult_nt_t_s8; a tree whose prototype
    differs gets TVM's calls unchanged, as does a build that turns the option off."""
    variant = CMSIS_NN_FIXTURES / "kws_ref_model" / "cmsis_nn"
    if not variant.is_dir():
        pytest.skip("no ../shared/fixtures/tvm-0.18-cmsis-nn")
    from testsupport import cmsis_nn_dir

    real = cmsis_nn_dir()
    other = tmp_path / "other"
    (other / "Include").mkdir(parents=True)
    for header in (real / "Include").glob("*.h"):
        text = header.read_text()
        if header.name == "arm_nnsupportfunctions.h":
            text = text.replace("const int32_t rhs_cols,\n",
                                "const int32_t rhs_cols,\n const int32_t row_address_offset,\n", 1)
        (other / "Include" / header.name).write_text(text)
    use = detect_in_mlf(variant)
    assert use is not None
    for tree, on, buffer in ((real, True, "4560"), (other, True, "0"), (real, False, "0")):
        values, shim = cmake_values(use, CmsisNnBuild(tree=tree, depthwise_as_conv=on))
        assert values["DEPTHWISE_AS_CONV_BUFFER"] == buffer
        assert values["WRAP"] == (["arm_depthwise_conv_wrapper_s8"] if buffer != "0" else [])
        assert (shim is not None) == (buffer != "0")
    values, shim = cmake_values(use, CmsisNnBuild(tree=real, depthwise_as_conv=True))
    assert shim is not None
    assert "int8_t utvm_depthwise_as_conv_buffer[4560]" in shim
    assert "arm_nn_mat_mult_nt_t_s8(" in shim
    # With checked calls too, the checked depthwise wrapper tries the matrix product first.
    values, shim = cmake_values(use, CmsisNnBuild(tree=real, checked=True,
                                                  depthwise_as_conv=True))
    assert shim is not None and values["CHECKED"] == "TRUE"
    assert values["DEPTHWISE_AS_CONV_BUFFER"] == "4560"
    assert "if (!utvm_depthwise_as_conv(&status, ctx," in shim
    assert 'cmsis_nn_failed("arm_depthwise_conv_wrapper_s8", status)' in shim


def test_a_model_without_cmsis_nn_is_described_as_not_using_it(tmp_path: Path) -> None:
    plain = REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "aot_packed"
    assert describe_main(["--mlf", str(plain), "--out-dir", str(tmp_path)]) == 0
    text = (tmp_path / "model.cmake").read_text()
    assert "set(UTVM_DESCRIBED_CMSIS_NN_USED [=[FALSE]=])" in text
    assert "CMSIS_NN_FUNCTIONS" not in text


def test_describe_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    variant = CMSIS_NN_FIXTURES / "kws_ref_model" / "cmsis_nn_cortex_m4"
    if not variant.is_dir():
        pytest.skip("no ../shared/fixtures/tvm-0.18-cmsis-nn")
    assert describe_main(["--mlf", str(variant), "--out-dir", str(tmp_path),
                          "--cmsis-nn-core", "cortex-m3"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "compiled for cortex-m4" in err
    assert not (tmp_path / "model.cmake").exists()  # nothing half-written


def test_plain_cmake_app_without_cmsis_nn_dir_says_what_to_set(tmp_path: Path) -> None:
    """Configuring the host runner for a CMSIS-NN model without UTVM_CMSIS_NN_DIR stops with
    the variable to set."""
    variant = CMSIS_NN_FIXTURES / "ad01_int8" / "cmsis_nn"
    cmake = shutil.which("cmake")
    if not variant.is_dir() or cmake is None:
        pytest.skip("needs ../shared/fixtures/tvm-0.18-cmsis-nn and cmake")

    env = {k: v for k, v in os.environ.items() if k != "UTVM_CMSIS_NN_DIR"}
    proc = subprocess.run(
        [cmake, "-S", str(REPO_ROOT / "runtime" / "host_runner"), "-B", str(tmp_path / "b"),
         f"-DUTVM_MLF_DIR={variant}"], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode != 0
    message = " ".join(proc.stderr.split())
    assert "calls CMSIS-NN (arm_fully_connected_s8)" in message
    assert "set UTVM_CMSIS_NN_DIR (CMake variable or environment)" in message


def test_west_utvm_build_sets_the_kernel_groups_itself() -> None:
    """`west utvm build` passes exactly the model's CMSIS-NN Kconfig options to CMake."""
    from utvm.board.builder import cmsis_nn_kconfig

    variant = CMSIS_NN_FIXTURES / "pretrainedResnet_quant" / "cmsis_nn"
    if not variant.is_dir():
        pytest.skip("no ../shared/fixtures/tvm-0.18-cmsis-nn")
    with open_mlf(variant) as mlf:
        assert cmsis_nn_kconfig(mlf) == {
            "CONFIG_CMSIS_NN": "y", "CONFIG_CMSIS_NN_BASICMATH": "y",
            "CONFIG_CMSIS_NN_CONVOLUTION": "y", "CONFIG_CMSIS_NN_FULLYCONNECTED": "y",
            "CONFIG_CMSIS_NN_NNSUPPORT": "y", "CONFIG_CMSIS_NN_POOLING": "y",
            "CONFIG_CMSIS_NN_SOFTMAX": "y"}
    with open_mlf(REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "aot_packed") as plain:
        assert cmsis_nn_kconfig(plain) == {}


def test_an_optional_dsp_the_build_leaves_off(tmp_path: Path) -> None:
    """mps2/an521/cpu0: Zephyr builds its Cortex-M33 without DSP; an MLF for a DSP core says
    how to use the chip's DSP for CMSIS-NN anyway."""
    use = _use(tmp_path, "cmsis-nn -mcpu=cortex-m4")
    with pytest.raises(UtvmError, match="UTVM_CMSIS_NN_DSP=ON"):
        build_plan(use, Core("cortex-m33", has_dsp=False, dsp_left_off=True))
    portable = _use(tmp_path, "cmsis-nn ")
    assert build_plan(portable, Core("cortex-m33", False, dsp_left_off=True)).compile_options == ()


def test_cli_compiles_cmsis_nn_alone_with_the_cores_dsp(tmp_path: Path) -> None:
    variant = CMSIS_NN_FIXTURES / "kws_ref_model" / "cmsis_nn_cortex_m4"
    if not variant.is_dir():
        pytest.skip("no ../shared/fixtures/tvm-0.18-cmsis-nn")
    assert describe_main(["--mlf", str(variant), "--out-dir", str(tmp_path),
                          "--cmsis-nn-core", "cortex-m33", "--cmsis-nn-core-dsp-left-off",
                          "--cmsis-nn-use-core-dsp"]) == 0
    text = (tmp_path / "model.cmake").read_text()
    assert "set(UTVM_DESCRIBED_CMSIS_NN_COMPILE_OPTIONS [=[-mcpu=cortex-m33]=])" in text
    assert "set(UTVM_DESCRIBED_CMSIS_NN_PATHS [=[dsp]=])" in text
