"""Build and run models on this computer: the host runner and the host board."""

from utvm.host.build import build_host_board, build_host_runner, host_runner_source_dir
from utvm.host.cmake_tool import find_cmake
from utvm.host.runner import HostResult, encode_inputs, run_on_host, zero_inputs

__all__ = [
    "HostResult",
    "build_host_board",
    "build_host_runner",
    "encode_inputs",
    "find_cmake",
    "host_runner_source_dir",
    "run_on_host",
    "zero_inputs",
]
