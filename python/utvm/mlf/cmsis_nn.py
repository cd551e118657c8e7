"""What an MLF needs from CMSIS-NN, read from the MLF itself, and how to build CMSIS-NN for it.

TVM's CMSIS-NN partitioning (``partition_for_cmsisnn``, targets ``c`` then ``cmsis-nn``)
emits C that includes ``arm_nnfunctions.h`` and calls CMSIS-NN kernels
(``arm_convolve_wrapper_s8``, ``arm_fully_connected_s8``, ...). Nobody has to say so: the
generated sources tell which kernels (hence which CMSIS-NN kernel groups, Zephyr's
``CONFIG_CMSIS_NN_*``), and the ``cmsis-nn`` target in metadata.json tells which core the
scratch buffers were sized for (its ``-mcpu``).

That second fact is a trap: TVM sizes CMSIS-NN's scratch buffers for the core named by
``mcpu`` (none: a core without DSP), and CMSIS-NN picks its DSP or portable code from the
compiler's ``__ARM_FEATURE_DSP``. An MLF made without ``mcpu`` but run with the DSP code gets
too-small buffers; the kernels fail and TVM's generated status check (``switch (!status)``)
reports success with wrong outputs. ``build_plan()`` therefore builds CMSIS-NN for what the
MLF was made for, and refuses a core that lacks what the MLF needs.

``cmake/utvm.cmake`` learns all of this from the describe step (``utvm.mlf.describe``, its
``cmsis_nn_needs`` generator), which reads the MLF once with the same reader as ``utvm``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from utvm.errors import UtvmError
from utvm.mlf.loader import open_mlf

HEADER = "arm_nnfunctions.h"
_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]arm_nnfunctions\.h[">]', re.M)
_CALL = re.compile(r"\b(arm_[A-Za-z0-9_]+)\s*\(")
_MCPU = re.compile(r"-mcpu=([A-Za-z0-9_+.-]+)")
_MATTR = re.compile(r"-mattr=([A-Za-z0-9_+,.-]+)")

# CMSIS-NN's kernel groups: Zephyr's CONFIG_CMSIS_NN_<group> and the Source/ folder that
# holds them. NNSUPPORT is the helpers the kernels share.
GROUP_FOLDERS = {
    "ACTIVATION": "ActivationFunctions",
    "BASICMATH": "BasicMathFunctions",
    "CONCATENATION": "ConcatenationFunctions",
    "CONVOLUTION": "ConvolutionFunctions",
    "FULLYCONNECTED": "FullyConnectedFunctions",
    "LSTM": "LSTMFunctions",
    "NNSUPPORT": "NNSupportFunctions",
    "POOLING": "PoolingFunctions",
    "RESHAPE": "ReshapeFunctions",
    "SOFTMAX": "SoftmaxFunctions",
    "SVD": "SVDFunctions",
}
# Which group a called kernel belongs to, by name prefix (longest prefix first is not
# needed: no prefix here is a prefix of another group's).
_PREFIX_GROUPS = (
    ("arm_convolve_", "CONVOLUTION"),
    ("arm_depthwise_conv_", "CONVOLUTION"),
    ("arm_transpose_conv_", "CONVOLUTION"),
    ("arm_fully_connected_", "FULLYCONNECTED"),
    ("arm_batch_matmul_", "FULLYCONNECTED"),
    ("arm_avgpool_", "POOLING"),
    ("arm_max_pool_", "POOLING"),
    ("arm_softmax_", "SOFTMAX"),
    ("arm_elementwise_", "BASICMATH"),
    ("arm_relu", "ACTIVATION"),
    ("arm_nn_activation_", "ACTIVATION"),
    ("arm_concatenation_", "CONCATENATION"),
    ("arm_reshape_", "RESHAPE"),
    ("arm_svdf_", "SVD"),
    ("arm_lstm_", "LSTM"),
)
# Groups whose kernels call the shared helpers (Zephyr's Kconfig implies NNSUPPORT for them).
_NEEDS_SUPPORT = {"CONVOLUTION", "FULLYCONNECTED", "POOLING", "SVD", "LSTM"}

# Cores TVM's cmsis-nn target knows, by the code paths they get (TVM: has_dsp / has_mve).
PORTABLE, DSP, MVE = "portable", "dsp", "mve"
_CORE_PATHS = {
    "cortex-m0": PORTABLE, "cortex-m0plus": PORTABLE, "cortex-m1": PORTABLE,
    "cortex-m3": PORTABLE, "cortex-m23": PORTABLE,
    "cortex-m4": DSP, "cortex-m7": DSP, "cortex-m33": DSP, "cortex-m35p": DSP,
    "cortex-m52": MVE, "cortex-m55": MVE, "cortex-m85": MVE,
}
_PATH_RANK = {PORTABLE: 0, DSP: 1, MVE: 2}
_CORE_FEATURES = {DSP: "DSP extension", MVE: "MVE"}
_PATH_WORDS = {PORTABLE: "portable C code", DSP: "DSP-extension code", MVE: "MVE (Helium) code"}


@dataclass(frozen=True)
class CmsisNnUse:
    """What one MLF's generated code needs from CMSIS-NN."""

    functions: tuple[str, ...]  # CMSIS-NN kernels called, sorted
    groups: tuple[str, ...]  # kernel groups (Zephyr's CONFIG_CMSIS_NN_<group>), sorted
    target: str | None  # the cmsis-nn target string of metadata.json
    mcpu: str | None  # its -mcpu, None when TVM's default (no mcpu) was used
    paths: str  # the code paths TVM sized the scratch buffers for: portable, dsp or mve
    sources: tuple[Path, ...] = field(default=())  # generated files that call CMSIS-NN

    @property
    def kconfig_symbols(self) -> tuple[str, ...]:
        """Zephyr's Kconfig symbols this model needs, without the CONFIG_ prefix."""
        return ("CMSIS_NN", *(f"CMSIS_NN_{group}" for group in self.groups))

    @property
    def source_folders(self) -> tuple[str, ...]:
        """The CMSIS-NN ``Source/`` folders to compile for this model."""
        return tuple(GROUP_FOLDERS[group] for group in self.groups)

    @property
    def made_for(self) -> str:
        """A short phrase for messages: what TVM compiled the CMSIS-NN calls for."""
        if self.mcpu is None:
            return "without mcpu"
        return f"for mcpu={self.mcpu}"


