"""ROM and RAM of a Zephyr image, split into utvm's runtime, the model, Zephyr and the app.

Read with pyelftools. Section flags say where bytes live: code and read-only data are ROM,
writable data is RAM, and initialised writable data is both (its initial values are stored
in the image). Each function and variable symbol is attributed to the source file it came
from — through DWARF (address ranges of compilation units for code, variable locations for
data), else through the symbol table's FILE entries — and the file's folder names the part.
Whatever no symbol covers (padding, linker tables, code without debug information) is
reported as "other", so the parts always add up to the image's totals.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from utvm.board.build_dir import ZephyrBuild
from utvm.board.link_map import ObjectSources, read_link_map
from utvm.errors import UtvmError
from utvm.paths import repo_root

PARTS = ("runtime", "model", "zephyr", "app", "other")
PART_TITLES = {
    "runtime": "utvm runtime",
    "model": "model (generated code, constants)",
    "zephyr": "Zephyr (kernel, drivers, libc, modules)",
    "app": "application",
    "other": "other (padding, linker, no debug info)",
}
# Large buffers worth naming inside their part: symbol -> what it is.
NAMED_BUFFERS = {
    "arena": "runtime arena (CONFIG_UTVM_ARENA_SIZE)",
    "utvm_app_arena": "runtime arena (sized for the model)",
    "utvm_app_rpc_rx_buf": "RPC receive buffer (sized for the model)",
    "workspace_arena": "runtime workspace arena (CONFIG_UTVM_WORKSPACE_SIZE)",
    "rx_buf": "RPC receive buffer (CONFIG_UTVM_RPC_MAX_PACKET_SIZE)",
    "global_workspace": "model workspace, static in its code (TVM's USMP pool)",
    "global_const_workspace": "model constants (TVM's constant pool)",
}
_DW_OP_ADDR = 0x03
_LOOK_BACK = 64


@dataclass(frozen=True)
class PartRoots:
    """Folders whose sources make up each part. The deepest folder containing a file decides
    (the model may sit inside the app's folder, Zephyr's generated files inside the build
    folder); absolute paths under no folder are Zephyr's (modules, toolchain libraries)."""

    model: tuple[Path, ...] = ()
    runtime: tuple[Path, ...] = ()
    app: tuple[Path, ...] = ()
    zephyr: tuple[Path, ...] = ()

    def part_of(self, source: str | None) -> str:
        if not source:
            return "other"
        path = os.path.normpath(source)
        if os.path.basename(path).startswith("utvm_model_"):
            return "model"  # the table utvm_add_model() generates for C-interface models
        best, best_depth = None, -1
        for part in ("model", "runtime", "app", "zephyr"):
            for root in getattr(self, part):
                depth = len(os.path.normpath(str(root)))
                if depth > best_depth and _inside(path, root):
                    best, best_depth = part, depth
        if best is not None:
            return best
        return "zephyr" if os.path.isabs(path) else "other"


def _inside(path: str, root: Path) -> bool:
    root_text = os.path.normpath(str(root))
    return path == root_text or path.startswith(root_text.rstrip(os.sep) + os.sep)


@dataclass
class Footprint:
    elf: Path
    rom: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PARTS, 0))
    ram: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PARTS, 0))
    #: NAMED_BUFFERS found in the image: symbol -> (part, ROM bytes, RAM bytes)
    buffers: dict[str, tuple[str, int, int]] = field(default_factory=dict)

    @property
    def rom_total(self) -> int:
        return sum(self.rom.values())

    @property
    def ram_total(self) -> int:
        return sum(self.ram.values())

    def to_json(self) -> dict[str, object]:
        return {
            "elf": str(self.elf),
            "parts": {part: {"title": PART_TITLES[part], "rom": self.rom[part],
                             "ram": self.ram[part]} for part in PARTS},
            "total": {"rom": self.rom_total, "ram": self.ram_total},
            "buffers": {name: {"title": NAMED_BUFFERS[name], "part": part, "rom": rom,
                               "ram": ram}
                        for name, (part, rom, ram) in self.buffers.items()},
        }

    def table(self) -> str:
        width = max(len(t) for t in PART_TITLES.values())
        lines = [f"{'part':<{width}}  {'ROM (bytes)':>12}  {'RAM (bytes)':>12}"]
        lines.append("-" * len(lines[0]))
        for part in PARTS:
            lines.append(f"{PART_TITLES[part]:<{width}}  {self.rom[part]:>12,}  "
                         f"{self.ram[part]:>12,}")
        lines.append("-" * len(lines[0]))
        lines.append(f"{'total':<{width}}  {self.rom_total:>12,}  {self.ram_total:>12,}")
        return "\n".join(lines)

    def buffer_table(self) -> str:
        """The large buffers inside the parts (arena, static workspace, constant pool)."""
        rows = [(f"{NAMED_BUFFERS[name]} [{part}]", rom, ram)
                for name, (part, rom, ram) in self.buffers.items()]
        width = max((len(label) for label, _, _ in rows), default=0)
        return "\n".join([f"{'of which':<{width}}  {'ROM (bytes)':>12}  {'RAM (bytes)':>12}"]
                         + [f"{label:<{width}}  {rom:>12,}  {ram:>12,}"
                            for label, rom, ram in rows])


