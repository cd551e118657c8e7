"""The Zephyr module: its metadata (always), and with a Zephyr tree (ZEPHYR_BASE) its
validation against Zephyr's own module schema and a twister run of tests/zephyr and samples/
on native_sim, as `west twister -T tests -T samples -p native_sim` would do, and on each board
that UTVM_TWISTER_PLATFORMS names (with that board's toolchain set up, e.g.
ZEPHYR_TOOLCHAIN_VARIANT=gnuarmemb for qemu_cortex_m3)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml

from testsupport import (
    REPO_ROOT,
    ZEPHYR_TWISTER_REQUIREMENTS,
    native_sim_toolchain,
    require_zephyr_python,
)

MODULE_DIR = REPO_ROOT / "zephyr"
ZEPHYR_BASE = os.environ.get("ZEPHYR_BASE", "")
ZEPHYR_SKIP_REASON = (
    "ZEPHYR_BASE is not set, so the Zephyr module's twister tests (tests/zephyr, samples/) "
    "and its schema check were SKIPPED. Point ZEPHYR_BASE at a Zephyr 4.1 tree (e.g. "
    "<west workspace>/zephyr) to run them."
)
needs_zephyr = pytest.mark.skipif(not ZEPHYR_BASE, reason=ZEPHYR_SKIP_REASON)

# What the module itself consists of: none of it may name a board, a port or a USB id.
MODULE_SOURCES = [MODULE_DIR, REPO_ROOT / "runtime" / "ports" / "zephyr"]


def module_yml() -> dict:
    return yaml.safe_load((MODULE_DIR / "module.yml").read_text())


def module_files() -> list[Path]:
    return sorted(p for d in MODULE_SOURCES for p in d.rglob("*") if p.is_file())


def test_module_yml_names_what_exists() -> None:
    meta = module_yml()
    assert meta["name"] == "utvm"
    assert (REPO_ROOT / meta["build"]["cmake"] / "CMakeLists.txt").is_file()
    assert (REPO_ROOT / meta["build"]["kconfig"]).is_file()
    for root in meta["samples"] + meta["tests"]:
        assert (REPO_ROOT / root).is_dir(), root
    for req in meta["package-managers"]["pip"]["requirement-files"]:
        assert (REPO_ROOT / req).is_file(), req


def _requirement_names(lines: list[str]) -> set[str]:
    names = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0].lower())
    return names


def test_pip_requirements_match_the_host_package() -> None:
    """`west packages pip --install` must install what python/pyproject.toml depends on."""
    meta = module_yml()
    listed: set[str] = set()
    for req in meta["package-managers"]["pip"]["requirement-files"]:
        listed |= _requirement_names((REPO_ROOT / req).read_text().splitlines())
    pyproject = tomllib.loads((REPO_ROOT / "python" / "pyproject.toml").read_text())
    assert listed == _requirement_names(pyproject["project"]["dependencies"])


def test_every_kconfig_option_is_utvm_and_has_help() -> None:
    text = (MODULE_DIR / "Kconfig").read_text()
    blocks = re.split(r"^(?=(?:menuconfig|config|choice)\b)", text, flags=re.M)
    symbols = []
    for block in blocks:
        m = re.match(r"(menuconfig|config)\s+(\w+)", block)
        if not m:
            continue
        symbols.append(m.group(2))
        assert m.group(2).startswith("UTVM"), f"{m.group(2)}: options are named UTVM_*"
        assert re.search(r"^\s+help\s*$", block, flags=re.M), f"{m.group(2)} has no help text"
    for expected in ("UTVM", "UTVM_AOT_EXECUTOR", "UTVM_GRAPH_EXECUTOR", "UTVM_RPC_SERVER",
                     "UTVM_RPC_MAX_PACKET_SIZE", "UTVM_ARENA_SIZE", "UTVM_RPC_UART"):
        assert expected in symbols
    assert 'source "subsys/logging/Kconfig.template.log_config"' in text, "log level option"


def test_module_names_no_board_port_or_usb_id() -> None:
    """The UART comes from devicetree; nothing in the module is tied to a board or a host."""
    forbidden = [
        (r"/dev/tty|/dev/pts|\bCOM[0-9]+\b", "a serial port"),
        (r"\b(?:0x)?[0-9a-fA-F]{4}:(?:0x)?[0-9a-fA-F]{4}\b", "a USB vendor:product id"),
        # native_simulator is no board: it is the POSIX architecture's runner, whose build
        # target takes the code that must run with the host's C library (host_clock.c).
        (r"\b(?:nucleo|qemu|nrf5\d|stm32|frdm|esp32|native_sim(?!ulator\b)|mps2)\w*",
         "a board name"),
    ]
    for path in module_files():
        text = path.read_text(errors="replace")
        for pattern, what in forbidden:
            m = re.search(pattern, text, flags=re.I)
            assert m is None, f"{path.relative_to(REPO_ROOT)} names {what}: {m.group(0)!r}"


@needs_zephyr
def test_module_yml_matches_zephyrs_schema() -> None:
    """Validated the way Zephyr's build does it: pykwalify with zephyr_module.py's schema."""
    from pykwalify.core import Core

    script = Path(ZEPHYR_BASE) / "scripts" / "zephyr_module.py"
    if not script.is_file():
        pytest.fail(f"ZEPHYR_BASE={ZEPHYR_BASE} has no scripts/zephyr_module.py: "
                    "is it a Zephyr tree?")
    spec = importlib.util.spec_from_file_location("zephyr_module", script)
    assert spec is not None and spec.loader is not None
    zephyr_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zephyr_module)
    schema = yaml.safe_load(zephyr_module.METADATA_SCHEMA)
    Core(source_data=module_yml(), schema_data=schema).validate(raise_exception=True)


def twister_platforms() -> list[str]:
    """native_sim always; UTVM_TWISTER_PLATFORMS adds more (e.g. "qemu_cortex_m3"), for a
    Zephyr workspace that has their toolchain and modules."""
    extra = os.environ.get("UTVM_TWISTER_PLATFORMS", "").replace(",", " ").split()
    return ["native_sim", *[p for p in extra if p != "native_sim"]]


def twister_cwd(tmp_path: Path) -> Path:
    """Twister finds a board's modules (CMSIS, picolibc, HALs) through the west workspace
    around the directory it runs in: ZEPHYR_BASE's, when it is in one."""
    for folder in Path(ZEPHYR_BASE).resolve().parents:
        if (folder / ".west").is_dir():
            return folder
    return tmp_path