@dataclass(frozen=True)
class Core:
    """The core CMSIS-NN will run on (None for the host)."""

    name: str  # e.g. cortex-m4, as in -mcpu
    has_dsp: bool
    has_mve: bool = False
    #: The core's DSP extension is optional and this build leaves it off (Zephyr: a
    #: Cortex-M33 whose SoC does not select CONFIG_ARMV8_M_DSP, e.g. mps2/an521/cpu0).
    dsp_left_off: bool = False

    @property
    def paths(self) -> str:
        return MVE if self.has_mve else DSP if self.has_dsp else PORTABLE


@dataclass(frozen=True)
class BuildPlan:
    """How to compile CMSIS-NN for one model on one core."""

    paths: str  # portable, dsp or mve: the code CMSIS-NN will run
    compile_options: tuple[str, ...]  # extra options for CMSIS-NN's sources
    summary: str  # one line for the build log


def paths_for_target(target: str) -> tuple[str | None, str]:
    """(mcpu, code paths) that TVM's ``cmsis-nn`` target string sizes buffers for."""
    mcpu_match = _MCPU.search(target)
    mcpu = mcpu_match.group(1) if mcpu_match else None
    if mcpu is None:
        return None, PORTABLE
    base = mcpu.split("+", 1)[0]
    if base not in _CORE_PATHS:
        known = ", ".join(sorted(_CORE_PATHS))
        raise UtvmError(
            f"the MLF's cmsis-nn target names mcpu={mcpu}, which utvm does not know "
            f"(known: {known}); it cannot tell which CMSIS-NN code the model was built for."
        )
    paths = _CORE_PATHS[base]
    features = set(mcpu.split("+")[1:])
    attr_match = _MATTR.search(target)
    if attr_match:
        features |= {a.lstrip("+") for a in attr_match.group(1).split(",")}
    if "nomve" in features and paths == MVE:
        paths = DSP
    if "nodsp" in features:
        paths = PORTABLE
    return mcpu, paths