@dataclass(frozen=True)
class _Section:
    name: str
    start: int
    size: int
    rom: bool
    ram: bool


def measure(elf_path: Path, roots: PartRoots, link_map: Path | None = None,
            objects: ObjectSources | None = None) -> Footprint:
    """The image's ROM and RAM by part; ``link_map`` + ``objects`` attribute the bytes no
    symbol covers (see utvm.board.link_map)."""
    if not elf_path.is_file():
        raise UtvmError(f"{elf_path} does not exist: build first (`west utvm build`).")
    try:
        with open(elf_path, "rb") as handle:
            elf = ELFFile(handle)
            sections = _memory_sections(elf)
            symbols = _symbols(elf, sections)
            locator = _SourceLocator(elf)
    except ELFError as exc:
        raise UtvmError(f"{elf_path} is not a readable ELF file: {exc}") from exc
    footprint = Footprint(elf_path)
    for address, size, section, file_hint, name in symbols:
        part = roots.part_of(locator.source_of(address, not section.ram, file_hint, roots))
        _count(footprint, section, part, size)
        if name in NAMED_BUFFERS and part in ("runtime", "model"):
            _, rom, ram = footprint.buffers.get(name, (part, 0, 0))
            footprint.buffers[name] = (part, rom + (size if section.rom else 0),
                                       ram + (size if section.ram else 0))
    if link_map is not None and objects is not None:
        _count_unsymbolled(footprint, sections, symbols, link_map, objects, roots)
    for kind in ("rom", "ram"):
        total = sum(s.size for s in sections.values() if getattr(s, kind))
        counted = getattr(footprint, kind)
        counted["other"] += max(0, total - sum(counted.values()))
    return footprint


def _count(footprint: Footprint, section: _Section, part: str, size: int) -> None:
    if section.rom:
        footprint.rom[part] += size
    if section.ram:
        footprint.ram[part] += size


def _count_unsymbolled(footprint: Footprint, sections: dict[int, _Section],
                       symbols: list[tuple[int, int, _Section, str | None]], link_map: Path,
                       objects: ObjectSources, roots: PartRoots) -> None:
    by_name = {s.name: s for s in sections.values()}
    covered = sorted((address, address + size) for address, size, _, _, _ in symbols)
    starts = [low for low, _ in covered]
    previous_end = -1
    for piece in read_link_map(link_map, set(by_name)):
        section = next((s for s in by_name.values()
                        if s.start <= piece.start < s.start + s.size), None)
        if section is None:
            continue
        # Merged string sections are listed with their sizes before merging: they overlap.
        begin = max(piece.start, previous_end)
        end = min(piece.start + piece.size, section.start + section.size)
        previous_end = max(previous_end, end)
        if end <= begin:
            continue
        overlap = 0
        index = max(0, bisect.bisect_right(starts, begin) - 1)
        while index < len(covered) and covered[index][0] < end:
            low, high = covered[index]
            overlap += max(0, min(high, end) - max(low, begin))
            index += 1
        rest = end - begin - overlap
        if rest > 0:
            _count(footprint, section, roots.part_of(objects.source_of(piece.obj)), rest)


