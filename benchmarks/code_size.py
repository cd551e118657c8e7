#!/usr/bin/env python3
"""Code size of the runtime on Cortex-M3, per component, next to TVM 0.18's C runtime.

Each component's sources are compiled the way the baseline was measured:
  arm-none-eabi-gcc -Os -mcpu=cortex-m3 -mthumb -ffunction-sections -fdata-sections
and .text/.data/.bss are summed over the object files (arm-none-eabi-size). The TVM
numbers are those of TVM 0.18's own CRT compiled exactly that way (see the issue).

Scopes follow TVM's: "rpc_server" is what TVM's 8,533 B cover (minRPC server with its
syscalls, session, framing, CRC, TVMLogf). The RPC globals TVM registers from its core
runtime (runtime.RPCTimeEvaluator, GetCRTMaxPacketSize, random_fill live in
crt_runtime_api.c) are a row of their own and are added to the core in "core+rpc_globals";
"rpc_server all" sums every RPC file, so no byte goes unreported; "total" is every file of
the runtime once (core, both executors, the module code they share, all of src/rpc) against
the goal: half of TVM's 30,329 B.

Three configurations: "messages" (the default: each message a reference the host expands
from the ELF, runtime/include/utvm/error_ref.h), "codes only" (UTVM_ERROR_MESSAGES=0: the
same checks, no message) and "text" (UTVM_ERROR_MESSAGE_TEXT=1: the text on the device).
"msgs" counts a component's message sites (records in .utvm_msgs) and "B/msg" is what each
costs over codes only.

    python3 benchmarks/code_size.py [--json] [--zephyr-model MLF [--board BOARD]]

--zephyr-model adds the figure for a whole image: samples/rpc_server with that model built
for BOARD (default mps2/an385) in each configuration, and the runtime's part of its ROM as
`west utvm footprint` counts it (needs ZEPHYR_BASE, west and the board's toolchain in the
environment; the first build takes minutes, the others rebuild little).

Needs Debian's gcc-arm-none-eabi (apt-get install gcc-arm-none-eabi).

Figures (gcc 12.2, "total" row; each step keeps every check, message and transcript):

    step                                                     messages  codes only   +%
    before (issue 13's second step)                            23,390      20,876  12.0
    time evaluator in integer nanoseconds (no double            23,318      20,800  12.1
      arithmetic but one conversion of each reading and result)
    graph tables laid out from one table                        23,248      20,738  12.1
    graph JSON: one object reader for the four objects         23,012      20,502  12.2
    params: fixed headers read in one piece                     22,920      20,422  12.2
    graph_json_skip on the readers' iterator                   22,876      20,414  12.1
    AOT executor in one allocation                              22,844      20,394  12.0
    graph validation with early returns                         22,804      20,338  12.1
    evaluator's reading converted through 32 bits (no          22,848      20,382  12.1
      double-to-64-bit helper linked into an image)
    one UTF-8 encoder loop in graph JSON strings                22,832      20,358  12.2

With kws (aot_packed) in samples/rpc_server on mps2/an385, `west utvm footprint` counts
24,130 B of ROM for the runtime before and 23,580 B after (image 118,660 -> 118,112 B).

The next round started from 22,918 / 20,444 (RPC over TCP and loadable models had come in):

    step                                                     messages  codes only   +%
    start (aadae7c)                                            22,918      20,444  12.1
    Thumb-2 sites put the id after their call (no literal,     22,638      20,444  10.7
      four argument registers: utvm/error_ref.h)
    the reference writer formats through the platform          22,572      20,444  10.4
    graph JSON: one list reader and one key table for the      21,964      19,740  11.3
      whole document, literals joined to the formats
    executors: one input/output layer for both, module         21,243      19,050  11.5
      functions a store and a jump into one dispatch
    core and RPC: registry state in one struct, one dtype      20,645      18,428  12.0
      table, evaluator results in one allocation
    TVMArrayAlloc checks the device type before narrowing it   20,663      18,432  12.1

The whole image for kws (aot_packed) as above, measured in that round before and after
(`--zephyr-model`; runtime ROM, then the image's ROM, in bytes):

    config        runtime before  after     image before   after
    messages              23,751  21,650         171,896  169,596
    codes only            21,254  19,410         169,496  167,340
    text                  31,227  29,585         179,460  177,504

What a message site costs over a bare code, measured on the total row at the end of that
round: with every argument dropped (and still the id) the runtime is 19,765 B, 7.3% over
codes only: the writer (error.c, ~320 B) and sites that cannot share one exit as bare codes
do. The arguments are the other ~900 B. On Thumb-2 a site with a constant code and at most
four 32-bit arguments costs no more than a bare code for the id itself (bl and the word, 8
bytes, where a bare code loads its code and calls: 8 bytes); other sites load the id as a
literal (2 bytes more). Fewer bytes per message now need fewer arguments or more shared
helpers (UTVM_MSG_WORD_OF_).

The round's next session went on from there:

    step                                                     messages  codes only   +%
    start (9ab13c5)                                            20,663      18,432  12.1
    core and RPC: a module handle decoded in one function,      20,487      18,250  12.3
      one walk of the tracked blocks, RPC byte counts in
      size_t, the evaluator's type codes built on the stack
    executors: a module function passes its op and arity in     20,334      18,125  12.2
      one register, the CPU device shared, one tensor_info
    a missing input recorded with its code (was negated)        20,330      18,123  12.2
    graph JSON: the maximum checked once after the digits,      20,053      17,841  12.4
      nodes and references read in place, fewer zeroings
    utvm_check_args' expected type codes as bytes               19,998      17,814  12.3
    Thumb-2 sites evaluate every argument before setting the    20,002      17,814  12.3
      argument registers (a bug fix: a call in a later
      argument clobbered the ones set before it)
    Thumb-2 sites with a code that is not a constant inline     19,976      17,814  12.1
      too, the code first among their arguments
    review fixes: the trampoline realigns sp to 8 bytes, the   20,002      17,814  12.3
      writer stays inside its buffer whatever the formatter
      returns (the image figures below predate them)

Whole image, kws (aot_packed) as above (runtime ROM, then the image's ROM, in bytes):

    config        runtime before  after     image before   after
    messages              21,650  20,956         169,596  168,900
    codes only            19,410  18,804         167,340  166,736
    text                  29,585  28,963         177,504  176,884

Measured and dropped in that session: a site that names the registers its arguments
already sit in (a halfword of register numbers after the word, a trampoline that saves
r0..r12) costs 112 B more than moving them into r0..r3, because most arguments are loaded
or computed at the site anyway; leaving the "memory" clobber out of the inline site saves
16 B but lets a string argument be read before it is written; one iterative walker for the
whole graph JSON document (the skipper as a walker without handlers) grows the reader by
20 to 52 B, as each typed reader's state moves into a frame the handler reads from memory.

The session after (four areas in parallel, then a second pass; each step keeps every check):

    step                                                     messages  codes only   +%
    start (de9d76b)                                            20,002      17,814  12.3
    graph JSON and params: list elements, shapes and nodes     19,825      17,605  12.6
      read straight into their table slots, one escape
      table, names as offsets into one string
    executors: one argument checker for the module functions   19,810      17,521  13.1
      (utvm_check_args), names looked up only where a
      message reads them
    RPC: the evaluator in units of 2^-30 s (a reading           19,720      17,415  13.2
      converts by a shift of its mantissa), a syscall's
      signature in one word, read_args counts the values
    core and memory: one path makes every array, one            19,489      17,188  13.4
      alignment check, dtype names in one table,
      utvm_platform_alloc/free for the runtime's own blocks
    the last direct cpu(0) allocations go through it            19,467      17,166  13.4
    graph executor: each parsed entry holds its DLTensor,       19,359      17,034  13.6
      storage allocated at its first entry, a checked
      reference points at its entry, the io table in the
      graph's block (and a fix: every row is checked before
      any input is looked up)
    core and AOT messages: one dtype string size, "input"       19,317      17,010  13.6
      and "output" from one table
    the operator lookup counts (NULL + 0 is undefined)          19,305      16,998  13.6
    graph executor: the graph parsed into the executor's        19,251      16,940  13.6
      block, the JSON read to its NUL without strlen
    review: the executor's block through utvm_platform_alloc,   19,243      16,936  13.6
      utvm_cpu_device in place of a {kDLCPU, 0} literal
    final read: the graph's block through utvm_platform_alloc/  19,225      16,918  13.6
      free too, tracked_data's data_of() wrapper gone

Whole image, kws (aot_packed) as above, at the session's start (de9d76b) and end (edf213b,
before the review's last 8 B):

    config        runtime before  after     image before   after
    messages              20,962  20,293         168,928  168,172
    codes only            18,804  18,023         166,736  165,864
    text                  28,963  27,952         176,884  175,788

Codes only fell further than messages: several steps drop work only a message needs (a
name looked up, the last error cleared), so the share of messages grew though both fell.
Measured and dropped in that session: one call for six of a graph node's failures, its
word and arguments left in the node reader (-20 B, but a third message mechanism, and a
callee's -1 would have been taken for it); a check and a run pass of the graph's nodes
in two functions (+44 B); one reader for references and shapes (+10 B); the executor's
release freeing the graph's block itself (-6 B, but graph_parse.c owns that block).

The session after (three areas in parallel; each step keeps every check, message and
transcript; the C unit tests now check every message by reference as well):

    step                                                     messages  codes only   +%
    start (1f60ce5)                                            19,225      16,918  13.6
    RPC: a host's state released by one function, the          19,125      16,818  13.7
      unsupported syscalls' texts in one string, the largest
      packet kept (no subtraction at each reader), the
      unframer advancing its caller's data, one loop that
      frees evaluators and finds a slot, a reply's value by
      address
    core, memory, AOT and the executors' common code:          18,903      16,610  13.8
      utvm_ndarray_empty and two one-line helpers inline (only
      applications call them), one walk of the tracked blocks
      behind both range questions, AOT tables filled through
      locals and its counts checked in one OR, 0 bytes of
      device data an empty block as an empty array's data is
    review: three of those undone (a string of names split in   18,925      16,624  13.8
      macros, a dtype built behind #if endianness, aliases
      that a Mach-O host cannot build)
    graph executor: graph_free takes the block, each storage    18,732      16,546  13.2
      freed once at the entry that owns it (one walk), the
      key table names what each value's reader reads, the
      graph's counts one array laid out with its tables, the
      params' fixed parts joined to their format, the __copy
      check through utvm_dltensor_nbytes
    final read: the tensor size walk takes ndim, shape and      18,734      16,550  13.2
      dtype (utvm_shape_nbytes no longer lays out a partial
      DLTensor that only the callee knows to be enough)

Whole image, kws (aot_packed) as above, at the session's start (1f60ce5) and end (b62f930,
before the final read's 2 B):

    config        runtime before  after     image before   after
    messages              20,267  19,819         168,148  167,700
    codes only            18,001  17,671         165,844  165,512
    text                  27,926  27,549         175,760  175,384

Measured and dropped in that session: one call for a node's four failures that pass its
index and name (-4 B, a helper that reorders registers); kException through the shared
reply encoder (+20 B); tables for the call-return type codes or the feed counters (+2 to
+6 B); noinline added or removed on about 20 functions (each current one pays).

The session after (three areas in parallel, then one pass across them; each step keeps
every check, message and transcript):

    step                                                     messages  codes only   +%
    start (a3aca77)                                            18,734      16,550  13.2
    graph executor: the key table also holds the words values   18,593      16,409  13.3
      are compared with ("null", "tvm_op", "__nop", "__copy",
      the storage scopes: one find_key), each node points at
      its first output's entry (no node_row_ptr lookups),
      graph_json_uint stores 32 or 64 bits itself, params'
      second pass reads the checked names in place
    core, memory, AOT and the executors' common code: the      18,489      16,319  13.3
      core's and the memory's state one struct each (one
      memset at initialisation), dispatch and the module
      functions in one section (2-byte jumps), a tensor's
      dtype one argument (noipa), TVMArrayAlloc's dtype
      ranges in one compare
    a fix: the graph's tables sized in 64 bits until the       18,493      16,327  13.3
      total is checked (a 32-bit build wrapped a table of
      4 GiB to a few bytes; tests/runtime/c_large)
    RPC: the session first in the server's state, one table     18,401      16,237  13.3
      of the RPC globals (the time evaluator's among them),
      the evaluator's state one struct, one CRC call in the
      unframer, a syscall's reply type in its signature
    across files: utvm_check_args takes the argument count      18,348      16,182  13.4
      as the first byte of the expected codes (four register
      arguments), the executor modules' create functions rows
      of the table of globals, their names beside their codes
    review: a failed restart from inside a request leaves      18,350      16,184  13.4
      the server off (the server's two flags again: its one
      mode byte saved 2 B, but feed's end then had to test it)

Whole image, kws (aot_packed) as above, at the session's start (a3aca77) and end (790cba4, before
the review's 2 B):

    config        runtime before  after     image before   after
    messages              19,821  19,451         167,704  167,332
    codes only            17,675  17,317         165,516  165,156
    text                  27,549  27,139         175,384  174,972

Measured and dropped in that session: dtype names in 7-byte rows without a NUL (-5 B, kept
out: GCC 15's -Wextra warns on such arrays); a 32-byte graph node (-20 B, but 4 B more RAM
per node); a shared register-globals helper for the core and the RPC server (+12 B); the
time evaluator's arguments in one struct (+4 to +16 B); take() in the params reader
returning a pointer (+20 B); the expected type codes built as one word on the stack (-6 B,
but by byte order).

The floor of the 5 % goal: the "ids only" configuration (column "ids +%") compiles every
message without its arguments, so each check still has a message of its own and TVM's host
still gets its code and stable id without the ELF. At the end of that session it is 17,568
B, 8.6 % (1,384 B) over codes only (16,184 B), where the goal allows 5 % (809 B). Two parts
of it stay whatever the code around them: the writer (error.c is 344 B bigger than in codes
only: utvm_fail_ref, its trampoline and append, in place of utvm_fail_code), and the sites.
Codes only calls utvm_fail_code from 94 places, because checks that return the same code
share one exit; 168 messages need 168 sites, and a site is at least as big as a bare
code's (bl and the word, 8 B, as movw and bl are). 344 + 74 x 8 = 936 B is 5.8 % over codes
only before one argument is passed. A halfword id (6 B sites) would leave 8 bits of hash to
tell apart the 112 messages that share kTvmErrorFunctionCallInvalidArg: not an id. So
messages of their own, with their arguments, cannot cost 5 %; with messages at the floor,
the total goal would need codes only at 15,164 / 1.086 = 13,970 B or less.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "python"))  # utvm.rpc.messages reads the message records
RUNTIME = REPO / "runtime"
CFLAGS = ["-Os", "-mcpu=cortex-m3", "-mthumb", "-ffunction-sections", "-fdata-sections",
          "-std=c11", f"-I{RUNTIME / 'include'}"]

# configuration -> extra compiler flags
CONFIGS = {"messages": [], "codes only": ["-DUTVM_ERROR_MESSAGES=0"],
           "text": ["-DUTVM_ERROR_MESSAGE_TEXT=1"], "ids only": []}
# "ids only" is a measure, not a build anyone can use: every message site keeps its id and
# its code but passes none of its arguments (the host could not expand such a message). It
# is what messages cost at the least while each check keeps a message of its own and TVM's
# host gets a stable id without the ELF: the floor of issue 13's 5 % goal. It compiles with
# a copy of runtime/include whose utvm_fail() drops the arguments after the format.
IDS_ONLY_DEFINE = ("#define utvm_fail(code, ...) UTVM_FAIL_REF_((code), __VA_ARGS__)",
                   "#define utvm_fail(code, ...) ((void)sizeof(utvm_fail_unused_(__VA_ARGS__)), "
                   "UTVM_FAIL_REF_((code), UTVM_MSG_FMT_(__VA_ARGS__)))")
# The same configurations as Kconfig settings of a Zephyr build.
ZEPHYR_CONFIGS = {"messages": ["-DCONFIG_UTVM_ERROR_MESSAGES=y",
                               "-DCONFIG_UTVM_ERROR_MESSAGE_TEXT=n"],
                  "codes only": ["-DCONFIG_UTVM_ERROR_MESSAGES=n"],
                  "text": ["-DCONFIG_UTVM_ERROR_MESSAGES=y", "-DCONFIG_UTVM_ERROR_MESSAGE_TEXT=y"]}
TVM_TOTAL = 30329  # TVM 0.18's CRT: core 7,261 + AOT 3,205 + graph 11,330 + RPC server 8,533
GOAL_RATIO = 0.5

# TVM 0.18 keeps some of what our RPC files do in its core runtime (crt_runtime_api.c):
# runtime.RPCTimeEvaluator, tvm.rpc.server.GetCRTMaxPacketSize and random_fill. Those files
# are measured as their own row, so the server is compared with TVM's server scope, and
# are added to the core for the core's comparison; the "all" rows sum every file.
RPC_CORE_GLOBALS = ["src/rpc/time_evaluator.c", "src/rpc/rpc_globals.c"]

# component -> (source globs, files to leave out, TVM 0.18 .text baseline in bytes or None,
#               what TVM's number covers)
COMPONENTS = {
    "core": (["src/core/*.c", "src/memory/*.c"], [], 7261,
             "runtime API, backend API, registry, ndarray, packed func, page+stack allocators"),
    # Both executors count the module functions they share (src/executors/common).
    "aot_executor": (["src/executors/aot/*.c", "src/executors/common/*.c"], [], 3205,
                     "AOT executor + module"),
    "graph_executor": (["src/executors/graph/*.c", "src/executors/common/*.c"], [], 11330,
                       "graph executor + module"),
    "rpc_server": (["src/rpc/*.c"], RPC_CORE_GLOBALS, 8533,
                   "RPC server (minRPC incl. syscalls), session, framing, CRC, TVMLogf"),
    "rpc_core_globals": (RPC_CORE_GLOBALS, [], None,
                         "time evaluator, GetCRTMaxPacketSize, random_fill: in TVM's core"),
    "core+rpc_globals": (["src/core/*.c", "src/memory/*.c", *RPC_CORE_GLOBALS], [], 7261,
                         "TVM's core scope, with the RPC globals it includes"),
    "rpc_server all": (["src/rpc/*.c"], [], 8533, "every file of src/rpc, for reference"),
    "total": (["src/core/*.c", "src/memory/*.c", "src/executors/*/*.c", "src/rpc/*.c"], [],
              TVM_TOTAL, "all of TVM's CRT above; every runtime file once"),
}


def ids_only_include(out_dir: Path) -> Path:
    """A copy of runtime/include whose messages drop their arguments ("ids only")."""
    include = out_dir / "include"
    shutil.copytree(RUNTIME / "include", include)
    error_h = include / "utvm" / "error.h"
    text = error_h.read_text()
    if text.count(IDS_ONLY_DEFINE[0]) != 1:
        raise RuntimeError(f"{error_h.name}: utvm_fail() is no longer defined as this script "
                           f"expects ({IDS_ONLY_DEFINE[0]!r}): update IDS_ONLY_DEFINE")
    error_h.write_text(text.replace(*IDS_ONLY_DEFINE))
    return include


def object_sizes(sources: list[Path], out_dir: Path, defines: list[str]
                 ) -> dict[Path, tuple[int, int, int, int]]:
    """(.text, .data, .bss, message records) of each source compiled alone."""
    sizes = {}
    out_dir.mkdir()
    for src in sources:
        obj = out_dir / (src.parent.name + "_" + src.stem + ".o")
        # defines first: an -I there is searched before runtime/include
        subprocess.run(["arm-none-eabi-gcc", *defines, *CFLAGS, "-c", str(src), "-o", str(obj)],
                       check=True)
        out = subprocess.run(["arm-none-eabi-size", str(obj)], check=True, capture_output=True,
                             text=True).stdout
        text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
        sizes[src] = (text, data, bss, message_records(obj))
    return sizes


def message_records(obj: Path) -> int:
    """How many message records (code byte, format, NUL) the object's .utvm_msgs holds."""
    from elftools.elf.elffile import ELFFile

    from utvm.rpc.messages import SECTION, parse_records

    with open(obj, "rb") as f:
        section = ELFFile(f).get_section_by_name(SECTION)
        return len(parse_records(section.data())) if section is not None else 0


