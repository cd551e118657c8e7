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


def test_image_older_than_the_objects_is_refused(tmp_path: Path, program: Path) -> None:
    """A failed link leaves the previous image behind: footprint must not report it."""
    import os

    folder = write_zephyr_build(tmp_path / "build", source_dir=tmp_path / "app")
    image = folder / "zephyr" / "zephyr.elf"
    shutil.copy(program, image)
    compiled = folder / "CMakeFiles" / "app.dir" / "model.c.obj"
    compiled.parent.mkdir(parents=True)
    compiled.write_bytes(b"\x7fELF newer object")
    os.utime(image, (compiled.stat().st_mtime - 10, compiled.stat().st_mtime - 10))
    with pytest.raises(UtvmError, match=r"zephyr\.elf is stale: 1 object file\(s\) were "
                                        r"compiled after it \(e\.g\. CMakeFiles/app\.dir/model"):
        _measure(folder)
    os.utime(image)  # linked again: the image is the newest
    assert _measure(folder).rom_total > 0


def _measure(folder: Path):
    from utvm.board.footprint import measure_build

    return measure_build(read_build(folder, must_be_built=True), None)


def test_named_buffers_are_shown_inside_their_part(tmp_path: Path) -> None:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler (gcc) to build the test program")
    runtime = tmp_path / "runtime" / "memory.c"
    model = tmp_path / "model" / "default_lib0.c"
    runtime.parent.mkdir()
    model.parent.mkdir()
    runtime.write_text("static unsigned char arena[5000];\n"
                       "unsigned char* get(int i) { return &arena[i]; }\n")
    model.write_text("unsigned char global_workspace[7000];\n"
                     "unsigned char* get(int i);\n"
                     "int main(void) { return get(1)[0] + global_workspace[2]; }\n")
    elf = tmp_path / "image.elf"
    subprocess.run([compiler, "-g", "-O1", "-o", str(elf), str(runtime), str(model)], check=True)
    footprint = measure(elf, roots(tmp_path))
    assert footprint.buffers["arena"] == ("runtime", 0, 5000)
    assert footprint.buffers["global_workspace"] == ("model", 0, 7000)
    table = footprint.buffer_table()
    assert "runtime arena (CONFIG_UTVM_ARENA_SIZE) [runtime]" in table
    assert "model workspace, static in its code (TVM's USMP pool) [model]" in table
    assert footprint.to_json()["buffers"]["arena"]["ram"] == 5000
