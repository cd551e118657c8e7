"""Text from a device reaches the terminal with control characters escaped (issue 11).

A device (or a model's generated code) can send ESC sequences and BEL in an exception
message, a log line or its console output; utvm shows them as escapes, never raw.
"""

from __future__ import annotations

import argparse
import io
import sys
from types import SimpleNamespace

import pytest
from hostrpc_fake_device import FakeDevice, LoopbackTransport

from utvm.board.targets import NativeSimTarget
from utvm.cli import dispatch
from utvm.device_text import EscapedStream, printable
from utvm.host.runner import _execute
from utvm.rpc import RemoteError, Session
from utvm.transport import SubprocessTransport
from utvm.transport.base import TransportClosed, TransportTimeouts

FAST = TransportTimeouts(0.05, 0.3, 0.5)
HOSTILE = "clear\x1b[2J\x1b]0;pwned\x07 done\r\n\u202eevil"


def test_printable_escapes_control_characters_and_keeps_the_rest():
    assert printable(HOSTILE) == "clear\\x1b[2J\\x1b]0;pwned\\x07 done\\r\\n\\u202eevil"
    assert printable("a\nb\tc\x1b", multiline=True) == "a\nb\tc\\x1b"
    assert printable("caf\u00e9 \u00b5s") == "caf\u00e9 \u00b5s"
    assert printable("bad byte \udcff") == "bad byte \\xff"


def test_a_device_exception_message_is_shown_escaped(capsys):
    session = Session(LoopbackTransport(FakeDevice()), timeouts=FAST).open()
    with pytest.raises(RemoteError) as caught:
        session.get_global_func("test.fail")(HOSTILE)
    assert caught.value.remote_message == HOSTILE  # the raw text stays available
    shown = str(caught.value)
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown
    assert "clear\\x1b[2J\\x1b]0;pwned\\x07 done" in shown

    def fail(_arguments: object) -> int:
        raise caught.value

    assert dispatch(argparse.Namespace(handler=fail)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and err.startswith("error: ")


def test_device_log_lines_are_escaped():
    lines: list[str] = []
    device = FakeDevice(boot_log="boot \x1b[31mred\x07")
    Session(LoopbackTransport(device), timeouts=FAST, on_log=lines.append).open()
    assert lines == ["boot \\x1b[31mred\\x07"]


def test_the_host_runners_messages_are_escaped():
    script = "import sys; sys.stderr.write('error: \\x1b[2Jmodel\\x07 failed\\n'); sys.exit(3)"
    with pytest.raises(Exception) as caught:
        _execute([sys.executable, "-c", script], timeout_s=60)
    assert "error: \\x1b[2Jmodel\\x07 failed" in str(caught.value)
    assert "\x1b" not in str(caught.value)


def test_a_board_process_stderr_is_escaped_when_it_dies():
    script = "import sys; sys.stderr.write('panic \\x1b[2J\\x07\\n'); sys.exit(5)"
    link = SubprocessTransport([sys.executable, "-c", script])
    with pytest.raises(TransportClosed) as caught, link:
        link.read(1, 5.0)
    assert "panic \\x1b[2J\\x07" in str(caught.value) and "\x1b" not in str(caught.value)


def test_console_output_is_streamed_escaped():
    target = io.StringIO()
    stream = EscapedStream(target)
    stream.write("out: 0.93\n\x1b[2J\x07next\n")
    stream.flush()
    assert target.getvalue() == "out: 0.93\n\\x1b[2J\\x07next\n"


def test_a_standalone_boards_console_is_shown_escaped(tmp_path):
    # `west utvm flash` of an aot_inference build runs the board in the foreground.
    board = tmp_path / "zephyr.exe"
    board.write_text("#!/bin/sh\nprintf 'top class 3\\n\\033[2J\\007gone\\n'\n")
    board.chmod(0o755)
    build = SimpleNamespace(board="native_sim", exe_path=board)
    target = NativeSimTarget(build, west=SimpleNamespace(cwd=tmp_path, env=None))
    out = io.StringIO()
    assert target._run_in_foreground(out) == "native_sim exited with status 0"
    assert out.getvalue().endswith("top class 3\n\\x1b[2J\\x07gone\n")
