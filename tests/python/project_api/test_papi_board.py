"""build, flash and the transport methods without a Zephyr tree: a fake west (given as
west_cmd, as TVM users give theirs) writes a native_sim-shaped build whose "zephyr.exe"
echoes what it receives on a real pseudo-terminal. So `build` must run `west build` with the
project as the application, `flash` must start the simulator in the background, and the
transport methods must move bytes over its PTY with TVM's timeout semantics."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apiclient import ApiClient, RpcErrorReply, all_options, generate, server_env

from utvm.board.build_dir import read_build
from utvm.board.devicetree import rpc_uart, uart_baud
from utvm.board.reaper import group_alive
from utvm.board.targets import NativeSimTarget

FAKE_SIMULATOR = """\
import os, sys, tty
controller, device = os.openpty()
tty.setraw(controller)
print("uart_1 connected to pseudotty: " + os.ttyname(device), flush=True)
while True:  # the "board": echoes every byte back
    data = os.read(controller, 4096)
    os.write(controller, data)
"""

FAKE_WEST = """\
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["FAKE_WEST_LOG"], "a") as log:
    log.write(json.dumps({"args": args, "cwd": os.getcwd(),
                          "zephyr_base": os.environ.get("ZEPHYR_BASE")}) + "\\n")
if args[0] == "flash":
    print("fake west: flashed")
    sys.exit(0)
if args[0] != "build":
    sys.exit("fake west: only build and flash")
build = Path(args[args.index("-d") + 1])
board = args[args.index("-b") + 1]
app = [a for a in args[1:args.index("--") if "--" in args else len(args)]
       if not a.startswith("-") and a not in (str(build), board)][-1]
if board == "no_such_board":
    print("CMake Error at boards.cmake: No board named 'no_such_board' found.")
    sys.exit(1)
(build / "zephyr").mkdir(parents=True, exist_ok=True)
cache = build / "CMakeCache.txt"
defined = "".join(a[2:].replace("=", ":STRING=", 1) + "\\n" for a in args if a.startswith("-D"))
if not defined and cache.is_file():  # a plain rebuild keeps the cache as it was
    sys.exit(0)
cache.write_text(defined +
    f"ZEPHYR_BASE:PATH={os.environ['ZEPHYR_BASE']}\\nBOARD:STRING={board}\\n"
    f"CACHED_BOARD:STRING={board}\\nCMAKE_PROJECT_NAME:STATIC=app\\n"
    f"APPLICATION_SOURCE_DIR:PATH={app}\\n")
simulated = ("CONFIG_ARCH_POSIX=y\\nCONFIG_UTVM_TIMER_HOST_CLOCK=y\\n" if board == "native_sim"
             else "")
