"""Whether a model image fits a loadable firmware's memory, said before anything is uploaded:
the file goes into the upload store, its code and data into LLEXT's heap."""

from __future__ import annotations

from pathlib import Path

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from utvm.board.build_dir import ZephyrBuild
from utvm.errors import UtvmError

# LLEXT also keeps its own tables (symbols, section map) on the heap.
_LOADER_OVERHEAD = 4096


def loaded_bytes(image: Path) -> int:
    """Bytes of the image's sections the loader copies or zeroes (code, data, bss)."""
    with image.open("rb") as stream:
        elf = ELFFile(stream)
        return sum(s["sh_size"] for s in elf.iter_sections()
                   if s["sh_flags"] & SH_FLAGS.SHF_ALLOC)


def check_fits(image: Path, build: ZephyrBuild) -> None:
    config = build.kconfig()
    store = int(config.get("CONFIG_UTVM_LOADABLE_STORE_SIZE", "0") or 0)
    heap = int(config.get("CONFIG_LLEXT_HEAP_SIZE", "0") or 0) * 1024
    size, loaded = image.stat().st_size, loaded_bytes(image)
    if store and size > store:
        raise UtvmError(f"the model image is {size} bytes and the board's upload store holds "
                        f"{store} (CONFIG_UTVM_LOADABLE_STORE_SIZE): rebuild the firmware with "
                        "a larger store (and CONFIG_LLEXT_HEAP_SIZE), or use a smaller model")
    if heap and loaded + _LOADER_OVERHEAD > heap:
        raise UtvmError(f"the model's code and data take {loaded} bytes and the board's loader "
                        f"heap holds {heap} (CONFIG_LLEXT_HEAP_SIZE={heap // 1024} KiB): "
                        "rebuild the firmware with a larger heap, or use a smaller model")