def cmsis_nn_target(targets: Sequence[str]) -> str | None:
    """The ``cmsis-nn`` entry of metadata.json's targets, if any."""
    for target in targets:
        if target.split(" ", 1)[0] == "cmsis-nn":
            return target
    return None


def kernel_group(function: str) -> str | None:
    for prefix, group in _PREFIX_GROUPS:
        if function.startswith(prefix):
            return group
    return None


def detect(c_sources: Iterable[Path], targets: Sequence[str]) -> CmsisNnUse | None:
    """What the generated code needs from CMSIS-NN, or None when it does not use it.

    Only files that include ``arm_nnfunctions.h`` are read for calls; any ``arm_*`` call
    there must be a CMSIS-NN kernel of a known group.
    """
    functions: set[str] = set()
    users = []
    for source in c_sources:
        text = source.read_text(encoding="utf-8", errors="replace")
        if not _INCLUDE.search(text):
            continue
        users.append(source)
        functions.update(_CALL.findall(text))
    target = cmsis_nn_target(targets)
    if not users:
        if target is not None:
            raise UtvmError(
                f"the MLF lists the target '{target.strip()}' but none of its generated C "
                f"includes {HEADER}: the export is incomplete or was not made by TVM's "
                "CMSIS-NN codegen (partition_for_cmsisnn)."
            )
        return None
    unknown = sorted(f for f in functions if kernel_group(f) is None)
    if unknown:
        raise UtvmError(
            f"the model's generated code calls {', '.join(unknown)}, which utvm cannot place "
            "in a CMSIS-NN kernel group; this CMSIS-NN codegen is newer than utvm knows."
        )
    if not functions:
        raise UtvmError(
            f"{users[0]} includes {HEADER} but calls no CMSIS-NN kernel; the export looks "
            "incomplete."
        )
    groups = {kernel_group(f) for f in functions}
    if groups & _NEEDS_SUPPORT:
        groups.add("NNSUPPORT")
    mcpu, paths = paths_for_target(target) if target is not None else (None, PORTABLE)
    return CmsisNnUse(
        functions=tuple(sorted(functions)),
        groups=tuple(sorted(g for g in groups if g is not None)),
        target=None if target is None else target.strip(),
        mcpu=mcpu,
        paths=paths,
        sources=tuple(users),
    )


def detect_in_mlf(root: Path) -> CmsisNnUse | None:
    """``detect()`` for an MLF folder or archive, read with the one MLF reader."""
    with open_mlf(root) as library:
        return detect(library.c_sources, library.targets)


