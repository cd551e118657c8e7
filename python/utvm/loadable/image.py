"""A model's generated C compiled into one relocatable ELF object (an ``.llext``) with a
firmware's EDK, cached by content: the same model for the same firmware is compiled once."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from utvm.errors import UtvmError
from utvm.loadable.edk import Edk
from utvm.mlf.constant_copies import without_constant_copies
from utvm.mlf.model import ModelLibrary

# The extension exports its system library, which the board's loader looks up by name.
_ENTRY_SOURCE = """\
#include <zephyr/llext/symbol.h>
#include <tvm/runtime/crt/module.h>
const TVMModule* TVMSystemLibEntryPoint(void);
LL_EXTENSION_SYMBOL(TVMSystemLibEntryPoint);
"""

# LLEXT takes one section per kind (one NOBITS section at most): TVM's own section names
# (.rodata.tvm, .bss.noinit.tvm) are merged into the usual ones.
_MERGE_SCRIPT = """\
SECTIONS {
  .text : { *(.text .text.*) }
  .rodata : { *(.rodata .rodata.*) }
  .data : { *(.data .data.*) }
  .bss : { *(.bss .bss.* COMMON) }
}
"""

# The EDK drops the firmware's optimisation flag; model code wants speed.
_OPTIMIZE = ("-O2",)
# What the sources go through before compiling (part of the cache key): as for a firmware
# image, the constants' second copy in TVM's metadata is left out.
_SOURCE_FILTER = "without_constant_copies"


def image_key(mlf: ModelLibrary, edk: Edk) -> str:
    """Content hash of everything that decides the image's bytes."""
    return sources_key(mlf.c_sources, edk)


def sources_key(c_sources: Sequence[Path], edk: Edk) -> str:
    digest = hashlib.sha256()
    for part in (_ENTRY_SOURCE, _MERGE_SCRIPT, *_OPTIMIZE, _SOURCE_FILTER, *edk.cflags,
                 str(edk.compiler)):
        digest.update(part.encode() + b"\0")
    for source in sorted(c_sources):
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def build_image(mlf: ModelLibrary, edk: Edk, cache_dir: Path) -> Path:
    """The model's ``.llext`` for this EDK, compiled now or taken from ``cache_dir``."""
    if mlf.executor == "aot" and mlf.interface == "c":
        raise UtvmError(f"{mlf.source} was built with interface-api=c: a loaded model is "
                        "driven by the host, so build it with the packed interface and "
                        "system-lib.")
    if mlf.object_files:
        raise UtvmError(f"{mlf.source} holds compiled objects; a loadable image is built "
                        "from the generated C only")
    return compile_image(mlf.module_name, mlf.c_sources, edk, cache_dir)


def compile_image(name: str, c_sources: Sequence[Path], edk: Edk, cache_dir: Path) -> Path:
    """Generated C sources (with a system library) into an ``.llext``, or the cached one.
    AutoTVM's operator-style exports, which are no model, come here directly."""
    target = cache_dir / f"{name}-{sources_key(c_sources, edk)}.llext"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="utvm-llext-") as tmp:
        work = Path(tmp)
        entry = work / "utvm_llext_entry.c"
        entry.write_text(_ENTRY_SOURCE)
        script = work / "merge.ld"
        script.write_text(_MERGE_SCRIPT)
        sources = [*(_lean_source(source, work / f"lean_{i}_{source.name}")
                     for i, source in enumerate(sorted(c_sources))), entry]
        objects = [str(work / f"{i}_{source.stem}.o") for i, source in enumerate(sources)]
        # One compiler per CPU, as a firmware build does.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(lambda job: _run(
                [str(edk.compiler), *edk.cflags, *_OPTIMIZE, "-w", "-c", str(job[0]),
                 "-o", job[1]], f"compiling {job[0].name}"), zip(sources, objects,
                                                                  strict=True)))
        partial = work / "model.llext"
        _run([str(edk.compiler), *edk.cflags, "-nostdlib", "-r", "-Wl,--strip-debug",
              f"-Wl,-T,{script}", *objects, "-o", str(partial)], "linking the image")
        # Atomic: a reader never sees half an image.
        staged = target.with_suffix(f".{os.getpid()}.tmp")
        staged.write_bytes(partial.read_bytes())
        staged.replace(target)
    return target


def _lean_source(source: Path, lean: Path) -> Path:
    """``source`` itself, or a copy at ``lean`` without the constants' second copy."""
    data = source.read_bytes()
    stripped = without_constant_copies(data)
    if stripped == data:
        return source
    lean.write_bytes(stripped)
    return lean


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise UtvmError(f"{what} for the board's loader failed:\n  " + "\n  ".join(detail))
