"""RPC over TCP (`west utvm build --link tcp`) on this computer's side: the QEMU command's
port forward, the free port chosen when the board starts and kept in its record, the link
that waits for a booting board, and the messages when something is missing. A fake QEMU
stands in for the board: it listens on the port it is told to forward."""

from __future__ import annotations

import io
import socket
import threading
import time
from pathlib import Path

import pytest
from westsupport import python_script, write_zephyr_build

from utvm.board.build_dir import read_build
from utvm.board.network import (
    check_ethernet,
    ethernet_drivers,
    forward_busy,
    forwarded_command,
    free_local_port,
    guest_port,
)
from utvm.board.qemu_machine import QEMU_ICOUNT_FLAGS, QEMU_PTY_FLAGS
from utvm.board.simulator import RunningSimulator
from utvm.board.state import SIMULATOR_RECORD, read_record
from utvm.board.targets import FlashOptions, HardwareTarget, LinkOptions, QemuTarget, target_for
from utvm.errors import UtvmError
from utvm.transport import TcpTransport, TransportClosed

HOSTFWD = "user,model=lan9118,hostfwd=tcp:127.0.0.1:4242-:4242"

# A QEMU that serves the forwarded port: it takes the port from its -nic option, reports a
# pseudo-terminal for serial1 as QEMU does, then closes the first FAKE_CLOSE connections at
# once (QEMU's user networking before the board listens) and greets the later ones.
# With a file named in FAKE_BUSY that does not exist yet, it creates it and fails as QEMU does
# when the port was taken.
FAKE_QEMU = """
import os, pty, re, socket, sys
arguments = " ".join(sys.argv[1:])
port = int(re.search(r"hostfwd=tcp:127.0.0.1:(\\d+)-:(\\d+)", arguments).group(1))
busy = os.environ.get("FAKE_BUSY")
if busy and not os.path.exists(busy):
    open(busy, "w").close()
    print(f"qemu-system-arm: -nic user,hostfwd=tcp:127.0.0.1:{port}-:4242: Could not set up "
          "host forwarding rule 'tcp:127.0.0.1:{port}-:4242'", flush=True)
    sys.exit(1)
server = socket.create_server(("127.0.0.1", port))
controller, device = pty.openpty()
print(f"char device redirected to {os.ttyname(device)} (label serial1)", flush=True)
closes = int(os.environ.get("FAKE_CLOSE", "0"))
while True:
    connection, _ = server.accept()
    if closes > 0:
        closes -= 1
        connection.close()
        continue
    connection.sendall(b"board")
"""


def qemu_build(tmp_path: Path, command: str | None = None) -> Path:
    """A configured mps2/an385 --link tcp build whose QEMU command is the fake's."""
    folder = write_zephyr_build(tmp_path / "b", board="mps2/an385",
                                kconfig={"CONFIG_QEMU_TARGET": "y", "CONFIG_UTVM_RPC_TCP": "y",
                                         "CONFIG_UTVM_RPC_TCP_PORT": "4242"},
                                cache={"QEMU_EXTRA_FLAGS:STRING":
                                       f"{QEMU_PTY_FLAGS};{QEMU_ICOUNT_FLAGS}"})
    if command is None:
        fake = python_script(tmp_path / "bin" / "qemu-system-arm", FAKE_QEMU)
        command = f"{fake} -machine mps2-an385 -nic {HOSTFWD} -serial pty"
    (folder / "build.ninja").write_text(
        f"build run_qemu: CUSTOM_COMMAND\n  COMMAND = cd {folder} && {command}\n")
    return folder


def test_the_forward_rule_gets_the_port_chosen_now() -> None:
    command = ["qemu-system-arm", "-nic", HOSTFWD, "-kernel", "zephyr.elf"]
    assert forwarded_command(command, 50123) == [
        "qemu-system-arm", "-nic", "user,model=lan9118,hostfwd=tcp:127.0.0.1:50123-:4242",
        "-kernel", "zephyr.elf"]
    with pytest.raises(UtvmError, match=r"forwards no port .* `west utvm build --link tcp`"):
        forwarded_command(["qemu-system-arm", "-net", "none"], 50123)
    assert forward_busy("qemu-system-arm: Could not set up host forwarding rule 'tcp:...'")
    assert not forward_busy("char device redirected to /dev/pts/3 (label serial1)")


def test_a_free_port_can_be_listened_on() -> None:
    port = free_local_port()
    with socket.create_server(("127.0.0.1", port)):
        pass


def test_ethernet_drivers_are_the_ones_tied_to_a_devicetree_node(tmp_path: Path) -> None:
    folder = tmp_path / "zephyr-base" / "drivers" / "ethernet"
    (folder / "phy").mkdir(parents=True)
    (folder / "Kconfig").write_text("menuconfig ETH_DRIVER\n\tbool \"Ethernet drivers\"\n")
    (folder / "Kconfig.smsc911x").write_text(
        "menuconfig ETH_SMSC911X\n\tbool \"SMSC911x\"\n\tdefault y\n"
        "\tdepends on DT_HAS_SMSC_LAN9220_ENABLED\n"
        "config ETH_NIC_MODEL\n\tstring\n\tdefault \"lan9118\"\n")
    (folder / "phy" / "Kconfig").write_text(
        "config ETH_PHY_X\n\tbool \"a PHY\"\n\tdepends on DT_HAS_X_PHY_ENABLED\n")
    assert ethernet_drivers(tmp_path / "zephyr-base") == {"CONFIG_ETH_SMSC911X",
                                                          "CONFIG_ETH_PHY_X"}
    with_driver = write_zephyr_build(tmp_path, board="mps2/an385",
                                     kconfig={"CONFIG_ETH_SMSC911X": "y", "CONFIG_ETH_DRIVER": "y"})
    check_ethernet(read_build(with_driver))
    without = write_zephyr_build(tmp_path, board="qemu_cortex_m0",
                                 kconfig={"CONFIG_ETH_DRIVER": "y"})
    with pytest.raises(UtvmError, match="qemu_cortex_m0 has no Ethernet controller"):
        check_ethernet(read_build(without))