def build_plan(use: CmsisNnUse, core: Core | None) -> BuildPlan:
    """How to compile CMSIS-NN for ``use`` on ``core`` (None: the host, portable code).

    The code CMSIS-NN runs must be the code TVM sized its buffers for: an MLF made without
    mcpu gets the portable code even on a DSP core (the compiler's DSP/MVE feature macros
    are undefined for CMSIS-NN's sources), and a core lacking what the MLF was made for is
    an error.
    """
    if core is None:
        return BuildPlan(PORTABLE, (), f"CMSIS-NN: {_PATH_WORDS[PORTABLE]} on the host "
                                       f"(the MLF was made {use.made_for})")
    if _PATH_RANK[core.paths] < _PATH_RANK[use.paths] and core.dsp_left_off:
        raise UtvmError(
            f"the model's CMSIS-NN calls were compiled for {use.mcpu} (DSP extension), but "
            f"this build leaves the {core.name}'s optional DSP extension off (the board's "
            "Zephyr configuration does not select CONFIG_ARMV8_M_DSP). If the chip has it, "
            "build CMSIS-NN with it: add -DUTVM_CMSIS_NN_DSP=ON to the CMake arguments; or "
            "compile the model without mcpu."
        )
    if _PATH_RANK[core.paths] < _PATH_RANK[use.paths]:
        wanted = {DSP: "the DSP extension", MVE: "MVE (Helium)"}[use.paths]
        raise UtvmError(
            f"the model's CMSIS-NN calls were compiled for {use.mcpu}, which has {wanted}, "
            f"but this board's core ({core.name}) does not: TVM sized CMSIS-NN's buffers for "
            f"code this core cannot run. Compile the model for this core "
            f"(partition_for_cmsisnn(mod, params, mcpu=\"{core.name}\")) or without mcpu."
        )
    options: list[str] = []
    if core.has_mve and use.paths != MVE:
        options.append("-U__ARM_FEATURE_MVE")
    if core.has_dsp and use.paths == PORTABLE:
        options.append("-U__ARM_FEATURE_DSP")
    summary = f"CMSIS-NN: {_PATH_WORDS[use.paths]} on {core.name}"
    if options:
        summary += (f", not the core's {_CORE_FEATURES[core.paths]}: the MLF was made "
                    f"{use.made_for}, so TVM sized CMSIS-NN's buffers for that code")
    return BuildPlan(use.paths, tuple(options), summary)


# --- The CMSIS-NN source tree -------------------------------------------------------------

TVM_CMSIS_NN_VERSION = "v4.1.0"  # what TVM 0.18 was built and tested against
_S16_BIAS = re.compile(
    r"arm_convolve_wrapper_s16\s*\([^)]*?const\s+(\w+)\s*\*\s*bias_data", re.S
)
_REVISION = re.compile(r"\$Revision:\s*(\S+)")


def check_source_tree(tree: Path) -> list[str]:
    """Why a CMSIS-NN source tree does not fit TVM 0.18's generated calls ([] if it does).

    The facts checked are the ones TVM 0.18's output relies on beyond the s8 prototypes
    (which are unchanged up to at least API V.18.0.0): the s16 convolution's bias type, and
    scratch buffers no larger than TVM computes (TVM reserves ``2 * rhs_cols`` int16 for
    ``arm_convolve_s8``; newer CMSIS-NN rounds rhs_cols up to a multiple of 4 and writes
    past TVM's buffer, e.g. ResNet-8's first 3x3x3 convolution: 112 bytes into 108).
    """
    header = tree / "Include" / HEADER
    if not header.is_file():
        return [f"{tree} has no Include/{HEADER}: it is not a CMSIS-NN source tree"]
    problems = []
    text = header.read_text(encoding="utf-8", errors="replace")
    bias = _S16_BIAS.search(text)
    if bias is not None and bias.group(1) != "int64_t":
        problems.append(
            f"arm_convolve_wrapper_s16 takes its bias as {bias.group(1)}* (TVM 0.18 passes "
            "int64_t*)"
        )
    conv_sizes = tree / "Source" / "ConvolutionFunctions" / "arm_convolve_get_buffer_sizes_s8.c"
    if conv_sizes.is_file() and "aligned_rhs_cols" in conv_sizes.read_text(errors="replace"):
        problems.append(
            "arm_convolve_s8 needs a scratch buffer rounded up to 4 columns, larger than "
            "TVM 0.18 reserves (it writes past it when a convolution's kernel size times "
            "input channels is not a multiple of 4)"
        )
    return problems


def source_tree_revision(tree: Path) -> str:
    """The API revision in the tree's arm_nnfunctions.h (V.11.3.0 is CMSIS-NN v4.1.0)."""
    header = tree / "Include" / HEADER
    match = _REVISION.search(header.read_text(errors="replace")) if header.is_file() else None
    return match.group(1) if match else "unknown"


