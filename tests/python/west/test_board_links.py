"""How a board's link is found: devicetree RPC UART, runners.yaml serial numbers, pyserial's
port list matched by serial number."""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from westsupport import write_zephyr_build

from utvm.board.build_dir import read_build
from utvm.board.devicetree import rpc_uart
from utvm.board.qemu_machine import QEMU_ICOUNT_FLAGS, QEMU_PTY_FLAGS
from utvm.board.runners import read_runners, serial_number_in
from utvm.board.serial_ports import find_port
from utvm.board.state import FLASH_RECORD, write_record
from utvm.board.targets import (
    EmulatedBoardTarget,
    HardwareTarget,
    LinkOptions,
    NativeSimTarget,
    QemuTarget,
    qemu_serial_index,
    target_for,
)
from utvm.errors import UtvmError

DTS = """/dts-v1/;
/ {
	chosen {
		zephyr,console = &uart0;
		zephyr,utvm-uart = &uart1;
	};
	soc {
		uart0: uart@4000c000 { status = "okay"; };
		serial_one: uart1: uart_1 { status = "okay"; };
	};
};
"""


def test_rpc_uart_is_the_chosen_utvm_uart(tmp_path: Path) -> None:
    dts = tmp_path / "zephyr.dts"
    dts.write_text(DTS)
    uart = rpc_uart(dts)
    assert uart is not None
    assert (uart.label, uart.node_name, uart.is_console) == ("uart1", "uart_1", False)


def test_rpc_uart_defaults_to_the_console(tmp_path: Path) -> None:
    dts = tmp_path / "zephyr.dts"
    dts.write_text(DTS.replace("\t\tzephyr,utvm-uart = &uart1;\n", ""))
    uart = rpc_uart(dts)
    assert uart is not None
    assert (uart.label, uart.node_name, uart.is_console) == ("uart0", "uart", True)
    assert rpc_uart(tmp_path / "missing.dts") is None


RUNNERS_YAML = """\
runners:
- jlink
- pyocd
flash-runner: jlink
args:
  jlink:
    - --dt-flash=y
    - --device=STM32F746ZG
    - --dev-id=000683123456
  pyocd:
    - --target=stm32f746zg
    - --board-id
    - '0670FF5'
"""


def test_runners_yaml_serial_numbers(tmp_path: Path) -> None:
    (tmp_path / "runners.yaml").write_text(RUNNERS_YAML)
    runners = read_runners(tmp_path)
    assert runners is not None and runners.flash_runner == "jlink"
    assert runners.runners == ["jlink", "pyocd"]
    assert runners.serial_number() == "000683123456"
    assert runners.serial_number("pyocd") == "0670FF5"
    assert serial_number_in(["--speed=4000"]) is None
    assert read_runners(tmp_path / "none") is None


@dataclass
class FakePort:
    device: str
    serial_number: str | None = None
    vid: int | None = 0x1366
    description: str = "n/a"
    location: str | None = None


def ports(*entries: FakePort):
    return lambda: list(entries)


def test_port_found_by_serial_number_ignoring_zeros_and_case() -> None:
    lister = ports(FakePort("/dev/ttyACM0", "ABC"), FakePort("/dev/ttyACM1", "000683123456"))
    choice = find_port("683123456", lister)
    assert choice.device == "/dev/ttyACM1" and "683123456" in choice.reason
    assert find_port("abc", lister).device == "/dev/ttyACM0"


def test_serial_number_with_two_ports_uses_the_first_and_says_so() -> None:
    lister = ports(FakePort("/dev/ttyACM3", "X1", location="1-1:1.2"),
                   FakePort("/dev/ttyACM2", "X1", location="1-1:1.0"))
    choice = find_port("X1", lister)
    assert choice.device == "/dev/ttyACM2" and "--port" in choice.reason


def test_unknown_serial_number_lists_the_ports() -> None:
    lister = ports(FakePort("/dev/ttyACM0", "ABC", description="J-Link"))
    with pytest.raises(UtvmError, match=r"(?s)serial number 999 .*plugged in.*"
                                        r"/dev/ttyACM0, serial number ABC, J-Link"):
        find_port("999", lister)


def test_without_serial_number_the_only_usb_port_is_used() -> None:
    lister = ports(FakePort("/dev/ttyS0", vid=None), FakePort("/dev/ttyUSB0", "FT1"))
    assert find_port(None, lister).device == "/dev/ttyUSB0"


def test_no_usb_port_and_several_usb_ports_are_errors() -> None:
    with pytest.raises(UtvmError, match="no USB serial port found"):
        find_port(None, ports(FakePort("/dev/ttyS0", vid=None)))
    with pytest.raises(UtvmError, match=r"several USB serial ports.*--port"):
        find_port(None, ports(FakePort("/dev/ttyACM0", "A"), FakePort("/dev/ttyACM1", "B")))


def hardware_build(tmp_path: Path) -> HardwareTarget:
    folder = write_zephyr_build(tmp_path / "b", board="nucleo_f746zg")
    (folder / "zephyr" / "runners.yaml").write_text(RUNNERS_YAML)
    target = target_for(read_build(folder))
    assert isinstance(target, HardwareTarget)
    return target


def test_dev_id_precedence(tmp_path: Path) -> None:
    target = hardware_build(tmp_path)
    assert target.dev_id(LinkOptions()) == (
        "000683123456", "the jlink runner's arguments in runners.yaml")
    write_record(target.build.state_dir, FLASH_RECORD, {"runner": "pyocd", "dev_id": None})
    assert target.dev_id(LinkOptions())[0] == "0670FF5"  # the runner flash used
    write_record(target.build.state_dir, FLASH_RECORD, {"runner": "jlink", "dev_id": "777"})
    assert target.dev_id(LinkOptions()) == ("777", "the --dev-id of `west utvm flash`")
    assert target.dev_id(LinkOptions(dev_id="42")) == ("42", "--dev-id")


