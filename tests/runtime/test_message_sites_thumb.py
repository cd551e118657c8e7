"""On Thumb-2, a message site's word follows its call to utvm_fail_ref_inline in the code
(runtime/include/utvm/error_ref.h). Compiled for a Cortex-M3 as the firmware is, every such
word must be the id of a message the object's .utvm_msgs holds, exactly as the host computes
it from the record (utvm.rpc.messages), or the host could not expand what the board sends.
Running the sites is the board test's part (tests/python/west/test_board_messages.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from utvm.rpc.messages import SECTION, MessageTable, parse_records

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
SOURCES = sorted(p for d in ("core", "memory", "executors/*", "rpc")
                 for p in RUNTIME.glob(f"src/{d}/*.c"))
CFLAGS = ["-Os", "-mcpu=cortex-m3", "-mthumb", "-ffunction-sections", "-fdata-sections",
          "-std=c11", f"-I{RUNTIME / 'include'}"]
TRAMPOLINE = "utvm_fail_ref_inline"


def _inline_words(obj: Path) -> tuple[list[int], MessageTable]:
    """The words after each call to the trampoline in ``obj``, and its message table."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.relocation import RelocationSection

    with open(obj, "rb") as f:
        elf = ELFFile(f)
        section = elf.get_section_by_name(SECTION)
        table = MessageTable(parse_records(section.data()) if section else [], 4, str(obj))
        symbols = elf.get_section_by_name(".symtab")
        words = []
        for rel_section in elf.iter_sections():
            if not isinstance(rel_section, RelocationSection):
                continue
            code = elf.get_section(rel_section["sh_info"]).data()
            for rel in rel_section.iter_relocations():
                if symbols.get_symbol(rel["r_info_sym"]).name == TRAMPOLINE:
                    at = rel["r_offset"] + 4  # after the 4-byte bl
                    words.append(int.from_bytes(code[at:at + 4], "little"))
    return words, table


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not found (apt-get install gcc-arm-none-eabi)")
    pytest.importorskip("elftools", reason="pyelftools is not installed")
    out = tmp_path_factory.mktemp("thumb")
    built = []
    for src in SOURCES:
        obj = out / f"{src.parent.name}_{src.stem}.o"
        subprocess.run(["arm-none-eabi-gcc", *CFLAGS, "-c", str(src), "-o", str(obj)],
                       check=True)
        built.append(obj)
    return built


def test_every_inline_word_names_a_message_of_its_object(objects: list[Path]) -> None:
    sites = code_first = 0
    for obj in objects:
        words, table = _inline_words(obj)
        sites += len(words)
        # A word carries its code when the site's is a constant 0xA0B; else the code comes
        # first among the arguments and the word says so (no code), as its record does
        # (lookup matches the code too).
        unknown = [f"0x{w:08x}" for w in words if not table.lookup(w)]
        assert not unknown, f"{obj.name}: words no message of the object carries: {unknown}"
        code_first += sum(1 for w in words if not w >> 12 & 0xFF)
    # Most sites take the inline form (the rest: a 64-bit argument, more than four
    # arguments with the code); were it switched off, none would. Sites such as
    # `utvm_fail(rc, "params: %s", ...)` pass their code in r0.
    assert sites > 100, sites
    assert code_first >= 10, code_first


def test_the_trampoline_is_defined_once(objects: list[Path]) -> None:
    from elftools.elf.elffile import ELFFile

    defined = []
    for obj in objects:
        with open(obj, "rb") as f:
            symtab = ELFFile(f).get_section_by_name(".symtab")
            defined += [obj.name for s in symtab.get_symbol_by_name(TRAMPOLINE) or []
                        if s["st_shndx"] != "SHN_UNDEF"]
    assert defined == ["core_error.o"]
