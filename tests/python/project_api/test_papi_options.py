"""Project options: what tvmc sends (strings), what TVM's project classes send (every option,
unset ones as null), and clear refusals for anything else."""

from __future__ import annotations

from pathlib import Path

import pytest
from apiclient import ApiClient, RpcErrorReply, all_options, generate

from utvm.errors import UtvmError
from utvm.project_api.options import BY_NAME, parse_options


def test_unset_options_get_their_defaults() -> None:
    values = parse_options("generate_project", {"board": "native_sim"})
    assert set(values) == set(BY_NAME)
    assert values["project_type"] == "host_driven"
    assert values["verbose"] is False
    assert values["config_main_stack_size"] is None


def test_nulls_everywhere_are_unset() -> None:
    given = {name: None for name in BY_NAME}
    given["board"] = "qemu_cortex_m3"
    assert parse_options("generate_project", given)["board"] == "qemu_cortex_m3"
    assert parse_options("open_transport", {name: None for name in BY_NAME})["board"] is None


def test_strings_from_tvmc_are_converted() -> None:
    values = parse_options("generate_project", {
        "board": "nucleo_f746zg", "verbose": "true", "warning_as_error": "False",
        "config_main_stack_size": "4096", "arena_size_bytes": "0x10000",
        "compile_definitions": "FOO=1;BAR -DBAZ=2"})
    assert values["verbose"] is True and values["warning_as_error"] is False
    assert values["config_main_stack_size"] == 4096
    assert values["arena_size_bytes"] == 65536
    assert values["compile_definitions"] == ["FOO=1", "BAR", "BAZ=2"]


def test_json_typed_values_are_taken_as_they_are() -> None:
    values = parse_options("generate_project", {
        "board": "native_sim", "verbose": True, "config_main_stack_size": 2048,
        "compile_definitions": ["A=1", "B"]})
    assert values["verbose"] is True
    assert values["config_main_stack_size"] == 2048
    assert values["compile_definitions"] == ["A=1", "B"]


@pytest.mark.parametrize("given, complaint", [
    ({"board": "native_sim", "boards": "x"}, "unknown project option(s) boards"),
    ({"board": "native_sim", "gdbserver_port": 1234}, "unknown project option(s) gdbserver"),
    ({"board": "native_sim", "config_main_stack_size": "big"}, "is not a whole number"),
    ({"board": "native_sim", "config_main_stack_size": True}, "is not a whole number"),
    ({"board": "native_sim", "arena_size_bytes": -4}, "is not a positive number"),
    ({"board": "native_sim", "verbose": "maybe"}, "is not a boolean"),
    ({"board": "native_sim", "verbose": 3}, "is not a boolean"),
    ({"board": 5}, "board=5 is not a string"),
    ({"board": "native_sim", "project_type": "aot_standalone_demo"},
     "is not one of host_driven"),
    ({"board": "native_sim", "compile_definitions": 7}, "a string or a list of strings"),
    ({}, "generate_project needs the project option board"),
])
def test_refusals_say_what_is_wrong(given: dict[str, object], complaint: str) -> None:
    with pytest.raises(UtvmError) as caught:
        parse_options("generate_project", given)
    assert complaint in str(caught.value)


def test_unknown_option_names_what_there_is() -> None:
    with pytest.raises(UtvmError) as caught:
        parse_options("build", {"west_command": "west"})
    message = str(caught.value)
    assert "build: unknown project option(s) west_command" in message
    assert "west_cmd" in message and "template_project/README.md" in message


def test_unknown_option_over_the_pipe_creates_nothing(template_server: ApiClient,
                                                      model_tar: Path,
                                                      tmp_path: Path) -> None:
    project = tmp_path / "project"
    with pytest.raises(RpcErrorReply) as caught:
        template_server.call("generate_project", model_library_format_path=str(model_tar),
                             standalone_crt_dir="", project_dir=str(project),
                             options={**all_options(template_server, board="native_sim"),
                                      "use_fvp": True})
    assert caught.value.code == -32000
    assert "unknown project option(s) use_fvp" in caught.value.message
    assert not project.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["server.log"]


def test_missing_board_over_the_pipe(template_server: ApiClient, model_tar: Path,
                                     tmp_path: Path) -> None:
    with pytest.raises(RpcErrorReply) as caught:
        generate(template_server, model_tar, tmp_path / "project")
    assert "generate_project needs the project option board" in caught.value.message
