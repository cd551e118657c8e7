"""The client against utvm's real RPC server: the host board (runtime/host_board), a program
built from the C runtime and a model, over a pipe and a PTY. Builds are cached by utvm.host
(~/.cache/utvm), so only the first run compiles."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hostrpc_transcripts import FIXTURES, FIXTURES_MISSING, REPO_ROOT

from utvm.rpc import RemoteError, Session, TransportClosed
from utvm.transport import Transport

BUNDLED = REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "aot_packed"
BUNDLED_DATA = BUNDLED.parent / "test_data"
GRAPH_PARAMS = FIXTURES / "tiny_conv_f32" / "graph_params"


def _require_tools() -> None:
    if shutil.which("cmake") is None or shutil.which("cc") is None:
        pytest.skip("cmake and a C compiler are needed to build the host board")


def _board(mlf_dir: Path, link: str) -> Transport:
    from utvm.host.board import start_host_board
    from utvm.mlf import open_mlf

    with open_mlf(mlf_dir) as mlf:
        return start_host_board(mlf, link)


@pytest.fixture(params=["pipe", "pty"])
def aot_board(request: pytest.FixtureRequest) -> Iterator[Session]:
    _require_tools()
    with Session(_board(BUNDLED, request.param)) as session:
        yield session


def test_aot_inference_is_bit_exact_with_tvm(aot_board: Session) -> None:
    data = np.load(BUNDLED_DATA / "input_0.npy")
    expected = np.load(BUNDLED_DATA / "tvm_crt_output_0.npy")
    with aot_board.create_aot_executor() as executor:
        assert executor.get_num_inputs() == 1 and executor.get_input_name(0) == "input"
        executor.set_input("input", data)
        executor.run()
        assert executor.get_output(0).tobytes() == expected.tobytes()
        seconds = executor.time(number=2, repeat=3)
        assert len(seconds) == 3 and all(s >= 0 for s in seconds)


def test_large_copies_round_trip(aot_board: Session) -> None:
    data = np.random.default_rng(1).integers(-1000, 1000, size=100_000, dtype=np.int32)
    with aot_board.array(data) as tensor:
        assert np.array_equal(tensor.numpy(), data)


def test_server_errors_arrive_as_remote_errors(aot_board: Session) -> None:
    get_function = aot_board.get_global_func("tvm.rpc.server.ModuleGetFunction")
    with pytest.raises(RemoteError, match="ModuleGetFunction"):
        get_function(1, 2, 3)
    assert aot_board.get_global_func("runtime.SystemLib") is not None


def test_a_board_without_error_messages_still_says_what_failed() -> None:
    """Built with UTVM_ERROR_MESSAGES=0 the server sends only "error 0x801"; the client
    names the code, so the user still learns what failed."""
    _require_tools()
    from utvm.host.build import HOST_BOARD, build_host_program
    from utvm.mlf import open_mlf
    from utvm.transport.subprocess_stdio import SubprocessTransport

    with open_mlf(BUNDLED) as mlf:
        exe = build_host_program(HOST_BOARD, mlf, extra_options=[
            "-DCMAKE_C_FLAGS=-DUTVM_ERROR_MESSAGES=0"])
    with Session(SubprocessTransport([exe])) as session:
        get_function = session.get_global_func("tvm.rpc.server.ModuleGetFunction")
        with pytest.raises(RemoteError) as info:
            get_function(1, 2, 3)
        assert info.value.remote_message == "error 0x801"
        assert "kTvmErrorFunctionCallWrongArgType: argument of the wrong type" in str(info.value)
        assert "UTVM_ERROR_MESSAGES=0" in str(info.value)
        assert session.get_global_func("runtime.SystemLib") is not None


def test_shutdown_ends_the_board(aot_board: Session) -> None:
    """kShutdown: the host board exits (where a real device reboots); the link is gone."""
    aot_board.client.shutdown()
    with pytest.raises(TransportClosed):
        aot_board.get_global_func("runtime.SystemLib")


@pytest.fixture
def graph_board() -> Iterator[tuple[Session, str, bytes]]:
    if not (GRAPH_PARAMS / "metadata.json").is_file():
        pytest.skip(FIXTURES_MISSING)
    _require_tools()
    graph = (GRAPH_PARAMS / "executor-config" / "graph" / "default.graph").read_text()
    params = (GRAPH_PARAMS / "parameters" / "default.params").read_bytes()
    with Session(_board(GRAPH_PARAMS, "pipe")) as session:
        yield session, graph, params


def _run_graph(executor: object) -> bytes:
    executor.set_input("input", np.load(GRAPH_PARAMS / "input_0.npy"))  # type: ignore[attr-defined]
    executor.run()  # type: ignore[attr-defined]
    return executor.get_output(0).tobytes()  # type: ignore[attr-defined]


def test_host_driven_graph_executor_on_utvms_server(graph_board: tuple) -> None:
    session, graph, params = graph_board
    expected = np.load(GRAPH_PARAMS / "tvm_crt_output_0.npy").tobytes()
    with session.create_local_graph_executor(graph, params) as executor:
        assert _run_graph(executor) == expected


def test_device_graph_executor_on_utvms_server(graph_board: tuple) -> None:
    session, graph, params = graph_board
    expected = np.load(GRAPH_PARAMS / "tvm_crt_output_0.npy").tobytes()
    with session.create_graph_executor(graph, params) as executor:
        assert _run_graph(executor) == expected


def test_device_graph_executor_without_error_messages() -> None:
    """Built with UTVM_ERROR_MESSAGES=0 the graph JSON reader keeps every check (only the
    names it gives messages are gone): a graph still runs, a bad one is still refused."""
    if not (GRAPH_PARAMS / "metadata.json").is_file():
        pytest.skip(FIXTURES_MISSING)
    _require_tools()
    from utvm.host.build import HOST_BOARD, build_host_program
    from utvm.mlf import open_mlf
    from utvm.transport.subprocess_stdio import SubprocessTransport

    graph = (GRAPH_PARAMS / "executor-config" / "graph" / "default.graph").read_text()
    params = (GRAPH_PARAMS / "parameters" / "default.params").read_bytes()
    expected = np.load(GRAPH_PARAMS / "tvm_crt_output_0.npy").tobytes()
    with open_mlf(GRAPH_PARAMS) as mlf:
        exe = build_host_program(HOST_BOARD, mlf, extra_options=[
            "-DUTVM_RPC_MAX_PACKET_SIZE=65536", "-DCMAKE_C_FLAGS=-DUTVM_ERROR_MESSAGES=0"])
    with Session(SubprocessTransport([exe])) as session:
        with session.create_graph_executor(graph, params) as executor:
            assert _run_graph(executor) == expected
        for bad in ('{"nodes": [', graph.replace('"heads"', '"heads": [], "heads"', 1),
                    graph.replace('"arg_nodes": [', '"arg_nodes": [01, ', 1)):
            with pytest.raises(RemoteError) as info:
                session.create_graph_executor(bad)
            assert info.value.remote_message == "error 0x803"


def test_error_in_a_returned_function_names_where_it_came_from(aot_board: Session) -> None:
    """Was 'the device reported an error during returned by runtime.RPCTimeEvaluator(): ...'."""
    get_function = aot_board.get_global_func("tvm.rpc.server.ModuleGetFunction")
    with aot_board.create_aot_executor() as executor:
        get_input_index = get_function(executor.module, "get_input_index", False)
        with pytest.raises(RemoteError) as caught:
            get_input_index("nope")
    message = str(caught.value)
    assert message.startswith("the device reported an error during a call of the function "
                              "returned by tvm.rpc.server.ModuleGetFunction with ('nope'): ")
    assert "during returned by" not in message
