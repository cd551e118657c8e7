"""Fixtures of the Project API tests: servers started like TVM starts them, a model tar."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from apiclient import BUNDLED_MODEL, TEMPLATE_DIR, ApiClient, server_env


@pytest.fixture
def template_server(tmp_path: Path) -> Iterator[ApiClient]:
    with ApiClient(TEMPLATE_DIR, env=server_env(), log_path=tmp_path / "server.log") as client:
        yield client


@pytest.fixture(scope="session")
def model_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled host-driven model (AOT, packed) as TVM exports it: a plain tar."""
    path = tmp_path_factory.mktemp("mlf") / "model.tar"
    with tarfile.open(path, "w") as tar:
        tar.add(BUNDLED_MODEL, arcname=".")
    return path