def _memory_sections(elf: ELFFile) -> dict[int, _Section]:
    """Allocated sections, each marked as stored in the image (ROM) and/or living in RAM.

    On a microcontroller image (some segment's load address differs from its run address)
    writable data counts as RAM only where it is copied to another address at boot; flags
    alone would put the vector table in RAM. Elsewhere (native_sim) writable means RAM.
    """
    copied = [(seg["p_vaddr"], seg["p_vaddr"] + seg["p_memsz"]) for seg in elf.iter_segments()
              if seg["p_type"] == "PT_LOAD" and seg["p_paddr"] != seg["p_vaddr"]]
    found = {}
    for index, section in enumerate(elf.iter_sections()):
        flags = section["sh_flags"]
        if not flags & SH_FLAGS.SHF_ALLOC or section["sh_size"] == 0:
            continue
        address = section["sh_addr"]
        loaded = section["sh_type"] != "SHT_NOBITS"
        writable = bool(flags & SH_FLAGS.SHF_WRITE)
        in_ram = writable and (not loaded or not copied
                               or any(low <= address < high for low, high in copied))
        found[index] = _Section(section.name, address, section["sh_size"], rom=loaded,
                                ram=in_ram)
    return found


_Symbol = tuple[int, int, _Section, str | None, str]  # address, size, section, file, name


def _symbols(elf: ELFFile, sections: dict[int, _Section]) -> list[_Symbol]:
    """Functions and variables with a size, each counted once (aliases share an address)."""
    table = elf.get_section_by_name(".symtab")
    if not isinstance(table, SymbolTableSection):
        raise UtvmError("the image has no symbol table (was it stripped?): footprint needs the "
                        "unstripped zephyr.elf of the build.")
    thumb = elf.header["e_machine"] == "EM_ARM"
    seen: set[tuple[int, int]] = set()
    result = []
    current_file: str | None = None
    for symbol in table.iter_symbols():
        kind = symbol["st_info"]["type"]
        if kind == "STT_FILE":
            current_file = symbol.name or None
            continue
        if kind not in ("STT_FUNC", "STT_OBJECT") or symbol["st_size"] == 0:
            continue
        section = sections.get(symbol["st_shndx"]) if isinstance(symbol["st_shndx"], int) \
            else None
        if section is None:
            continue
        address = symbol["st_value"]
        if thumb and kind == "STT_FUNC":
            address &= ~1  # bit 0 of an ARM function address marks Thumb code
        key = (address, symbol["st_size"])
        if key in seen:
            continue
        seen.add(key)
        local = symbol["st_info"]["bind"] == "STB_LOCAL"
        size = min(symbol["st_size"], section.start + section.size - address)
        result.append((address, max(size, 0), section, current_file if local else None,
                       symbol.name))
    return _without_overlaps(result)


def _without_overlaps(symbols: list[_Symbol]) -> list[_Symbol]:
    """Nested or overlapping symbols (a function inside another's range, aliases of other
    sizes) would count their bytes twice: keep each byte with the first symbol holding it."""
    clipped = []
    end = -1
    for address, size, section, hint, name in sorted(symbols, key=lambda s: (s[0], -s[1])):
        start = max(address, end)
        if address + size > start:
            clipped.append((start, address + size - start, section, hint, name))
            end = address + size
    return clipped


class _SourceLocator:
    """Address -> source file, from DWARF compilation units and variable locations."""

    def __init__(self, elf: ELFFile) -> None:
        self._starts: list[int] = []
        self._ranges: list[tuple[int, int, str]] = []
        self._variables: dict[int, str] = {}
        self._by_basename: dict[str, list[str]] = {}
        if not elf.has_dwarf_info():
            return
        dwarf = elf.get_dwarf_info()
        ranges = []
        range_lists = None
        for cu in dwarf.iter_CUs():
            top = cu.get_top_DIE()
            try:
                path = os.path.normpath(top.get_full_path())
            except (KeyError, AttributeError, TypeError):
                continue
            self._by_basename.setdefault(os.path.basename(path), []).append(path)
            if range_lists is None:
                range_lists = dwarf.range_lists()
            ranges.extend((low, high, path) for low, high in _cu_ranges(top, cu, range_lists))
            for child in top.iter_children():
                if child.tag != "DW_TAG_variable":
                    continue
                location = child.attributes.get("DW_AT_location")
                value = location.value if location is not None else None
                if isinstance(value, list) and len(value) >= 2 and value[0] == _DW_OP_ADDR:
                    address = int.from_bytes(bytes(value[1:]), "little" if elf.little_endian
                                             else "big")
                    self._variables.setdefault(address, path)
        ranges.sort()
        self._ranges = ranges
        self._starts = [low for low, _, _ in ranges]

    def source_of(self, address: int, code_or_const: bool, file_hint: str | None,
                  roots: PartRoots) -> str | None:
        if address in self._variables:
            return self._variables[address]
        if code_or_const:  # ranges may nest: look back over a few that start earlier
            index = bisect.bisect_right(self._starts, address) - 1
            for candidate in range(index, max(-1, index - _LOOK_BACK), -1):
                low, high, path = self._ranges[candidate]
                if low <= address < high:
                    return path
        if file_hint:
            candidates = self._by_basename.get(os.path.basename(file_hint), [])
            parts = {roots.part_of(c) for c in candidates}
            if len(parts) == 1:
                return candidates[0]
            return file_hint if not candidates else None
        return None


