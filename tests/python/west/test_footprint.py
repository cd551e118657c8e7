"""footprint: a small program whose parts live in runtime/, model/, app/ and zephyr/ folders,
compiled with debug information, is split back into those parts."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from westsupport import write_zephyr_build

from utvm.board.build_dir import read_build
from utvm.board.footprint import PARTS, PartRoots, measure
from utvm.cli import main
from utvm.errors import UtvmError

SOURCES = {
    # 3000 bytes of RAM and a function in the runtime
    "runtime/src/arena.c": """
        static unsigned char arena[3000];
        unsigned char* runtime_arena(int i) { return &arena[i]; }
    """,
    # 4000 bytes of constants (params) and an operator in the model
    "model/codegen/host/src/default_lib0.c": """
        static const float params[1000] = {1.0f, 2.0f};
        float model_op(int i) { return params[i] * 2.0f; }
        const char* model_name(void) { return "a string literal without a symbol"; }
    """,
    "app/src/main.c": """
        unsigned char* runtime_arena(int i);
        float model_op(int i);
        const char* model_name(void);
        int kernel_start(void);
        int main(void) {
            return (int)model_op(1) + runtime_arena(2)[0] + model_name()[0] + kernel_start();
        }
    """,
    "zephyr/kernel/init.c": """
        int kernel_counter = 5;
        int kernel_start(void) { return kernel_counter++; }
    """,
}


@pytest.fixture
def program(tmp_path: Path) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler (gcc) to build the test program")
    files = []
    for relative, text in SOURCES.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        files.append(str(path))
    elf = tmp_path / "program.elf"
    subprocess.run([compiler, "-g", "-O1", "-o", str(elf), *files], check=True)
    return elf


def roots(tmp_path: Path) -> PartRoots:
    return PartRoots(model=(tmp_path / "model",), runtime=(tmp_path / "runtime",),
                     app=(tmp_path / "app",), zephyr=(tmp_path / "zephyr",))


def test_parts_of_a_program(tmp_path: Path, program: Path) -> None:
    footprint = measure(program, roots(tmp_path))
    assert footprint.ram["runtime"] >= 3000  # the arena
    assert footprint.rom["runtime"] > 0  # runtime_arena()
    assert footprint.rom["model"] >= 4000  # params and model_op()
    assert footprint.ram["model"] == 0
    assert footprint.rom["app"] > 0 and footprint.ram["app"] == 0
    assert footprint.rom["zephyr"] > 0 and footprint.ram["zephyr"] >= 4  # kernel_counter
    assert footprint.ram["runtime"] < 3000 + 64 and footprint.rom["model"] < 4000 + 512


def test_parts_add_up_to_the_image(tmp_path: Path, program: Path) -> None:
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    footprint = measure(program, roots(tmp_path))
    with open(program, "rb") as handle:
        allocated = [s for s in ELFFile(handle).iter_sections()
                     if s["sh_flags"] & SH_FLAGS.SHF_ALLOC]
        rom = sum(s["sh_size"] for s in allocated if s["sh_type"] != "SHT_NOBITS")
        ram = sum(s["sh_size"] for s in allocated if s["sh_flags"] & SH_FLAGS.SHF_WRITE)
    assert footprint.rom_total == rom
    assert footprint.ram_total == ram
    assert set(footprint.to_json()["parts"]) == set(PARTS)


def test_table_and_json(tmp_path: Path, program: Path) -> None:
    footprint = measure(program, roots(tmp_path))
    table = footprint.table()
    assert "utvm runtime" in table and "model (generated code, constants)" in table
    assert table.splitlines()[-1].startswith("total")
    report = footprint.to_json()
    assert report["total"] == {"rom": footprint.rom_total, "ram": footprint.ram_total}


def test_footprint_command_on_a_build(tmp_path: Path, program: Path, capsys) -> None:
    folder = write_zephyr_build(tmp_path / "build", source_dir=tmp_path / "app")
    shutil.copy(program, folder / "zephyr" / "zephyr.elf")
    assert main(["footprint", "-d", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["board"] == "native_sim"
    assert report["parts"]["app"]["rom"] > 0  # the app folder came from the build's cache
    assert sum(p["rom"] for p in report["parts"].values()) == report["total"]["rom"]
    assert main(["footprint", "-d", str(folder)]) == 0
    assert "footprint of" in capsys.readouterr().out


def test_missing_or_broken_image(tmp_path: Path) -> None:
    with pytest.raises(UtvmError, match="does not exist"):
        measure(tmp_path / "none.elf", PartRoots())
    (tmp_path / "bad.elf").write_bytes(b"not an elf at all")
    with pytest.raises(UtvmError, match="not a readable ELF"):
        measure(tmp_path / "bad.elf", PartRoots())
    folder = write_zephyr_build(tmp_path / "b")
    with pytest.raises(UtvmError, match=r"has no zephyr\.elf yet"):
        read_build(folder, must_be_built=True)