def require_fitting_tree(tree: Path, where: str, advice: str = "") -> None:
    """UtvmError naming the problems when ``tree`` does not fit TVM 0.18's calls; ``advice``
    says how to get a fitting one where the tree came from."""
    problems = check_source_tree(tree)
    if problems:
        listed = "; ".join(problems)
        raise UtvmError(
            f"the CMSIS-NN sources at {tree} ({where}, API {source_tree_revision(tree)}) do "
            f"not fit TVM 0.18's generated calls: {listed}. Use CMSIS-NN "
            f"{TVM_CMSIS_NN_VERSION} (API V.11.3.0), the version TVM 0.18 was made for"
            + (f": {advice}" if advice else ".")
        )


# --- Checked calls (a debug option) --------------------------------------------------------
# TVM 0.18's generated code checks each CMSIS-NN status with `switch (!status)`, so every
# failure reads as success. The checked build links the calls through wrappers (the linker's
# --wrap): a CMSIS-NN kernel that fails records its name and status, and the generated
# function that called it then returns -1, failing the inference with that message.

_STATUS_PROTOTYPE = r"arm_cmsis_nn_status\s+{name}\s*\(([^)]*)\)\s*;"
_PARTITION = re.compile(r"TVM_DLL\s+int32_t\s+(\w+)\s*\(([^)]*)\)\s*\{")


def _argument_names(parameters: str) -> list[str]:
    names = []
    for parameter in parameters.split(","):
        match = re.search(r"(\w+)\s*$", parameter.strip())
        if match is None:
            raise UtvmError(f"cannot read the parameter '{parameter.strip()}' to wrap it")
        names.append(match.group(1))
    return names


def _wrapper(result: str, name: str, parameters: str, check: str,
             instead: str | None = None) -> str:
    """``__wrap_<name>``: calls ``__real_<name>`` (or first ``instead(&status, ...)``, which
    returns 0 where it does not apply), then ``check``."""
    parameters = " ".join(parameters.split())
    arguments = ", ".join(_argument_names(parameters))
    call = f"  {result} status = __real_{name}({arguments});\n"
    if instead is not None:
        call = (f"  {result} status;\n  if (!{instead}(&status, {arguments}))\n"
                f"    status = __real_{name}({arguments});\n")
    return (f"{result} __real_{name}({parameters});\n"
            f"{result} __wrap_{name}({parameters}) {{\n{call}{check}"
            f"  return status;\n}}\n\n")


