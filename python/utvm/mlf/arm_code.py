"""Generated code that only an Arm core can compile: ACLE intrinsics and inline assembly.

TVM's schedules for ``-mcpu=cortex-m4/m7/m33`` (``arm_cpu`` keys) emit ``#include
<arm_acle.h>``, DSP intrinsics (``__smlad``, ``__sxtb16``, ...) and ``__asm`` blocks. Such
code builds for a Cortex-M core with the DSP extension and nowhere else: the host runner,
host board and ``utvm_add_model()`` for another core refuse it with one line that says where
it runs instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from utvm.mlf.model import ModelLibrary

# ACLE's DSP-extension intrinsics (Armv7E-M, Armv8-M Mainline with DSP).
_DSP_INTRINSICS = re.compile(
    r"\b(__sml[as]l?dx?|__smu[as]dx?|__[su]xta?b16|__[su]?q?(?:add|sub)(?:8|16)|__qadd|__qsub"
    r"|__sel|__usada?8|__[su]sat16)\s*\("
)
_ACLE_HEADER = re.compile(r"#\s*include\s*<arm_acle\.h>")
_INLINE_ASM = re.compile(r"\b__asm(?:__)?\b|\basm\s+volatile\b")
_MCPU = re.compile(r"-mcpu=([\w.+-]+)")

# Zephyr configures this AN521 core (a Cortex-M33) with the DSP extension, CPU0 without;
# QEMU runs it (after an empty CPU0 image) with `west build -t run`.
SIMULATED_DSP_BOARD = "mps2/an521/cpu1"


@dataclass(frozen=True)
class ArmCode:
    """Why a model's code needs an Arm core, and which one its target names."""

    evidence: tuple[str, ...]  # "default_lib1.c: #include <arm_acle.h>, __smlad, inline asm"
    needs_dsp: bool
    mcpu: str | None

    def requirement(self) -> str:
        return "an Arm Cortex-M core with the DSP extension" if self.needs_dsp else "an Arm core"

    def reason(self) -> str:
        """What the code is for and why: "... is for an Arm Cortex-M core with ... (target
        -mcpu=cortex-m7): default_lib1.c has #include <arm_acle.h>, ..."."""
        core = self.requirement()
        target = f" (target -mcpu={self.mcpu})" if self.mcpu else ""
        return f"the model's generated code is for {core}{target}: {'; '.join(self.evidence)}"

    def message(self, built_for: str, mlf: str | Path) -> str:
        """The explanation for a build for ``built_for``, which is not such a core."""
        return f"{self.reason()}. It does not compile for {built_for}. {where_it_runs(mlf)}"


def where_it_runs(mlf: str | Path) -> str:
    """Where Arm DSP code runs, as a command for the MLF at ``mlf``."""
    return (
        "Run it on a Cortex-M board with DSP (Cortex-M4, M7, or M33 with DSP), real or "
        f"simulated: `west utvm build -b {SIMULATED_DSP_BOARD} --app aot_inference --mlf {mlf} "
        "--input <x.npy>` (a Cortex-M33 with DSP that runs under QEMU), then `west utvm flash`."
    )


def find_arm_code(library: ModelLibrary) -> ArmCode | None:
    """What in the model's C sources needs an Arm core; None for portable C."""
    evidence = []
    needs_dsp = False
    for source in library.c_sources:
        text = source.read_text(encoding="utf-8", errors="replace")
        found = []
        if _ACLE_HEADER.search(text):
            found.append("#include <arm_acle.h>")
        intrinsics = sorted(set(_DSP_INTRINSICS.findall(text)))
        if intrinsics:
            needs_dsp = True
            shown = ", ".join(intrinsics[:4]) + (", ..." if len(intrinsics) > 4 else "")
            found.append(f"DSP intrinsics {shown}")
        if _INLINE_ASM.search(text):
            found.append("Arm inline assembly")
        if found:
            evidence.append(f"{Path(source).name} has {', '.join(found)}")
    if not evidence:
        return None
    mcpu = next((m.group(1) for t in library.targets if (m := _MCPU.search(t))), None)
    return ArmCode(tuple(evidence), needs_dsp, mcpu)