def zephyr_runtime_rom(model: Path, board: str, build_dir: Path) -> dict[str, dict[str, int]]:
    """ROM of the runtime and of the whole image per configuration (utvm footprint)."""
    from utvm.board.build_dir import read_build
    from utvm.board.footprint import measure_build

    results = {}
    for config, options in ZEPHYR_CONFIGS.items():
        command = ["west", "build", "-b", board, "-d", str(build_dir),
                   str(REPO / "samples" / "rpc_server"), "--", f"-DZEPHYR_EXTRA_MODULES={REPO}",
                   f"-DUTVM_MODEL={model.resolve()}", *options]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}"
                               f"{done.stderr[-3000:]}")
        footprint = measure_build(read_build(build_dir, must_be_built=True), model)
        results[config] = {"runtime_rom": footprint.rom["runtime"],
                           "image_rom": footprint.rom_total}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--zephyr-model", type=Path, metavar="MLF",
                        help="also build samples/rpc_server with this model for --board and "
                        "report the runtime's ROM in the image")
    parser.add_argument("--board", default="mps2/an385", help="board of --zephyr-model")
    args = parser.parse_args()
    try:
        import elftools  # noqa: F401
    except ImportError:
        print("error: pyelftools not found: pip install -e ./python (or pyelftools)",
              file=sys.stderr)
        return 2
    if shutil.which("arm-none-eabi-gcc") is None:
        print("error: arm-none-eabi-gcc not found: apt-get install gcc-arm-none-eabi",
              file=sys.stderr)
        return 2
    rows = []
    all_sources = sorted({p for globs, _, _, _ in COMPONENTS.values() for g in globs
                          for p in RUNTIME.glob(g)})
    with tempfile.TemporaryDirectory() as tmp:
        flags = dict(CONFIGS)
        flags["ids only"] = [f"-I{ids_only_include(Path(tmp))}"]
        sizes = {config: object_sizes(all_sources, Path(tmp) / f"obj{i}", flags[config])
                 for i, config in enumerate(CONFIGS)}
    for name, (globs, excluded, baseline, covers) in COMPONENTS.items():
        left_out = {RUNTIME / e for e in excluded}
        sources = sorted({p for g in globs for p in RUNTIME.glob(g)} - left_out)
        if not sources:
            continue
        row: dict = {"component": name, "files": len(sources), "tvm_text": baseline,
                     "tvm_covers": covers}
        for config in CONFIGS:
            text, data, bss, msgs = (sum(sizes[config][p][i] for p in sources)
                                     for i in range(4))
            row[config] = {"text": text, "data": data, "bss": bss}
            if config == "messages":
                row["messages_sites"] = msgs
        extra = row["messages"]["text"] - row["codes only"]["text"]
        row["bytes_per_message"] = extra / row["messages_sites"] if row["messages_sites"] else None
        row["messages_over_codes"] = extra / row["codes only"]["text"]
        row["ids_only_over_codes"] = (row["ids only"]["text"] - row["codes only"]["text"]) / \
            row["codes only"]["text"]
        row["ratio"] = row["messages"]["text"] / baseline if baseline else None
        rows.append(row)
    image = None
    if args.zephyr_model is not None:
        with tempfile.TemporaryDirectory() as tmp:
            image = zephyr_runtime_rom(args.zephyr_model, args.board, Path(tmp) / "build")
    if args.json:
        print(json.dumps({"components": rows, "image": image}, indent=2))
        return 0
    print("Cortex-M3 code size (arm-none-eabi-gcc -Os -mthumb, summed over object files)\n")
    print("(.text includes .rodata, as arm-none-eabi-size counts it. 'messages' is the default:\n"
          " every message, its text left in the ELF for the host; 'codes only' is\n"
          " UTVM_ERROR_MESSAGES=0, the same checks without messages; 'text' keeps the text on\n"
          " the device. 'B/msg' is what one message costs over codes only, '+%' the same for the\n"
          " component. TVM's server has almost no message text of its own (on a bad packet it\n"
          " spins in Exit() without a reply). 'ids +%' is the same for 'ids only': messages\n"
          " that keep their id and code but drop every argument, the least a message of its\n"
          " own can cost (a measure: the host could not expand them). 'ratio' is messages /\n"
          " TVM.)\n")
    print(f"{'component':<18}{'files':>6}{'msgs':>6}{'codes':>8}{'messages':>10}{'B/msg':>7}"
          f"{'+%':>7}{'ids +%':>8}{'text':>8}{'TVM':>8}{'ratio':>7}   goal <= {GOAL_RATIO:.2f}")
    for r in rows:
        if r["ratio"] is None:
            tvm, ratio, verdict = "in core", "-", "(counted in core+rpc_globals)"
        else:
            tvm, ratio = str(r["tvm_text"]), f"{r['ratio']:.2f}"
            verdict = "ok" if r["ratio"] <= GOAL_RATIO else "over"
            if r["component"] == "total":
                verdict += f" ({r['messages']['text'] - int(GOAL_RATIO * TVM_TOTAL):+d} B)"
        per_msg = f"{r['bytes_per_message']:.1f}" if r["bytes_per_message"] is not None else "-"
        print(f"{r['component']:<18}{r['files']:>6}{r['messages_sites']:>6}"
              f"{r['codes only']['text']:>8}{r['messages']['text']:>10}{per_msg:>7}"
              f"{100 * r['messages_over_codes']:>6.1f}%{100 * r['ids_only_over_codes']:>7.1f}%"
              f"{r['text']['text']:>8}{tvm:>8}"
              f"{ratio:>7}   {verdict}")
    if image is not None:
        model = args.zephyr_model.resolve()
        print(f"\nWhole image: samples/rpc_server with {model.parent.name}/{model.name} on "
              f"{args.board}"
              " (`west utvm footprint`, ROM bytes)")
        print(f"{'config':<12}{'runtime':>10}{'image':>10}")
        for config, sizes in image.items():
            print(f"{config:<12}{sizes['runtime_rom']:>10}{sizes['image_rom']:>10}")
    print("\nWhat TVM's numbers cover:")
    for name, (_, _, _, covers) in COMPONENTS.items():
        print(f"  {name:<18}{covers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
