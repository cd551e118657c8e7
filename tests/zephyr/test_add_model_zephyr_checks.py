"""utvm_add_model() in a Zephyr build (cmake/utvm.cmake): it stops with a message saying which
Kconfig option to set when the configuration cannot run the model. Checked with plain CMake
and the Kconfig values a Zephyr build would define, so no Zephyr tree is needed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testsupport import REPO_ROOT, cmake_exe

BUNDLED = REPO_ROOT / "samples" / "models" / "tiny_conv_f32"
C_MODEL = BUNDLED / "aot_c"  # interface-api=c, calls expf
PACKED_MODEL = BUNDLED / "aot_packed"  # packed interface


def configure(tmp_path: Path, mlf: Path, kconfig: dict[str, str]) -> subprocess.CompletedProcess:
    """Configures a one-target project calling utvm_add_model() as a Zephyr app would."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.c").write_text("int main(void) { return 0; }\n")
    settings = "".join(f"set({k} {v})\n" for k, v in kconfig.items())
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.20)\n"
        "project(zephyr_like C)\n"
        "set(ZEPHYR_BASE ${CMAKE_CURRENT_BINARY_DIR}/zephyr)\n"  # utvm.cmake then checks Kconfig
        f"{settings}"
        f"include({(REPO_ROOT / 'cmake' / 'utvm.cmake').as_posix()})\n"
        "add_executable(app main.c)\n"
        f"utvm_add_model(app MLF {mlf.as_posix()})\n")
    return subprocess.run([cmake_exe(), "-S", str(src), "-B", str(tmp_path / "build")],
                          capture_output=True, text=True, check=False)


def error_text(proc: subprocess.CompletedProcess) -> str:
    """CMake's error, with the line wrapping CMake adds undone."""
    assert proc.returncode != 0, "configuration should have failed"
    return " ".join(proc.stderr.split())


def test_module_must_be_enabled(tmp_path: Path) -> None:
    assert "add CONFIG_UTVM=y to prj.conf" in error_text(configure(tmp_path, C_MODEL, {}))


def test_minimal_libc_is_refused_for_models_calling_libm(tmp_path: Path) -> None:
    text = error_text(configure(tmp_path, C_MODEL, {"CONFIG_UTVM": "y",
                                                    "CONFIG_MINIMAL_LIBC": "y"}))
    assert "generated code calls expf" in text and "CONFIG_REQUIRES_FULL_LIBC=y" in text


def test_packed_model_needs_the_aot_executor(tmp_path: Path) -> None:
    text = error_text(configure(tmp_path, PACKED_MODEL, {"CONFIG_UTVM": "y"}))
    assert "add CONFIG_UTVM_AOT_EXECUTOR=y" in text


@pytest.mark.parametrize("mlf, kconfig", [
    (C_MODEL, {"CONFIG_UTVM": "y", "CONFIG_PICOLIBC": "y"}),
    (PACKED_MODEL, {"CONFIG_UTVM": "y", "CONFIG_UTVM_AOT_EXECUTOR": "y"}),
], ids=["c-interface-picolibc", "packed-with-executor"])
def test_usable_configurations_pass(tmp_path: Path, mlf: Path, kconfig: dict[str, str]) -> None:
    proc = configure(tmp_path, mlf, kconfig)
    assert proc.returncode == 0, proc.stderr