def checked_calls(use: CmsisNnUse, tree: Path, depthwise_as_conv: int = 0,
                  ) -> tuple[str, tuple[str, ...]]:
    """(C source of the wrappers, symbols to pass to the linker's --wrap). With
    ``depthwise_as_conv`` (a buffer size from ``depthwise_as_conv_buffer()``), the depthwise
    calls go through ``depthwise_as_conv_source()`` first."""
    header = (tree / "Include" / HEADER).read_text(encoding="utf-8", errors="replace")
    header = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    parts = []
    wrapped = []
    for function in use.functions:
        match = re.search(_STATUS_PROTOTYPE.format(name=re.escape(function)), header)
        if match is None:
            continue  # returns nothing to check (arm_softmax_s8 is void)
        instead = (_AS_CONV_FUNCTION
                   if depthwise_as_conv and function == DEPTHWISE_WRAPPER else None)
        parts.append(_wrapper("arm_cmsis_nn_status", function, match.group(1),
                              f"  if (status != ARM_CMSIS_NN_SUCCESS) "
                              f"cmsis_nn_failed(\"{function}\", status);\n", instead))
        wrapped.append(function)
    for source in use.sources:
        text = source.read_text(encoding="utf-8", errors="replace")
        for name, parameters in _PARTITION.findall(text):
            parts.append(_wrapper("int32_t", name, parameters,
                                  "  if (status == 0 && cmsis_nn_failure_reported()) "
                                  "return -1;\n"))
            wrapped.append(name)
    text = (
        "/* Generated by utvm (utvm/mlf/cmsis_nn.py): CMSIS-NN calls whose failures fail the\n"
        " * inference. TVM's generated status check treats every CMSIS-NN error as success. */\n"
        "#include <stddef.h>\n#include <stdint.h>\n#include <arm_nnfunctions.h>\n"
        "#include <tvm/runtime/crt/error_codes.h>\n#include <utvm/error.h>\n\n"
        + (_depthwise_as_conv_code(depthwise_as_conv) if depthwise_as_conv else "") +
        "static const char* failed_function;\nstatic int failed_status;\n\n"
        "static void cmsis_nn_failed(const char* function, arm_cmsis_nn_status status) {\n"
        "  if (failed_function == NULL) {\n"
        "    failed_function = function;\n    failed_status = (int)status;\n  }\n}\n\n"
        "/* Sets the runtime's last error to the first failure since the last report. */\n"
        "static int cmsis_nn_failure_reported(void) {\n"
        "  if (failed_function == NULL) return 0;\n"
        "  utvm_fail(kTvmErrorPlatformCheckFailure, \"CMSIS-NN %s returned %d (%s)\",\n"
        "            failed_function, failed_status,\n"
        "            failed_status == ARM_CMSIS_NN_ARG_ERROR ? \"ARM_CMSIS_NN_ARG_ERROR\"\n"
        "            : failed_status == ARM_CMSIS_NN_NO_IMPL_ERROR ? "
        "\"ARM_CMSIS_NN_NO_IMPL_ERROR\" : \"unknown status\");\n"
        "  failed_function = NULL;\n  return 1;\n}\n\n" + "".join(parts))
    return text, tuple(wrapped)


# --- Convolutions TVM hands CMSIS-NN as depthwise ones ---------------------------------------
# TVM 0.18's CMSIS-NN codegen emits a convolution whose input has one channel (kws's first
# layer: a 10x4 filter, 64 output channels) as arm_depthwise_conv_wrapper_s8 with a channel
# multiplier of the output channels. CMSIS-NN has no optimized kernel for a multiplier above 1:
# arm_depthwise_conv_s8's generic loop takes 1.68 of kws's 10.86 million instructions on a
# Cortex-M3, about 5 per multiply-accumulate. As a convolution the layer is one matrix product
# (im2col rows of the input times the filter, [C][h][w]), the kernel CMSIS-NN runs kws's
# pointwise convolutions with (arm_nn_mat_mult_nt_t_s8): the same sums and the same per-channel
# requantization, so the same output bits, in fewer instructions than the depthwise loop and
# than CMSIS-NN's own convolution (im2col to int16, TFLite Micro's choice for that layer). The
# build (UTVM_CMSIS_NN_DEPTHWISE_AS_CONV, on by default) links such calls through a wrapper
# that transposes the filter and builds the im2col rows in a static buffer sized here; other
# depthwise calls go to CMSIS-NN as TVM wrote them.

DEPTHWISE_WRAPPER = "arm_depthwise_conv_wrapper_s8"
MATRIX_PRODUCT = "arm_nn_mat_mult_nt_t_s8"
_SUPPORT_HEADER = "arm_nnsupportfunctions.h"
_MATRIX_PRODUCT_PARAMETERS = 14  # v4.1.0's prototype (later versions add row_address_offset)
_AS_CONV_FUNCTION = "utvm_depthwise_as_conv"  # defined in _AS_CONV_TEMPLATE
_AS_CONV_TEMPLATE = "depthwise_as_conv.c.in"
_AS_CONV_ROWS_BYTES = 2048  # im2col rows per matrix product: up to this many bytes
_DIMS = re.compile(r"cmsis_nn_dims\s+(\w+)\s*=\s*\{([-\d\s,]+)\}")


def _partition_bodies(text: str) -> Iterable[str]:
    """The bodies of the generated functions that call CMSIS-NN."""
    for match in _PARTITION.finditer(text):
        end = text.find("\n}", match.end())
        yield text[match.end():end if end >= 0 else len(text)]