def test_hardware_link_opens_the_matched_port(tmp_path: Path) -> None:
    target = hardware_build(tmp_path)
    lister = ports(FakePort("/dev/utvm-test-no-such-port", "000683123456"))
    with pytest.raises(UtvmError, match="utvm-test-no-such-port"), \
            target.link(LinkOptions(lister=lister), io.StringIO()):
        pass


def test_board_kinds(tmp_path: Path) -> None:
    native = write_zephyr_build(tmp_path / "n", kconfig={"CONFIG_ARCH_POSIX": "y"})
    qemu = write_zephyr_build(tmp_path / "q", board="qemu_x86",
                              kconfig={"CONFIG_QEMU_TARGET": "y"})
    assert isinstance(target_for(read_build(native)), NativeSimTarget)
    assert isinstance(target_for(read_build(qemu)), QemuTarget)


def test_qemu_time_says_it_counts_instructions(tmp_path: Path) -> None:
    """mps2/an385's own -icount shift=7 makes 128 ns of board time per instruction (an
    inference of 30.3 M instructions 'took' 3.877 s in 0.3 s of wall time); `west utvm build`
    adds shift=0, after the board's, so board time in ns is the instruction count."""
    def qemu(name: str, flags: str, kconfig: dict[str, str]) -> QemuTarget:
        folder = write_zephyr_build(tmp_path / name, board="mps2/an385",
                                    kconfig={"CONFIG_QEMU_TARGET": "y", **kconfig},
                                    cache={"QEMU_EXTRA_FLAGS:STRING": flags})
        target = target_for(read_build(folder))
        assert isinstance(target, QemuTarget)
        return target

    icount_7 = {"CONFIG_QEMU_ICOUNT": "y", "CONFIG_QEMU_ICOUNT_SHIFT": "7"}
    ours = qemu("ours", f"{QEMU_PTY_FLAGS};{QEMU_ICOUNT_FLAGS}", icount_7)
    assert ours.icount_shift() == 0
    assert "30,292,945 instructions per inference" in ours.time_note(0.030292945)
    boards_own = qemu("own", "-serial;pty", icount_7)
    assert boards_own.icount_shift() == 7
    assert "30,292,945 instructions" in boards_own.time_note(3.877497)
    assert "128 ns of board time per instruction" in boards_own.time_note(3.877497)
    real_time = qemu("real", "-serial;pty", {})
    assert real_time.icount_shift() is None
    assert "follows this computer's" in real_time.time_note(1.0)


def test_qemu_time_on_a_machine_running_another_cpu_is_not_an_instruction_count(
        tmp_path: Path) -> None:
    """mps2/an521/cpu1: QEMU runs an image on CPU0 too, and its clock counts both CPUs'
    instructions: the note does not call the time this CPU's instruction count."""
    folder = write_zephyr_build(tmp_path / "cpu1", board="mps2/an521/cpu1",
                                kconfig={"CONFIG_QEMU_TARGET": "y", "CONFIG_QEMU_ICOUNT": "y",
                                         "CONFIG_QEMU_ICOUNT_SHIFT": "7"},
                                cache={"QEMU_EXTRA_FLAGS:STRING": QEMU_PTY_FLAGS})
    (folder / "build.ninja").write_text(
        f"  COMMAND = cd {folder} && /usr/bin/qemu-system-arm -cpu cortex-m33 -machine "
        f"mps2-an521 -device loader,file={folder}/zephyr/zephyr.elf "
        f"-device loader,file={folder}/cpu0/zephyr.elf\n")
    target = target_for(read_build(folder))
    assert isinstance(target, QemuTarget)
    note = target.time_note(1.0)
    assert "QEMU runs 2 images, one per core" in note
    assert "neither this CPU's instructions nor a real board's time" in note
    assert "instructions per inference" not in note


def test_qemu_serial_port_of_a_uart() -> None:
    assert qemu_serial_index("uart1") == 1
    assert qemu_serial_index("uart_2") == 2
    assert qemu_serial_index("serial_one") is None


def test_board_only_qemu_can_run_is_run_in_qemu(tmp_path: Path) -> None:
    """mps2/an386: Zephyr has no flash runner for it and runs it only in Arm's FVP; QEMU
    emulates mps2-an386, so utvm starts QEMU itself, counting instructions."""
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm not found: cannot check which machines it emulates")

    def build(name: str, board: str, runners: str | None) -> Path:
        folder = write_zephyr_build(tmp_path / name, board=board, kconfig={"CONFIG_ARM": "y"})
        if runners is not None:
            (folder / "zephyr" / "runners.yaml").write_text(runners)
        return folder

    an386 = target_for(read_build(build("an386", "mps2/an386", None)))  # Zephyr writes none
    assert isinstance(an386, EmulatedBoardTarget) and an386.machine == "mps2-an386"
    command = an386._command()
    assert command[command.index("-icount") + 1].startswith("shift=0,")
    assert command[-1] == str(tmp_path / "an386" / "zephyr" / "zephyr.elf")
    debug_only = target_for(read_build(build("debug", "mps2/an386", "debug-runner: qemu\n")))
    assert isinstance(debug_only, EmulatedBoardTarget)
    flashable = build("nucleo", "mps2/an386", "flash-runner: openocd\nrunners: [openocd]\n")
    assert isinstance(target_for(read_build(flashable)), HardwareTarget)
    unknown = build("other", "nucleo_f746zg", "debug-runner: qemu\n")
    assert isinstance(target_for(read_build(unknown)), HardwareTarget)
