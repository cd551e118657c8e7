"""Fixtures of the board-handling tests; the helpers live in westsupport.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from westsupport import BUNDLED_MODEL, write_fake_tvm


@pytest.fixture
def fake_tvm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Makes a fake TVM, points TVM_HOME at it; the fake compiles to ``mlf``."""

    def make(mlf: Path = BUNDLED_MODEL, **options: object) -> Path:
        root = write_fake_tvm(tmp_path / "tvm", **options)  # type: ignore[arg-type]
        monkeypatch.setenv("TVM_HOME", str(root))
        monkeypatch.setenv("FAKE_TVM_MLF", str(mlf))
        monkeypatch.setenv("FAKE_TVM_LOG", str(tmp_path / "tvm-calls.jsonl"))
        return root

    return make