def test_flash_forwards_a_free_port_and_run_finds_it(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator record keeps the port; the link connects to it, through connections the
    forwarder closes at once while the board boots."""
    monkeypatch.setenv("FAKE_CLOSE", "3")
    target = target_for(read_build(qemu_build(tmp_path)))
    assert isinstance(target, QemuTarget)
    out = io.StringIO()
    try:
        message = target.flash(FlashOptions(skip_rebuild=True), out)
        record = read_record(target.build.state_dir, SIMULATOR_RECORD)
        assert record is not None and record["tcp_port"] > 0
        port = record["tcp_port"]
        assert f"its RPC is on tcp:127.0.0.1:{port}" in message
        assert "forwarded to the board's RPC port 4242" in out.getvalue()
        with target.link(LinkOptions(), out) as link:
            assert isinstance(link, TcpTransport) and link.port == port
            assert link.read(5, 5.0) == b"board"
        assert f"(pid {record['pid']}, tcp:127.0.0.1:{port})" in out.getvalue()
    finally:
        target.stop()


def test_a_port_taken_before_qemu_binds_it_is_replaced(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_BUSY", str(tmp_path / "busy-once"))
    target = target_for(read_build(qemu_build(tmp_path)))
    try:
        target.flash(FlashOptions(skip_rebuild=True), io.StringIO())
        simulator = target.running()
        assert simulator is not None and simulator.tcp_port > 0
        assert (tmp_path / "busy-once").exists()  # the first QEMU failed
    finally:
        target.stop()


def test_a_build_without_a_forward_rule_says_to_build_again(tmp_path: Path) -> None:
    target = target_for(read_build(qemu_build(tmp_path, command="/usr/bin/qemu-system-arm "
                                              "-machine mps2-an385 -net none -serial pty")))
    with pytest.raises(UtvmError, match="build it again with `west utvm build --link tcp`"):
        target.flash(FlashOptions(skip_rebuild=True), io.StringIO())


def test_the_link_waits_for_a_booting_board_then_says_what_failed() -> None:
    """Refused for the whole wait: one line saying how long it tried."""
    port = free_local_port()
    link = TcpTransport("127.0.0.1", port, boot_wait=0.5)
    start = time.monotonic()
    with pytest.raises(TransportClosed, match=rf"cannot connect to tcp://127.0.0.1:{port} after "
                       r"\d+ attempts in 0.5 s"):
        link.open()
    assert time.monotonic() - start >= 0.4

    # A listener that appears while it waits is found.
    late = threading.Timer(0.4, lambda: served.append(socket.create_server(("127.0.0.1", port))))
    served: list[socket.socket] = []
    late.start()
    try:
        with TcpTransport("127.0.0.1", port, boot_wait=5.0) as link:
            assert link.is_open
    finally:
        late.join()
        for server in served:
            server.close()


def test_a_hardware_board_over_tcp_needs_its_address(tmp_path: Path) -> None:
    folder = write_zephyr_build(tmp_path / "f746", board="nucleo_f746zg",
                                kconfig={"CONFIG_UTVM_RPC_TCP": "y",
                                         "CONFIG_UTVM_RPC_TCP_PORT": "5000"})
    build = read_build(folder)
    assert guest_port(build) == 5000
    target = HardwareTarget(build)
    with pytest.raises(UtvmError, match="give the board's address with --port "
                       "tcp:ADDRESS:5000"), target.link(LinkOptions(), io.StringIO()):
        pass


def test_simulator_record_keeps_the_forwarded_port() -> None:
    simulator = RunningSimulator("qemu", 1, "/dev/pts/1", "log", (2,), 50123)
    assert RunningSimulator.from_record(simulator.to_record()) == simulator
    old = {k: v for k, v in simulator.to_record().items() if k != "tcp_port"}
    assert RunningSimulator.from_record(old) == RunningSimulator("qemu", 1, "/dev/pts/1", "log",
                                                                 (2,))


def test_a_board_utvm_runs_in_qemu_itself_gets_user_networking(tmp_path: Path) -> None:
    """mps2/an386 (started by utvm, not by Zephyr's run target): the Ethernet controller on
    QEMU's user networking with the port forward, instead of no network at all."""
    from utvm.board.targets import EmulatedBoardTarget

    folder = write_zephyr_build(tmp_path / "an386", board="mps2/an386",
                                kconfig={"CONFIG_ARM": "y", "CONFIG_UTVM_RPC_TCP": "y",
                                         "CONFIG_ETH_NIC_MODEL": '"lan9118"'})
    target = EmulatedBoardTarget(read_build(folder), "qemu-system-arm", "mps2-an386")
    command = target._command(50123)
    assert command[command.index("-nic") + 1] == \
        "user,model=lan9118,hostfwd=tcp:127.0.0.1:50123-:4242"
    assert "-net" not in command
    assert target._command()[target._command().index("-net") + 1] == "none"