(build / "zephyr" / ".config").write_text(simulated + 'CONFIG_KERNEL_BIN_NAME="zephyr"\\n')
(build / "zephyr" / "zephyr.elf").write_bytes(b"\\x7fELF")
exe = build / "zephyr" / "zephyr.exe"
exe.write_text("#!" + sys.executable + "\\n" + os.environ["FAKE_SIMULATOR"])
exe.chmod(0o755)
print("fake west: built", board)
"""


@pytest.fixture
def fake_zephyr(tmp_path: Path) -> dict[str, str]:
    base = tmp_path / "zephyr"
    (base / "cmake" / "modules").mkdir(parents=True)
    (base / "VERSION").write_text("VERSION_MAJOR = 4\nVERSION_MINOR = 1\n")
    west = tmp_path / "fake-west"
    west.write_text(f"#!{sys.executable}\n" + FAKE_WEST)
    west.chmod(0o755)
    return {"zephyr_base": str(base), "west_cmd": str(west),
            "log": str(tmp_path / "west-calls.jsonl")}


@pytest.fixture
def project(template_server: ApiClient, model_tar: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    generate(template_server, model_tar, folder, board="native_sim")
    return folder


@pytest.fixture
def server(project: Path, fake_zephyr: dict[str, str], tmp_path: Path) -> Iterator[ApiClient]:
    env = server_env(FAKE_WEST_LOG=fake_zephyr["log"],
                     FAKE_SIMULATOR=textwrap.dedent(FAKE_SIMULATOR))
    with ApiClient(project, env=env, log_path=tmp_path / "project-server.log") as client:
        yield client
    build_dir = project / "build"
    if (build_dir / "CMakeCache.txt").is_file():
        NativeSimTarget(read_build(build_dir)).stop()  # whatever flash started


def west_calls(fake_zephyr: dict[str, str]) -> list[dict[str, object]]:
    path = Path(fake_zephyr["log"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def options_for(client: ApiClient, fake_zephyr: dict[str, str], **more: object
                ) -> dict[str, object]:
    given = {"west_cmd": fake_zephyr["west_cmd"], "zephyr_base": fake_zephyr["zephyr_base"]}
    return all_options(client, **{**given, **more})


def b85(data: bytes) -> str:
    return base64.b85encode(data).decode()


def read_exactly(client: ApiClient, n: int, timeout_sec: float) -> bytes:
    """n bytes from the transport, over as many read_transport calls as it takes."""
    got = b""
    while len(got) < n:
        got += base64.b85decode(client.call("read_transport", n=n - len(got),
                                            timeout_sec=timeout_sec)["data"])
    return got


def test_build_runs_west_build_on_the_project(server: ApiClient, project: Path,
                                              fake_zephyr: dict[str, str]) -> None:
    server.call("build", options=options_for(server, fake_zephyr))
    calls = west_calls(fake_zephyr)
    assert len(calls) == 2  # configure alone (the memory fit is checked), then compile
    assert "--cmake-only" in calls[0]["args"] and "--" not in calls[1]["args"]
    args = calls[0]["args"]
    assert args[:6] == ["build", "-d", str(project / "build"), "-b", "native_sim",
                        "--pristine=never"]
    assert str(project) in args  # the project is the application
    assert any(a.startswith("-DZEPHYR_EXTRA_MODULES=") for a in args)
    assert calls[0]["zephyr_base"] == str(Path(fake_zephyr["zephyr_base"]).resolve())
    # Again: incremental, no new configure (no CMake arguments after --).
    server.call("build", options=options_for(server, fake_zephyr))
    again = west_calls(fake_zephyr)[2]["args"]
    assert "--" not in again and "-b" in again


def test_flash_and_transport_over_the_simulators_pty(server: ApiClient, project: Path,
                                                     fake_zephyr: dict[str, str],
                                                     tmp_path: Path) -> None:
    options = options_for(server, fake_zephyr)
    server.call("build", options=options)
    server.call("flash", options=options)
    simulator = json.loads((project / "build" / "utvm" / "simulator.json").read_text())
    assert simulator["kind"] == "native_sim" and simulator["pty"].startswith("/dev/")
    # Which kind of time TVM's host will get from the board's timer, as `utvm run` says.
    assert ("utvm: native_sim times are this computer's monotonic clock"
            in (tmp_path / "project-server.log").read_text())

    reply = server.call("open_transport", options=options)
    assert reply == {"timeouts": {"session_start_retry_timeout_sec": 2.0,
                                  "session_start_timeout_sec": 10.0,
                                  "session_established_timeout_sec": 10.0}}
    # Nothing sent yet: non-blocking and timed reads time out, named as TVM expects.
    for timeout in (0, 0.3):
        started = time.monotonic()
        with pytest.raises(RpcErrorReply) as caught:
            server.call("read_transport", n=16, timeout_sec=timeout)
        assert caught.value.code == -32000 and caught.value.message == "IoTimeoutError"
        assert time.monotonic() - started < timeout + 5
    payload = bytes(range(256)) * 4  # every byte value, \x00 and \x01 included
    assert server.call("write_transport", data=b85(payload), timeout_sec=5.0) is None
    echoed = b""
    while len(echoed) < len(payload):
        chunk = base64.b85decode(server.call("read_transport", n=len(payload) - len(echoed),
                                             timeout_sec=5.0)["data"])
        assert 1 <= len(chunk) <= len(payload) - len(echoed)
        echoed += chunk
    assert echoed == payload
    server.call("write_transport", data=b85(b"x"), timeout_sec=None)
    assert base64.b85decode(server.call("read_transport", n=1, timeout_sec=None)["data"]) \
        == b"x"

    assert server.call("close_transport") is None
    assert server.call("close_transport") is None  # closing twice is fine
    for method, params in (("read_transport", {"n": 1, "timeout_sec": 0}),
                           ("write_transport", {"data": b85(b"x"), "timeout_sec": 0})):
        with pytest.raises(RpcErrorReply) as caught:
            server.call(method, **params)
        assert caught.value.message == "TransportClosedError"
    # The board flash started went with the session (as with TVM's own Zephyr template);
    # the next session starts a fresh one.
    server.call("open_transport", options=options)
    server.call("write_transport", data=b85(b"again"), timeout_sec=5.0)
    assert base64.b85decode(server.call("read_transport", n=5, timeout_sec=5.0)["data"])[:1] \
        == b"a"


def test_board_gone_is_transport_closed(server: ApiClient, project: Path,
                                        fake_zephyr: dict[str, str], tmp_path: Path) -> None:
    options = options_for(server, fake_zephyr)
    server.call("build", options=options)
    server.call("flash", options=options)
    server.call("open_transport", options=options)
    simulator = json.loads((project / "build" / "utvm" / "simulator.json").read_text())
    os.killpg(simulator["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while True:
        with pytest.raises(RpcErrorReply) as caught:
            server.call("read_transport", n=1, timeout_sec=0.2)
        if caught.value.message == "TransportClosedError" or time.monotonic() > deadline:
            break
    assert caught.value.message == "TransportClosedError"
    # TVM's client keeps only the error's name, and AutoTVM's RPC server passes it on as an
    # RPCError with an empty message: the server's own output (TVM shows it) says what
    # happened and where the board's output is.
    said = [line for line in (tmp_path / "project-server.log").read_text().splitlines()
            if line.startswith("utvm: error:")]
    assert len(said) == 1, said
    assert "the link to native_sim closed during read_transport" in said[0]
    assert f"the native_sim board (pid {simulator['pid']}) has exited" in said[0]
    assert f"its output is in {simulator['log']}" in said[0]
    assert "RPCError with an empty message" in said[0]
    # Reading again after that is TVM's own mistake, not news about the board: said once.
    with pytest.raises(RpcErrorReply):
        server.call("read_transport", n=1, timeout_sec=0)
    assert (tmp_path / "project-server.log").read_text().count("utvm: error:") == 1


def test_bad_data_is_an_error_not_a_crash(server: ApiClient, fake_zephyr: dict[str, str]
                                          ) -> None:
    options = options_for(server, fake_zephyr)
    server.call("build", options=options)
    server.call("flash", options=options)
    server.call("open_transport", options=options)
    with pytest.raises(RpcErrorReply) as caught:
        server.call("write_transport", data="not base85 ~~~ \u00e9", timeout_sec=1)
    assert "not base85" in caught.value.message
    with pytest.raises(RpcErrorReply) as caught:
        server.call("read_transport", n=0, timeout_sec=1)
    assert "n must be at least 1" in caught.value.message
    assert server.call("server_info_query", tvm_version="0.18.0")["is_template"] is False


def test_flash_before_build_says_build_first(server: ApiClient,
                                             fake_zephyr: dict[str, str]) -> None:
    with pytest.raises(RpcErrorReply) as caught:
        server.call("flash", options=options_for(server, fake_zephyr))
    assert "does not exist" in caught.value.message and "Build first" in caught.value.message


def test_unknown_board_reports_zephyrs_message(template_server: ApiClient, model_tar: Path,
                                               fake_zephyr: dict[str, str],
                                               tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    generate(template_server, model_tar, folder, board="no_such_board")
    env = server_env(FAKE_WEST_LOG=fake_zephyr["log"])
    with ApiClient(folder, env=env, log_path=tmp_path / "odd.log") as client, \
            pytest.raises(RpcErrorReply) as caught:
        client.call("build", options=options_for(client, fake_zephyr))
    assert "No board named 'no_such_board' found" in caught.value.message
    assert "west boards" in caught.value.message
    # Quiet (verbose unset), yet the failure shows the end of west's output.
    assert "The last lines of its output" in caught.value.message
    assert "  | CMake Error at boards.cmake" in caught.value.message


def test_no_zephyr_says_how_to_point_at_it(server: ApiClient) -> None:
    with pytest.raises(RpcErrorReply) as caught:
        server.call("build", options=all_options(server))
    assert "ZEPHYR_BASE is not set" in caught.value.message


def test_bad_zephyr_base_option(server: ApiClient, tmp_path: Path) -> None:
    with pytest.raises(RpcErrorReply) as caught:
        server.call("build", options=all_options(server, zephyr_base=str(tmp_path)))
    assert caught.value.message.startswith("project option zephyr_base:")
    assert "is not a Zephyr tree" in caught.value.message


def test_missing_west_command(server: ApiClient, fake_zephyr: dict[str, str]) -> None:
    with pytest.raises(RpcErrorReply) as caught:
        server.call("build", options=options_for(server, fake_zephyr,
                                                 west_cmd="no-such-west-xyz build"))
    assert "west_cmd='no-such-west-xyz build'" in caught.value.message
    assert "is not a program on PATH" in caught.value.message


@pytest.fixture
def echo_pty(tmp_path: Path) -> Iterator[str]:
    """A stand-in for a real board's serial port: a PTY that echoes, started by the test."""
    script = tmp_path / "echo.py"
    script.write_text(textwrap.dedent(FAKE_SIMULATOR))
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        yield line.split("pseudotty: ")[1].strip()
    finally:
        process.kill()
        process.wait()


