"""utvm_add_model() in a Zephyr build of a model that calls CMSIS-NN (cmake/utvm.cmake): Zephyr's
cmsis-nn module must be there and fit TVM 0.18's calls, Kconfig must enable exactly the kernel
groups the model calls, the board's core must have what the MLF was made for, and an MLF made
without mcpu gets CMSIS-NN's portable code on a DSP core. Checked with plain CMake and the
values a Zephyr build would define, so no Zephyr tree is needed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testsupport import CMSIS_NN_FIXTURES_ROOT, REPO_ROOT, cmake_exe, cmsis_nn_dir

KWS = CMSIS_NN_FIXTURES_ROOT / "kws_ref_model" / "cmsis_nn"
KWS_M4 = CMSIS_NN_FIXTURES_ROOT / "kws_ref_model" / "cmsis_nn_cortex_m4"
KWS_GROUPS = ("CONVOLUTION", "FULLYCONNECTED", "NNSUPPORT", "POOLING", "SOFTMAX")
ALL_KCONFIG = {"CONFIG_CMSIS_NN": "y", **{f"CONFIG_CMSIS_NN_{g}": "y" for g in KWS_GROUPS}}
M4 = {"CONFIG_CPU_CORTEX_M": "y", "CONFIG_CPU_CORTEX_M4": "y"}
M3 = {"CONFIG_CPU_CORTEX_M": "y", "CONFIG_CPU_CORTEX_M3": "y"}


@pytest.fixture(autouse=True)
def _fixtures() -> None:
    if not KWS.is_dir():
        pytest.skip(f"CMSIS-NN fixtures not found at {CMSIS_NN_FIXTURES_ROOT}")


def configure(tmp_path: Path, mlf: Path, kconfig: dict[str, str],
              tree: Path | None) -> subprocess.CompletedProcess:
    """A one-target project calling utvm_add_model() as a Zephyr app would, with a stand-in
    for the library Zephyr's cmsis-nn module builds (it prints that library's options)."""
    src = tmp_path / "src"
    module_cmake = src / "cmsis_nn_module"
    module_cmake.mkdir(parents=True)
    (src / "main.c").write_text("int main(void) { return 0; }\n")
    (module_cmake / "CMakeLists.txt").write_text(
        "add_library(modules__cmsis-nn STATIC ${CMAKE_CURRENT_LIST_DIR}/../main.c)\n"
        "set_property(GLOBAL APPEND PROPERTY ZEPHYR_LIBS modules__cmsis-nn)\n")
    settings = "".join(f"set({k} {v})\n" for k, v in {"CONFIG_UTVM": "y",
                                                       "CONFIG_PICOLIBC": "y",
                                                       **kconfig}.items())
    modules = ""
    if tree is not None:
        modules = (f"set(ZEPHYR_CMSIS_NN_MODULE_DIR {tree.as_posix()})\n"
                   f"set(ZEPHYR_CMSIS_NN_CMAKE_DIR {module_cmake.as_posix()})\n"
                   f"set(ZEPHYR_CMSIS_DSP_MODULE_DIR {tmp_path.as_posix()})\n"
                   f"add_subdirectory({module_cmake.as_posix()})\n")
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.20)\n"
        "project(zephyr_like C)\n"
        "set(ZEPHYR_BASE ${CMAKE_CURRENT_BINARY_DIR}/zephyr)\n"
        f"{settings}{modules}"
        f"include({(REPO_ROOT / 'cmake' / 'utvm.cmake').as_posix()})\n"
        "add_executable(app main.c)\n"
        f"utvm_add_model(app MLF {mlf.as_posix()})\n"
        "if(TARGET modules__cmsis-nn)\n"
        "  get_source_file_property(options main.c TARGET_DIRECTORY modules__cmsis-nn\n"
        "                           COMPILE_OPTIONS)\n"
        "  message(STATUS \"cmsis-nn options: ${options}\")\n"
        "endif()\n")
    return subprocess.run([cmake_exe(), "-S", str(src), "-B", str(tmp_path / "build"),
                           f"-DPython3_EXECUTABLE={sys.executable}"],
                          capture_output=True, text=True, check=False)


def error_text(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0, "configuration should have failed"
    return " ".join(proc.stderr.split())


def test_missing_module_says_how_to_add_it(tmp_path: Path) -> None:
    text = error_text(configure(tmp_path, KWS, {**ALL_KCONFIG, **M3}, None))
    assert "calls CMSIS-NN (arm_avgpool_s8, arm_convolve_wrapper_s8" in text
    assert "west config manifest.project-filter -- +cmsis-nn,+cmsis-dsp" in text
    assert "west update cmsis-nn cmsis-dsp" in text


def test_missing_kconfig_lists_exactly_the_lines_to_add(tmp_path: Path) -> None:
    proc = configure(tmp_path, KWS, {"CONFIG_CMSIS_NN_CONVOLUTION": "y", **M3}, cmsis_nn_dir())
    assert proc.returncode != 0
    lines = [line.strip() for line in proc.stderr.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.endswith("Add to prj.conf:"))
    added = [line for line in lines[start + 1:] if line][:5]  # CMake adds blank lines
    assert added == ["CONFIG_CMSIS_NN=y", "CONFIG_CMSIS_NN_FULLYCONNECTED=y",
                     "CONFIG_CMSIS_NN_NNSUPPORT=y", "CONFIG_CMSIS_NN_POOLING=y",
                     "CONFIG_CMSIS_NN_SOFTMAX=y"]
    assert "CONFIG_CMSIS_NN_CONVOLUTION=y" not in proc.stderr  # already set
    assert "CONFIG_CMSIS_NN_BASICMATH" not in proc.stderr  # kws adds no tensors


def test_a_tree_that_does_not_fit_tvm_0_18_is_refused(tmp_path: Path) -> None:
    tree = tmp_path / "newer-cmsis-nn"
    shutil.copytree(cmsis_nn_dir() / "Include", tree / "Include")
    conv = tree / "Source" / "ConvolutionFunctions"
    conv.mkdir(parents=True)
    (conv / "arm_convolve_get_buffer_sizes_s8.c").write_text("int32_t aligned_rhs_cols;\n")
    text = error_text(configure(tmp_path, KWS, {**ALL_KCONFIG, **M3}, tree))
    assert "Zephyr's cmsis-nn module" in text and "do not fit TVM 0.18's generated calls" in text
    assert "pin the cmsis-nn project in your west.yml to revision v4.1.0" in text


def test_an_mlf_for_cortex_m4_on_a_cortex_m3_is_an_error(tmp_path: Path) -> None:
    text = error_text(configure(tmp_path, KWS_M4, {**ALL_KCONFIG, **M3}, cmsis_nn_dir()))
    assert "compiled for cortex-m4" in text and "core (cortex-m3) does not" in text


def test_an_mlf_without_mcpu_gets_portable_code_on_a_dsp_core(tmp_path: Path) -> None:
    proc = configure(tmp_path, KWS, {**ALL_KCONFIG, **M4}, cmsis_nn_dir())
    assert proc.returncode == 0, proc.stderr
    assert "cmsis-nn options: -U__ARM_FEATURE_DSP" in proc.stdout
    assert "portable C code on cortex-m4, not the core's DSP extension" in proc.stdout


def test_an_mlf_for_cortex_m4_gets_the_dsp_code(tmp_path: Path) -> None:
    proc = configure(tmp_path, KWS_M4, {**ALL_KCONFIG, **M4}, cmsis_nn_dir())
    assert proc.returncode == 0, proc.stderr
    assert "cmsis-nn options: NOTFOUND" in proc.stdout  # nothing added
    assert "DSP-extension code on cortex-m4" in proc.stdout


M33_NODSP = {"CONFIG_CPU_CORTEX_M": "y", "CONFIG_CPU_CORTEX_M33": "y",
             "CONFIG_ARMV8_M_MAINLINE": "y"}


def test_a_dsp_mlf_on_a_build_without_the_cores_optional_dsp(tmp_path: Path) -> None:
    text = error_text(configure(tmp_path / "a", KWS_M4, {**ALL_KCONFIG, **M33_NODSP},
                                cmsis_nn_dir()))
    assert "leaves the cortex-m33's optional DSP extension off" in text
    assert "-DUTVM_CMSIS_NN_DSP=ON" in text
    proc = configure(tmp_path / "b", KWS_M4,
                     {**ALL_KCONFIG, **M33_NODSP, "UTVM_CMSIS_NN_DSP": "ON"}, cmsis_nn_dir())
    assert proc.returncode == 0, proc.stderr
    assert "cmsis-nn options: -mcpu=cortex-m33" in proc.stdout


POSIX = {"CONFIG_ARCH_POSIX": "y", "CONFIG_SOC": "native_sim"}


def test_a_board_that_is_no_cortex_m_compiles_the_portable_code_itself(tmp_path: Path) -> None:
    """native_sim: Zephyr's CONFIG_CMSIS_NN depends on a Cortex-M core, so the module's own
    library cannot be had; the model gets CMSIS-NN's portable code from the module's tree,
    compiled as on the host, and needs no CONFIG_CMSIS_NN."""
    proc = configure(tmp_path, KWS, POSIX, cmsis_nn_dir())
    assert proc.returncode == 0, proc.stderr
    assert "CMSIS-NN: portable C code on the host (the MLF was made without mcpu), from " \
           f"{cmsis_nn_dir()}" in " ".join(proc.stdout.split())
    assert "Add to prj.conf" not in proc.stderr


def test_a_board_that_is_no_cortex_m_checks_the_modules_tree(tmp_path: Path) -> None:
    tree = tmp_path / "newer-cmsis-nn"
    shutil.copytree(cmsis_nn_dir() / "Include", tree / "Include")
    conv = tree / "Source" / "ConvolutionFunctions"
    conv.mkdir(parents=True)
    (conv / "arm_convolve_get_buffer_sizes_s8.c").write_text("int32_t aligned_rhs_cols;\n")
    text = error_text(configure(tmp_path, KWS, POSIX, tree))
    assert "do not fit TVM 0.18's generated calls" in text