def _cu_ranges(top, cu, range_lists) -> Iterable[tuple[int, int]]:
    attributes = top.attributes
    if "DW_AT_ranges" in attributes and range_lists is not None:
        base = attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in attributes else 0
        try:
            entries = range_lists.get_range_list_at_offset(attributes["DW_AT_ranges"].value, cu=cu)
        except Exception:  # unusual range encodings: fall back to the symbol table
            return []
        result = []
        for entry in entries:
            name = type(entry).__name__
            if name == "BaseAddressEntry":
                base = entry.base_address
            elif hasattr(entry, "begin_offset"):
                absolute = getattr(entry, "is_absolute", False)
                low = entry.begin_offset if absolute else base + entry.begin_offset
                high = entry.end_offset if absolute else base + entry.end_offset
                if high > low:
                    result.append((low, high))
        return result
    if "DW_AT_low_pc" in attributes and "DW_AT_high_pc" in attributes:
        low = attributes["DW_AT_low_pc"].value
        high_attribute = attributes["DW_AT_high_pc"]
        high = high_attribute.value
        if high_attribute.form not in ("DW_FORM_addr",):
            high = low + high  # DWARF 4+: high_pc is an offset from low_pc
        return [(low, high)] if high > low else []
    return []


def measure_build(build: ZephyrBuild, model_dir: Path | None) -> Footprint:
    """The footprint of a build's image, with the parts' folders taken from the build."""
    elf = build.elf_path
    link_map: Path | None = build.zephyr_dir / f"{build.kernel_name}.map"
    if _is_relocatable(elf) and build.exe_path.is_file():
        elf, link_map = build.exe_path, None  # native_sim: zephyr.elf is only partly linked
    roots = PartRoots(
        model=tuple(p for p in (model_dir, build.state_dir) if p is not None),
        # The arena and RPC buffer `west utvm build` generates are the runtime's memory.
        runtime=(repo_root() / "runtime", build.state_dir / "memory"),
        app=tuple(p for p in (build.source_dir, build.app_dir) if p is not None),
        zephyr=tuple(p for p in (build.zephyr_base, build.zephyr_dir, build.app_dir / "modules")
                     if p is not None),
    )
    _refuse_stale(build, elf)
    objects = ObjectSources(build.app_dir) if link_map is not None else None
    return measure(elf, roots, link_map if link_map and link_map.is_file() else None, objects)


def _refuse_stale(build: ZephyrBuild, elf: Path) -> None:
    """An object file newer than the image means the last build compiled but did not link
    (a failed link, an interrupted build): the image is the previous one's."""
    try:
        image_time = elf.stat().st_mtime
    except OSError:
        return  # measure() says the image does not exist
    newer = [path for path in build.build_dir.rglob("*.obj")
             if path.is_file() and path.stat().st_mtime > image_time]
    if newer:
        raise UtvmError(
            f"{elf} is stale: {len(newer)} object file(s) were compiled after it (e.g. "
            f"{newer[0].relative_to(build.build_dir)}), so the last build did not link. Build "
            "again and fix what it reports (`west utvm build`); the image here is the previous "
            "build's.")


def _is_relocatable(elf_path: Path) -> bool:
    try:
        with open(elf_path, "rb") as handle:
            return ELFFile(handle).header["e_type"] == "ET_REL"
    except (OSError, ELFError):
        return False
