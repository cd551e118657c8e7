"""With a Zephyr tree, an Arm toolchain and qemu-system-arm: error messages from a Cortex-M
board (samples/rpc_server on mps2/an385 in QEMU), sent by reference and expanded from its
ELF, read exactly as the text the host board formats with the messages on the device. On
Thumb-2 most sites put their word after their call (runtime/include/utvm/error_ref.h), with
their code in the word or, when it is not a constant, first among the arguments; the rest call
with a literal word: all three kinds are among the failures below."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from westsupport import require_mps2_an385_in_qemu, run_utvm

from testsupport import ZEPHYR_BUILD_REQUIREMENTS, require_zephyr_python

require_mps2_an385_in_qemu("the board message tests")

BOARD = "mps2/an385"
REPO = Path(__file__).resolve().parents[3]
BUNDLED = REPO / "samples" / "models" / "tiny_conv_f32" / "aot_packed"
# Graph JSON the reader refuses (shared helpers fill in most of these messages), then
# requests with wrong arguments (sites that pass their own).
BAD_GRAPHS = [
    '{"x": "abc',
    '{"nodes": [{"op": "nu',
    '{"nodes": [{"name": "\\u0000"}]}',
    '{"arg_nodes": [01]}',
    '{"x": tru}',
    '{} x',
    '{"nodes": [], "arg_nodes": [], "heads": [], "attrs": {}}',
    # A site whose code is not a constant (it passes the dtype parser's): the code travels
    # first among the arguments.
    '{"attrs": {"dltype": ["list_str", ["floaty"]]}}',
]


# One input, float32 [1]; parameters that give it as int8 (kit.params_blob's arrays are int8)
# fail the dtype check, whose message passes two strings its site computes by calls (dtype
# names) after a first argument.
ONE_INPUT = ('{"nodes": [{"op": "null", "name": "x", "inputs": []}], "arg_nodes": [0], '
             '"heads": [[0, 0, 0]], "node_row_ptr": [0, 1], "attrs": {"dltype": ["list_str", '
             '["float32"]], "storage_id": ["list_int", [0]], "shape": ["list_shape", [[1]]]}}')


def _load_params(session, params: bytes) -> None:
    with session.create_graph_executor(ONE_INPUT) as executor:
        executor.load_params(params)


def _failures(session, kit) -> list[str]:
    from utvm.rpc import RemoteError

    said = []
    calls = [lambda g=g: session.create_graph_executor(g) for g in BAD_GRAPHS]
    calls.append(lambda: _load_params(session, kit.params_blob({"x": b"\0"})))
    get_function = session.get_global_func("tvm.rpc.server.ModuleGetFunction")
    calls.append(lambda: get_function(1, 2, 3))
    calls.append(lambda: session.create_aot_executor("no_such_model"))
    calls.append(lambda: session.create_aot_executor("m" * 200))
    for call in calls:
        with pytest.raises(RemoteError) as info:
            call()
        said.append(info.value.remote_message)
    return said


@pytest.fixture(scope="module")
def board_messages(tmp_path_factory: pytest.TempPathFactory, kit) -> tuple[list[str], list[str]]:
    """What the QEMU board said, raw and expanded from its ELF."""
    from utvm.board.build_dir import read_build
    from utvm.board.targets import target_for
    from utvm.rpc import Session
    from utvm.transport import PtyTransport

    require_zephyr_python(os.environ["ZEPHYR_BASE"], ZEPHYR_BUILD_REQUIREMENTS)
    build_dir = tmp_path_factory.mktemp("messages") / "build"
    run_utvm("build", "-b", BOARD, "-d", str(build_dir), "--mlf", str(BUNDLED))
    run_utvm("flash", "-d", str(build_dir), "--skip-rebuild")
    try:
        build = read_build(build_dir, must_be_built=True)
        pty = target_for(build).running().pty
        with Session(PtyTransport(pty), reply_timeout=60.0) as session:
            raw = _failures(session, kit)
        with Session(PtyTransport(pty), reply_timeout=60.0,
                     firmware=build.elf_path) as session:
            expanded = _failures(session, kit)
    finally:
        run_utvm("flash", "-d", str(build_dir), "--stop", check=False)
    return raw, expanded


@pytest.fixture(scope="module")
def text_messages(kit) -> list[str]:
    """The same failures on the host board built with the text on the device."""
    if shutil.which("cmake") is None or shutil.which("cc") is None:
        pytest.skip("cmake and a C compiler are needed to build the host board")
    from utvm.host.build import HOST_BOARD, build_host_program
    from utvm.mlf import open_mlf
    from utvm.rpc import Session
    from utvm.transport.subprocess_stdio import SubprocessTransport

    with open_mlf(BUNDLED) as mlf:
        exe = build_host_program(HOST_BOARD, mlf, extra_options=["-DUTVM_ERROR_MESSAGE_TEXT=ON"])
    with Session(SubprocessTransport([exe])) as session:
        return _failures(session, kit)


def test_the_boards_references_expand_to_the_text(board_messages, text_messages) -> None:
    raw, expanded = board_messages
    assert all(r.startswith("error 0x") and " #" in r for r in raw), raw
    print("\n".join(f"{r}\n  -> {e}" for r, e in zip(raw, expanded, strict=True)), file=sys.stderr)
    assert expanded == text_messages
    assert expanded[len(BAD_GRAPHS)] == "params: x: dtype int8 given, float32 expected"
    # The dtype case's site passed its code as an argument: its word has none.
    dtype_case = raw[BAD_GRAPHS.index('{"attrs": {"dltype": ["list_str", ["floaty"]]}}')]
    assert int(dtype_case.split(" #", 1)[1][:8], 16) >> 12 & 0xFF == 0, dtype_case
