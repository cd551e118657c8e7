"""Shared helpers for the utvm Python package tests.

Real TVM 0.18 output is read from ``../shared/fixtures`` next to the repository; tests
that need it skip with a reason when it is absent. Everything else builds small
synthetic MLFs and archives in ``tmp_path``.
"""

from __future__ import annotations

import io
import json
import struct
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlfsupport import write_files as write_tree

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"
TVM_FIXTURES = SHARED_FIXTURES / "tvm-0.18"
FIXTURES_MISSING = (
    f"TVM 0.18 fixtures not found at ../shared/fixtures/tvm-0.18 (relative to the repo "
    f"root, i.e. {TVM_FIXTURES}); they are only present in the project workspace."
)

PARAMS_MAGIC = 0xF7E58D4F05049CB7
NDARRAY_MAGIC = 0xDD5E40F096B4A13F


CMSIS_NN_FIXTURES = SHARED_FIXTURES / "tvm-0.18-cmsis-nn"


def fixture_variant_dirs() -> list[Path]:
    """Every ``<model>/<variant>`` folder of ``tvm-0.18`` and ``tvm-0.18-cmsis-nn`` (models
    compiled with TVM's CMSIS-NN partitioning), or [] when the fixtures are absent."""
    if not TVM_FIXTURES.is_dir():
        return []
    return sorted(p for root in (TVM_FIXTURES, CMSIS_NN_FIXTURES)
                  for p in root.glob("*/*") if (p / "metadata.json").is_file())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``fixture_dir`` over every real TVM fixture (one skip when absent)."""
    if "fixture_dir" not in metafunc.fixturenames:
        return
    variants = fixture_variant_dirs()
    if variants:
        ids = [f"{p.parent.name}/{p.name}" for p in variants]
        assert len(set(ids)) == len(ids), "fixture variant names must differ across roots"
        metafunc.parametrize("fixture_dir", variants, ids=ids)
    else:
        metafunc.parametrize(
            "fixture_dir", [pytest.param(None, marks=pytest.mark.skip(reason=FIXTURES_MISSING))]
        )


@pytest.fixture
def tvm_fixtures() -> Path:
    """The ``tvm-0.18`` fixture folder; skips the test when it is absent."""
    if not TVM_FIXTURES.is_dir():
        pytest.skip(FIXTURES_MISSING)
    return TVM_FIXTURES


# ----------------------------------------------------------------------------------------
# Synthetic MLFs


def params_blob(arrays: dict[str, bytes] | None = None) -> bytes:
    """A TVM parameter blob (crt-abi.md §8.3) of int8 1-D arrays; empty dict by default."""
    arrays = arrays or {}
    blob = struct.pack("<QQQ", PARAMS_MAGIC, 0, len(arrays))
    for name in arrays:
        blob += struct.pack("<Q", len(name)) + name.encode()
    blob += struct.pack("<Q", len(arrays))
    for data in arrays.values():
        blob += struct.pack("<QQii", NDARRAY_MAGIC, 0, 1, 0)
        blob += struct.pack("<i", 1) + bytes([0, 8, 1, 0])
        blob += struct.pack("<qq", len(data), len(data)) + data
    return blob


def metadata_v7(
    inputs: dict[str, tuple[str, int]],
    outputs: dict[str, tuple[str, int]],
    executor: str = "aot",
    module: str = "default",
) -> dict[str, Any]:
    """A minimal version-7 metadata.json; tensors are name -> (dtype, size in bytes)."""
    entry: dict[str, Any] = {
        "executors": [executor],
        "export_datetime": "2024-01-31 12:34:56Z",
        "memory": {
            "functions": {
                "main": [
                    {
                        "constants_size_bytes": 16,
                        "device": 1,
                        "inputs": {n: {"dtype": d, "size": s} for n, (d, s) in inputs.items()},
                        "io_size_bytes": sum(s for _, s in [*inputs.values(), *outputs.values()]),
                        "outputs": {n: {"dtype": d, "size": s} for n, (d, s) in outputs.items()},
                        "workspace_size_bytes": 256,
                    }
                ],
                "operator_functions": [],
            }
        },
        "model_name": module,
        "style": "full-model",
        "target": ["c -keys=cpu -model=host"],
    }
    if executor == "aot":
        entry["external_dependencies"] = [
            {
                "short_name": "tvm_standalone_crt",
                "url": "./runtime",
                "url_type": "mlf_path",
                "version_spec": "0.18.0",
            }
        ]
    return {"modules": {module: entry}, "version": 7}


def interface_header(module: str, input_fields: list[str], output_fields: list[str]) -> str:
    def fields(names: list[str]) -> str:
        return "".join(f"  void* {name};\n" for name in names)

    return (
        f"#include <stdint.h>\nstruct tvmgen_{module}_inputs {{\n{fields(input_fields)}}};\n"
        f"struct tvmgen_{module}_outputs {{\n{fields(output_fields)}}};\n"
        f"int32_t tvmgen_{module}_run(struct tvmgen_{module}_inputs* inputs,\n"
        f"  struct tvmgen_{module}_outputs* outputs);\n"
    )


@pytest.fixture
def aot_c_mlf(tmp_path: Path) -> Path:
    """A synthetic AOT C-interface MLF folder: input int8[1,12] -> output int8[12]."""
    return write_tree(
        tmp_path / "aot_c_mlf",
        {
            "metadata.json": json.dumps(
                metadata_v7({"input_1": ("int8", 12)}, {"Identity": ("int8", 12)}), indent=2
            ),
            "codegen/host/include/tvmgen_default.h": interface_header(
                "default", ["input_1"], ["Identity"]
            ),
            "codegen/host/src/default_lib0.c": "int placeholder;\n",
            "parameters/default.params": params_blob(),
            "src/default.relay": "def @main(%input_1: Tensor[(1, 12), int8]) {\n  %input_1\n}\n",
        },
    )


TarMember = tuple[tarfile.TarInfo, bytes | None]


def file_member(name: str, data: bytes = b"x", mode: int = 0o644) -> TarMember:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def special_member(name: str, kind: bytes, linkname: str = "") -> TarMember:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


@pytest.fixture
def make_tar(tmp_path: Path) -> Callable[..., Path]:
    """Write a tar (``compression`` "" or "gz") from members; returns its path."""

    def build(name: str, members: list[TarMember], compression: str = "") -> Path:
        path = tmp_path / "archives" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(path, mode=f"w:{compression}") as tar:
            for info, data in members:
                tar.addfile(info, io.BytesIO(data) if data is not None else None)
        return path

    return build


def tar_of_folder(folder: Path, archive: Path, compression: str = "") -> Path:
    """Pack a folder the way TVM does: every member under ``./``."""
    with tarfile.open(archive, mode=f"w:{compression}") as tar:
        tar.add(folder, arcname=".")
    return archive


class SyntheticMlfKit:
    """The helpers above, handed to tests as a fixture (conftest modules are not imported)."""

    params_blob = staticmethod(params_blob)
    metadata_v7 = staticmethod(metadata_v7)
    interface_header = staticmethod(interface_header)
    write_tree = staticmethod(write_tree)
    file_member = staticmethod(file_member)
    special_member = staticmethod(special_member)
    tar_of_folder = staticmethod(tar_of_folder)


@pytest.fixture(scope="session")  # a class of pure helpers: module fixtures may use it too
def kit() -> type[SyntheticMlfKit]:
    return SyntheticMlfKit