def depthwise_as_conv_buffer(use: CmsisNnUse) -> int:
    """Bytes of buffer for the model's one-input-channel depthwise calls computed as matrix
    products (0: it has none): the transposed filter (to 4 bytes) and im2col rows, as many as
    fit in 2 KiB (at least 2, an even number: the product takes rows in pairs)."""
    need = 0
    for source in use.sources:
        text = source.read_text(encoding="utf-8", errors="replace")
        for body in _partition_bodies(text):
            if f"{DEPTHWISE_WRAPPER}(" not in body:
                continue
            dims = {}
            for name, values in _DIMS.findall(body):
                numbers = [int(v) for v in values.replace(" ", "").split(",") if v]
                if len(numbers) == 4:
                    dims[name] = numbers
            inputs, filters, outputs = (dims.get(f"{kind}_dims")
                                        for kind in ("input", "filter", "output"))
            if inputs is None or filters is None or outputs is None:
                continue
            if inputs[3] != 1 or outputs[3] < 2:
                continue
            taps = filters[1] * filters[2]
            pixels = outputs[1] * outputs[2]
            rows = min(pixels, max(2, _AS_CONV_ROWS_BYTES // taps // 2 * 2))
            need = max(need, -(-taps * outputs[3] // 4) * 4 + rows * taps)
    return need


def _matrix_product_fits(tree: Path) -> bool:
    """Whether the tree's arm_nn_mat_mult_nt_t_s8 takes v4.1.0's arguments."""
    header = tree / "Include" / _SUPPORT_HEADER
    if not header.is_file():
        return False
    text = re.sub(r"/\*.*?\*/", "", header.read_text(encoding="utf-8", errors="replace"),
                  flags=re.S)
    match = re.search(rf"arm_cmsis_nn_status\s+{MATRIX_PRODUCT}\s*\(([^)]*)\)\s*;", text)
    return match is not None and len(match.group(1).split(",")) == _MATRIX_PRODUCT_PARAMETERS


def _depthwise_as_conv_code(buffer_size: int) -> str:
    """C: ``utvm_depthwise_as_conv(&status, <the depthwise wrapper's arguments>)``, 1 when it
    computed the call as a convolution, 0 when the call is not one it takes (the C is
    c_templates/depthwise_as_conv.c.in)."""
    template = resources.files("utvm.mlf").joinpath("c_templates", _AS_CONV_TEMPLATE)
    return template.read_text(encoding="utf-8").replace("@BUFFER_SIZE@", str(buffer_size))


def depthwise_as_conv_source(use: CmsisNnUse, tree: Path, buffer_size: int,
                             ) -> tuple[str, tuple[str, ...]]:
    """(C source, symbols to --wrap) computing the one-input-channel depthwise calls as
    convolutions (without checked calls; ``checked_calls()`` combines both)."""
    header = (tree / "Include" / HEADER).read_text(encoding="utf-8", errors="replace")
    header = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    match = re.search(_STATUS_PROTOTYPE.format(name=DEPTHWISE_WRAPPER), header)
    if match is None:
        raise UtvmError(f"{tree}: {HEADER} declares no {DEPTHWISE_WRAPPER}")
    text = (
        "/* Generated by utvm (utvm/mlf/cmsis_nn.py): the model's depthwise convolutions of\n"
        " * one-channel inputs run as convolutions (UTVM_CMSIS_NN_DEPTHWISE_AS_CONV). */\n"
        "#include <stdint.h>\n#include <arm_nnfunctions.h>\n"
        + _depthwise_as_conv_code(buffer_size)
        + _wrapper("arm_cmsis_nn_status", DEPTHWISE_WRAPPER, match.group(1), "",
                   _AS_CONV_FUNCTION))
    return text, (DEPTHWISE_WRAPPER,)


# --- What utvm_add_model() applies (the describe step's CMSIS-NN generator) ----------------


@dataclass(frozen=True)
class CmsisNnBuild:
    """Where the build runs CMSIS-NN and takes it from, as ``cmake/utvm.cmake`` tells the
    describe step (utvm.mlf.describe)."""

    core: str | None = None  # the board's core as in -mcpu; None for the host
    core_dsp: bool = False  # the core has the DSP extension
    core_mve: bool = False  # the core has MVE (Helium)
    core_dsp_left_off: bool = False  # optional DSP extension the build leaves off
    use_core_dsp: bool = False  # UTVM_CMSIS_NN_DSP=ON: compile CMSIS-NN with it anyway
    tree: Path | None = None  # the CMSIS-NN source tree, checked against TVM 0.18's calls
    tree_origin: str = "CMSIS-NN"  # where the tree came from, for messages
    tree_advice: str = ""  # how to get a fitting tree there
    checked: bool = False  # UTVM_CMSIS_NN_CHECKED: wrap the calls so failures fail the run
    #: UTVM_CMSIS_NN_DEPTHWISE_AS_CONV: one-input-channel depthwise calls run as convolutions
    depthwise_as_conv: bool = False


def plan_for_build(use: CmsisNnUse, build: CmsisNnBuild) -> BuildPlan:
    """``build_plan()`` for the build's core; with ``use_core_dsp`` on a core whose DSP the
    build leaves off, CMSIS-NN alone is compiled for the full core."""
    if build.core is None:
        return build_plan(use, None)
    forced = build.core_dsp_left_off and build.use_core_dsp
    core = Core(build.core, build.core_dsp or build.core_mve or forced, build.core_mve,
                build.core_dsp_left_off and not forced)
    plan = build_plan(use, core)
    if forced:
        # The toolchain flags say +nodsp: CMSIS-NN alone is compiled for the full core.
        plan = dataclasses.replace(
            plan, compile_options=(f"-mcpu={core.name}", *plan.compile_options),
            summary=plan.summary + " (the core's DSP extension, which the rest of this build "
            "leaves off: UTVM_CMSIS_NN_DSP)")
    return plan


def cmake_values(use: CmsisNnUse | None, build: CmsisNnBuild,
                 ) -> tuple[dict[str, str | list[str]], str | None]:
    """The CMSIS_NN_<KEY> values utvm_add_model() applies, and the C source of the checked
    calls (None unless asked for). UtvmError when the build cannot run the model's calls."""
    if use is None:
        return {"USED": "FALSE"}, None
    plan = plan_for_build(use, build)
    if build.tree is not None:
        require_fitting_tree(build.tree, build.tree_origin, build.tree_advice)
    shim, wrapped = None, ()
    as_conv = 0
    if build.depthwise_as_conv and build.tree is not None and _matrix_product_fits(build.tree):
        as_conv = depthwise_as_conv_buffer(use)
    if build.checked:
        if build.tree is None:
            raise UtvmError("checked CMSIS-NN calls need the CMSIS-NN source tree")
        shim, wrapped = checked_calls(use, build.tree, as_conv)
    elif as_conv:
        shim, wrapped = depthwise_as_conv_source(use, build.tree, as_conv)
    values: dict[str, str | list[str]] = {
        "USED": "TRUE",
        "FUNCTIONS": list(use.functions),
        "GROUPS": list(use.groups),
        "KCONFIG": list(use.kconfig_symbols),
        "SOURCE_FOLDERS": list(use.source_folders),
        "MCPU": use.mcpu or "",
        "MLF_PATHS": use.paths,
        "PATHS": plan.paths,
        "COMPILE_OPTIONS": list(plan.compile_options),
        "SUMMARY": plan.summary,
        "TREE": "" if build.tree is None else build.tree.as_posix(),
        "WRAP": list(wrapped),
        "CHECKED": "TRUE" if build.checked else "FALSE",
        "DEPTHWISE_AS_CONV_BUFFER": str(as_conv if shim is not None else 0),
    }
    return values, shim