def test_hardware_board_flash_and_serial_port(template_server: ApiClient, model_tar: Path,
                                              fake_zephyr: dict[str, str], echo_pty: str,
                                              tmp_path: Path) -> None:
    pytest.importorskip("serial", reason="pyserial is not installed")
    folder = tmp_path / "hw"
    generate(template_server, model_tar, folder, board="nucleo_f746zg")
    env = server_env(FAKE_WEST_LOG=fake_zephyr["log"],
                     FAKE_SIMULATOR=textwrap.dedent(FAKE_SIMULATOR))
    with ApiClient(folder, env=env, log_path=tmp_path / "hw.log") as client:
        options = options_for(client, fake_zephyr, serial_number="0672FF485550755187",
                              flash_runner="openocd")
        client.call("build", options=options)
        client.call("flash", options=options)
        flash = west_calls(fake_zephyr)[-1]["args"]
        assert flash == ["flash", "-d", str(folder / "build"), "--runner", "openocd",
                         "--dev-id", "0672FF485550755187", "--skip-rebuild"]
        assert ("utvm: nucleo_f746zg times are real time, measured by the board's own timer"
                in (tmp_path / "hw.log").read_text())
        reply = client.call("open_transport", options={**options, "serial_port": echo_pty,
                                                       "serial_baud": "115200"})
        assert reply["timeouts"] == {"session_start_retry_timeout_sec": 2.0,
                                     "session_start_timeout_sec": 5.0,
                                     "session_established_timeout_sec": 5.0}
        with pytest.raises(RpcErrorReply) as caught:
            client.call("read_transport", n=4, timeout_sec=0.2)
        assert caught.value.message == "IoTimeoutError"
        client.call("write_transport", data=b85(b"\x00\x01ping"), timeout_sec=2.0)
        assert read_exactly(client, 6, timeout_sec=2.0) == b"\x00\x01ping"
        client.call("close_transport")


