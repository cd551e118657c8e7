"""Which AutoTVM projects load their candidate into a shared running firmware
(python/utvm/project_api/trial_firmware.py), where that firmware lives, and who owns it.
No Zephyr needed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from utvm.errors import UtvmError
from utvm.project_api import options, trial_firmware


def test_operators_on_a_board_that_loads_code_are_loaded_by_default() -> None:
    assert trial_firmware.wanted("mps2/an385", operators=True, option=None)
    assert trial_firmware.wanted("mps2/an385", operators=True, option=True)


@pytest.mark.parametrize("board, operators, option", [
    ("native_sim", True, None),  # no LLEXT: build and flash every trial
    ("native_sim/native/64", True, None),
    ("mps2/an385", False, None),  # a full model is built into its firmware
    ("mps2/an385", True, False),  # asked for the baseline
])
def test_elsewhere_every_trial_is_built_and_flashed(board: str, operators: bool,
                                                    option: bool | None) -> None:
    assert not trial_firmware.wanted(board, operators, option)


def test_asking_for_it_where_it_cannot_be_is_an_error() -> None:
    with pytest.raises(UtvmError, match=r"reuse_firmware=true: native_sim has no LLEXT"):
        trial_firmware.wanted("native_sim", operators=True, option=True)
    with pytest.raises(UtvmError, match=r"reuse_firmware=true: it applies to AutoTVM"):
        trial_firmware.wanted("mps2/an385", operators=False, option=True)


def test_the_option_arrives_as_tvm_and_tvmc_send_it() -> None:
    assert options.parse_options("build", {"reuse_firmware": None})["reuse_firmware"] is None
    assert options.parse_options("build", {"reuse_firmware": "false"})["reuse_firmware"] is False
    assert options.parse_options("flash", {"reuse_firmware": True})["reuse_firmware"] is True
    with pytest.raises(UtvmError, match="reuse_firmware='maybe' is not a boolean"):
        options.parse_options("build", {"reuse_firmware": "maybe"})


def test_one_firmware_folder_per_board_and_settings(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setenv(trial_firmware.CACHE_ENV, str(tmp_path))
    module, zephyr = Path("/m"), Path("/z")
    first = trial_firmware.firmware_dir("mps2/an385", module, zephyr, 262144)
    assert first.parent == tmp_path and first.name.startswith("mps2_an385-")
    assert trial_firmware.firmware_dir("mps2/an385", module, zephyr, 262144) == first
    others = {trial_firmware.firmware_dir("mps2/an386", module, zephyr, 262144),
              trial_firmware.firmware_dir("mps2/an385", module, zephyr, 524288),
              trial_firmware.firmware_dir("mps2/an385", Path("/other"), zephyr, 262144)}
    assert first not in others and len(others) == 3


def test_the_arena_is_at_least_the_loadable_firmwares() -> None:
    assert trial_firmware.project_arena("CONFIG_UTVM_ARENA_SIZE=8192\n") == 262144
    assert trial_firmware.project_arena("# x\nCONFIG_UTVM_ARENA_SIZE=1048576\n") == 1048576


def test_the_board_belongs_to_the_process_that_started_the_servers_parent() -> None:
    """As under TVM's LocalRunner: its RPC server (here: this test) starts a per-trial
    process (here: a shell), which starts the Project API server (here: python)."""
    server = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(trial_firmware.__file__).parents[2])!r})
        from utvm.project_api.trial_firmware import tuning_owner
        print(tuning_owner())
    """)
    trial = subprocess.run(["sh", "-c", f'"{sys.executable}" -c "$SERVER"; true'],
                           env=dict(os.environ, SERVER=server), capture_output=True, text=True,
                           check=True)
    assert int(trial.stdout.strip()) == os.getpid()


def test_an_operators_arena_holds_its_buffers_twice_and_a_packed_copy() -> None:
    """AutoTVM's conv2d candidates that pack data ran out of memory at 2x + 8 KiB."""
    from utvm.project_api.generate import _project_conf

    conf = _project_conf(None, 65536, {"board": "mps2/an385"})
    assert "CONFIG_UTVM_ARENA_SIZE=278528" in conf.splitlines()  # 4 x 64 KiB + 16 KiB