@needs_zephyr
@pytest.mark.parametrize("platform", twister_platforms())
def test_twister(platform: str, tmp_path: Path) -> None:
    """ztest suites (runtime, RPC server), the pytest-harness RPC session and both samples,
    on native_sim (and any platform of UTVM_TWISTER_PLATFORMS)."""
    twister = Path(ZEPHYR_BASE) / "scripts" / "twister"
    if not twister.is_file():
        pytest.fail(f"ZEPHYR_BASE={ZEPHYR_BASE} has no scripts/twister: is it a Zephyr tree?")
    if shutil.which("ninja") is None or shutil.which("dtc") is None:
        pytest.fail("twister needs ninja and dtc: apt-get install ninja-build device-tree-compiler")
    require_zephyr_python(ZEPHYR_BASE, ZEPHYR_TWISTER_REQUIREMENTS)
    env = dict(os.environ)
    if platform.startswith("native_sim"):
        env["ZEPHYR_TOOLCHAIN_VARIANT"] = native_sim_toolchain()
    outdir = tmp_path / "twister-out"
    cmd = [
        sys.executable, str(twister),
        "-T", str(REPO_ROOT / "tests" / "zephyr"), "-T", str(REPO_ROOT / "samples"),
        "-p", platform, "--outdir", str(outdir), "--inline-logs",
        f"-x=ZEPHYR_EXTRA_MODULES={REPO_ROOT}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                          cwd=twister_cwd(tmp_path), check=False)
    log = proc.stdout + proc.stderr
    issues = log[log.find("The following issues were found"):] if proc.returncode else ""
    assert proc.returncode == 0, f"twister failed (logs in {outdir}):\n{issues or log[-6000:]}"
    summary = [line for line in log.splitlines() if "executed test configurations passed" in line]
    assert summary, f"no twister summary in its output:\n{log[-4000:]}"
    assert re.search(r"\b0 failed, 0 errored", summary[-1]), summary[-1]
    # Something ran (or built, on a board twister cannot run here: mps2/an386 runs only in
    # Arm's FVP): a platform that filters out every suite would pass vacuously.
    assert (re.search(r"\b[1-9]\d* of \d+ executed test cases passed", log)
            or re.search(r"(?<!\d)[1-9]\d*(?:\x1b\[[\d;]*m)? built \(not run\)", summary[-1])), \
        summary[-1]
