"""Fixtures of the Project API tests: servers started like TVM starts them, a model tar."""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from apiclient import REPO_ROOT, TEMPLATE_DIR, ApiClient, all_options

BUNDLED_MODEL = REPO_ROOT / "samples" / "models" / "tiny_conv_f32"


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a TVM process: no PYTHONPATH to our package (the server script
    must find it by itself) and no ZEPHYR_BASE unless a test gives one."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "ZEPHYR_BASE", "UTVM_ROOT")}
    env.update(extra)
    return env


@pytest.fixture
def template_server(tmp_path: Path) -> Iterator[ApiClient]:
    with ApiClient(TEMPLATE_DIR, env=server_env(), log_path=tmp_path / "server.log") as client:
        yield client


@pytest.fixture(scope="session")
def model_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled host-driven model (AOT, packed) as TVM exports it: a plain tar."""
    path = tmp_path_factory.mktemp("mlf") / "model.tar"
    with tarfile.open(path, "w") as tar:
        tar.add(BUNDLED_MODEL, arcname=".", filter=lambda i: None
                if i.name.startswith("./test_data") else i)
    return path


def generate(client: ApiClient, mlf: Path, project: Path, **options: object) -> None:
    client.call("generate_project", model_library_format_path=str(mlf),
                standalone_crt_dir=str(project.parent / "standalone_crt"),
                project_dir=str(project), options=all_options(client, **options))