def test_serial_baud_comes_from_the_devicetree(tmp_path: Path) -> None:
    dts = tmp_path / "zephyr.dts"
    dts.write_text(textwrap.dedent("""\
        / {
        \tchosen {
        \t\tzephyr,console = &usart3;
        \t\tzephyr,utvm-uart = &usart2;
        \t};
        \tsoc {
        \t\tusart3: serial@40004800 {
        \t\t\tpinctrl { x = < 1 >; };
        \t\t\tcurrent-speed = < 0x1c200 >;
        \t\t};
        \t\tusart2: serial@40004400 {
        \t\t\tcurrent-speed = < 921600 >;
        \t\t};
        \t\tuart0: uart { current-speed = < 0x0 >; };
        \t};
        };
        """))
    uart = rpc_uart(dts)
    assert uart is not None and uart.label == "usart2"
    assert uart_baud(dts, uart.label) == 921600
    assert uart_baud(dts, "usart3") == 115200
    assert uart_baud(dts, "uart0") is None  # native_sim's PTY UARTs say 0
    assert uart_baud(dts, "missing") is None


def _flashed_board(server: ApiClient, project: Path, fake_zephyr: dict[str, str]) -> int:
    options = options_for(server, fake_zephyr)
    server.call("build", options=options)
    server.call("flash", options=options)
    group = json.loads((project / "build" / "utvm" / "simulator.json").read_text())["pid"]
    assert group_alive(group)
    return group


