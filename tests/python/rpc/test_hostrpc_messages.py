"""Error messages sent by reference (runtime/include/utvm/error_ref.h) and their expansion
from the firmware's ELF (utvm.rpc.messages): the format, the host board end to end, and
`utvm decode`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hostrpc_transcripts import REPO_ROOT

from utvm.cli import main as utvm_main
from utvm.rpc import RemoteError, Session
from utvm.rpc.error_codes import explain
from utvm.rpc.messages import (
    SECTION,
    MessageTable,
    arg_classes,
    format_like_c,
    hash_header,
    message_hash,
)

BUNDLED = REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "aot_packed"
REFERENCE = re.compile(r"error 0x801 #[0-9a-f]{8} .*")


def _word(fmt: str, code: int, pointer_size: int = 4) -> int:
    classes = sum(c << (2 * i) for i, c in enumerate(arg_classes(fmt, pointer_size)))
    return message_hash(fmt.encode()) & 0xFFF00000 | code << 12 | classes


def test_the_c_header_spells_out_the_hosts_hash() -> None:
    header = REPO_ROOT / "runtime" / "include" / "utvm" / "message_hash.h"
    assert header.read_text() == hash_header(), "regenerate: python -m utvm.rpc.messages"


def test_arguments_print_as_the_devices_printf_prints_them() -> None:
    fmt = "%s: %d, %u, %lu, 0x%llx, %lld, %x, %p, %p, 100%%"
    args: list[int | str] = ["op", 0xFFFFFFFE, 7, 0xFFFFFFFF, 0x123456789, 2**64 - 3, 255,
                             0x20001000, 0]
    assert format_like_c(fmt, args, pointer_size=4) == (
        "op: -2, 7, 4294967295, 0x123456789, -3, ff, 0x20001000, (nil), 100%")
    assert arg_classes(fmt, 4) == [3, 1, 1, 1, 2, 2, 1, 1, 1]
    assert arg_classes(fmt, 8) == [3, 1, 1, 2, 2, 2, 1, 2, 2]


def test_references_expand_nested_and_unknown_ones_stay() -> None:
    outer, inner = "params: %s", "node %lu (%s) fails"
    table = MessageTable([(0x83, outer), (0x83, inner)], pointer_size=4)
    inner_ref = f"error 0x803 #{_word(inner, 0x83):08x} 1f 4:conv"
    text = f"x error 0x803 #{_word(outer, 0x83):08x} {len(inner_ref):x}:{inner_ref} y"
    assert table.expand(text) == "x params: node 31 (conv) fails y"
    unknown = "error 0x803 #00000001 5"
    assert table.expand(unknown) == unknown
    cut = f"error 0x803 #{_word(inner, 0x83):08x} 1f 9:con"  # the device's buffer was full
    assert table.expand(cut) == cut


def test_without_the_elf_the_code_and_id_are_named() -> None:
    text = "error 0x801 #94181057 11:ModuleGetFunction 0 0 9"
    said = explain(text)
    assert said.startswith(text)
    assert "kTvmErrorFunctionCallWrongArgType" in said and "#94181057" in said


def _build(extra: list[str]) -> Path:
    if shutil.which("cmake") is None or shutil.which("cc") is None:
        pytest.skip("cmake and a C compiler are needed to build the host board")
    from utvm.host.build import HOST_BOARD, build_host_program
    from utvm.mlf import open_mlf

    with open_mlf(BUNDLED) as mlf:
        return Path(build_host_program(HOST_BOARD, mlf, extra_options=extra))


def _failure(exe: Path, firmware: Path | None) -> RemoteError:
    from utvm.transport.subprocess_stdio import SubprocessTransport

    with Session(SubprocessTransport([exe]), firmware=firmware) as session:
        get_function = session.get_global_func("tvm.rpc.server.ModuleGetFunction")
        with pytest.raises(RemoteError) as info:
            get_function(1, 2, 3)
        return info.value


def test_the_host_expands_exactly_what_a_board_with_text_says() -> None:
    by_reference = _build([])
    with_text = _build(["-DUTVM_ERROR_MESSAGE_TEXT=ON"])
    expected = _failure(with_text, None).remote_message
    assert expected == "ModuleGetFunction: argument 0 has type code 0, 9 expected"
    assert _failure(by_reference, by_reference).remote_message == expected
    raw = _failure(by_reference, None).remote_message
    assert REFERENCE.fullmatch(raw), raw
    assert MessageTable.from_elf(by_reference).expand(raw) == expected


def test_a_missing_input_is_recorded_with_its_code() -> None:
    """Was error 0xfffff8fe: the index lookup records the code negated, as it returns it."""
    exe = _build([])
    from utvm.transport.subprocess_stdio import SubprocessTransport

    with Session(SubprocessTransport([exe])) as session:
        get_function = session.get_global_func("tvm.rpc.server.ModuleGetFunction")
        with session.create_aot_executor() as executor:
            get_input_index = get_function(executor.module, "get_input_index", False)
            for missing in (7, "nope"):
                with pytest.raises(RemoteError) as info:
                    get_input_index(missing)
                raw = info.value.remote_message
                assert re.fullmatch(r"error 0x702 #[0-9a-f]{8} .*", raw), raw
                assert "kTvmErrorExecutorModuleNoSuchInput" in explain(raw)


def test_the_text_is_in_the_elf_but_not_in_the_program() -> None:
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    exe = _build([])
    with open(exe, "rb") as f:
        elf = ELFFile(f)
        section = elf.get_section_by_name(SECTION)
        assert section is not None and not section["sh_flags"] & SH_FLAGS.SHF_ALLOC
        records = section.data()
        loaded = b"".join(s.data() for s in elf.iter_sections()
                          if s["sh_flags"] & SH_FLAGS.SHF_ALLOC and s["sh_type"] != "SHT_NOBITS")
    assert b"is not a live handle" in records
    assert b"is not a live handle" not in loaded
    table = MessageTable.from_elf(exe)
    assert len(table.formats) > 100
    clashes = [f for f in table.formats.values() if len(f) > 1]
    assert not clashes, f"messages whose ids clash: {clashes}"


def test_decode_command_expands_lines(capsys: pytest.CaptureFixture[str]) -> None:
    exe = _build([])
    raw = _failure(exe, None).remote_message
    assert utvm_main(["decode", "--elf", str(exe), f"failed: {raw}"]) == 0
    assert capsys.readouterr().out == (
        "failed: ModuleGetFunction: argument 0 has type code 0, 9 expected\n")
    assert utvm_main(["decode", "--elf", str(REPO_ROOT / "README.md"), raw]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read the error messages of")


def test_an_unreadable_elf_only_costs_the_expansion(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    exe = _build([])
    broken = tmp_path / "zephyr.elf"
    broken.write_bytes(b"")
    raw = _failure(exe, broken).remote_message
    assert REFERENCE.fullmatch(raw), raw
    assert "cannot read the error messages of" in caplog.text


# A graph of one node (NODES) and one entry whose heads are HEADS.
_INPUT = '{"op": "null", "name": "x", "inputs": []}'
_ONE_ENTRY = ('{"nodes": [NODES], "arg_nodes": [], "heads": HEADS, "node_row_ptr": [0, 1], '
              '"attrs": {"dltype": ["list_str", ["float32"]], "storage_id": ["list_int", [0]], '
              '"shape": ["list_shape", [[1]]]}}')

# Graph JSON the reader refuses, each at a site whose message a shared helper fills in
# (graph_json.h: GRAPH_JSON_FAIL_AT, GRAPH_JSON_EXPECTED, GRAPH_JSON_EXPECTED_VALUE).
BAD_GRAPHS = [
    '{"x": "abc',              # unterminated string (no "for")
    '{"nodes": [{"op": "nu',   # unterminated string for op
    '{"x": "a\\q"}',           # an escape
    '{"nodes": [{"name": "\\u0000"}]}',  # \u0000, for a node name
    '{"arg_nodes": [01]}',     # leading zeros
    '{"arg_nodes": [1.5]}',    # a fraction
    '{"x": -}',                # a digit
    '{"x": 1.}',               # a digit after '.'
    '{"x": tru}',              # a value
    '{} x',                    # the end
    '{"arg_nodes": [-1]}',     # a non-negative integer, for arg_nodes
    '{"arg_nodes": [1 2]}',    # ',' or ']'
    '{"nodes": [] "x": 1}',    # ',' or '}'
    '[]',                      # '{', for the graph
    '{"x" 1}',                 # ':', for an object key
    '{"attrs": {"shape": 1}}', # '[', for shape
    '{"attrs": {"shape": ["list_shape" []]}}',  # ','
    '{"attrs": {"shape": ["list_shape", [] 1]}}',  # ']'
    # Cross references, checked once the whole graph is read.
    _ONE_ENTRY.replace("HEADS", "[[1, 0, 0]]").replace("NODES", _INPUT),
    _ONE_ENTRY.replace("HEADS", "[[0, 0, 0]]").replace(
        "NODES", '{"op": "tvm_op", "name": "n", "inputs": [[1, 0, 0]], '
                 '"attrs": {"func_name": "__nop", "num_outputs": "1"}}'),
]


def _graph_failures(exe: Path, firmware: Path | None) -> list[str]:
    from utvm.transport.subprocess_stdio import SubprocessTransport

    messages = []
    with Session(SubprocessTransport([exe]), firmware=firmware) as session:
        for graph in BAD_GRAPHS:
            with pytest.raises(RemoteError) as info:
                session.create_graph_executor(graph)
            messages.append(info.value.remote_message)
    return messages


def test_graph_json_messages_expand_as_the_text_reads() -> None:
    by_reference = _build([])
    expected = _graph_failures(_build(["-DUTVM_ERROR_MESSAGE_TEXT=ON"]), None)
    assert expected[0] == "graph JSON: byte 6: unterminated string"
    assert expected[1] == "graph JSON: byte 18: unterminated string for op"
    assert expected[3] == ("graph JSON: byte 27: expected a character other than \\u0000 for a "
                           "node name")
    assert expected[8] == "graph JSON: byte 6: expected a value"
    assert expected[10:] == [
        "graph JSON: byte 15: expected a non-negative integer for arg_nodes",
        "graph JSON: byte 17: expected ',' or ']'",
        "graph JSON: byte 13: expected ',' or '}'",
        "graph JSON: byte 0: expected '{' for the graph (a JSON object)",
        "graph JSON: byte 5: expected ':' for an object key",
        "graph JSON: byte 20: expected '[' for shape",
        "graph JSON: byte 34: expected ',' for shape",
        "graph JSON: byte 38: expected ']' for shape",
        "graph JSON: head 0 refers to output 0 of node 1, which does not exist",
        "graph JSON: an input of node 0 refers to output 0 of node 1, which does not exist "
        "before it",
    ]
    raw = _graph_failures(by_reference, None)
    assert all(re.fullmatch(r"error 0x803 #[0-9a-f]{8} .*", r) for r in raw), raw
    assert _graph_failures(by_reference, by_reference) == expected