def _wait_until_stopped(group: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while group_alive(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not group_alive(group)


def test_closing_the_transport_stops_the_board_flash_started(
        server: ApiClient, project: Path, fake_zephyr: dict[str, str]) -> None:
    group = _flashed_board(server, project, fake_zephyr)
    server.call("open_transport", options=options_for(server, fake_zephyr))
    server.call("close_transport")
    assert not group_alive(group)
    assert not (project / "build" / "utvm" / "simulator.json").exists()


def test_server_exit_stops_the_board_flash_started(
        server: ApiClient, project: Path, fake_zephyr: dict[str, str]) -> None:
    group = _flashed_board(server, project, fake_zephyr)
    assert server.close() == 0
    assert not group_alive(group)


def test_killed_server_still_stops_the_board(
        server: ApiClient, project: Path, fake_zephyr: dict[str, str]) -> None:
    """AutoTVM left 10 simulators running: nothing must outlive the server, even SIGKILL."""
    group = _flashed_board(server, project, fake_zephyr)
    server.process.kill()
    server.process.wait()
    assert _wait_until_stopped(group)


def test_deleting_the_project_stops_the_board(
        server: ApiClient, project: Path, fake_zephyr: dict[str, str]) -> None:
    import shutil

    group = _flashed_board(server, project, fake_zephyr)
    shutil.rmtree(project)
    assert _wait_until_stopped(group)


def test_deleting_the_project_during_a_session_keeps_the_board_until_it_closes(
        server: ApiClient, project: Path, fake_zephyr: dict[str, str]) -> None:
    """TVM's compile_and_create_micro_session (AutoTVM's build + flash trials) deletes the
    generated project as soon as the session is up, then measures over it: the board must
    last as long as the server talks to it, and stop once the transport closes."""
    import shutil

    group = _flashed_board(server, project, fake_zephyr)
    server.call("open_transport", options=options_for(server, fake_zephyr))
    shutil.rmtree(project)
    time.sleep(3)  # several of the reaper's polls: a wrong stop would have happened by now
    assert group_alive(group)
    server.call("write_transport", data=b85(b"ping"), timeout_sec=5.0)
    assert read_exactly(server, 4, timeout_sec=5.0) == b"ping"
    server.call("close_transport")
    assert _wait_until_stopped(group)
