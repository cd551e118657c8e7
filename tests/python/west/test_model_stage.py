"""Staging an MLF into the build folder touches only what changed, and says whether CMake
must configure again."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from westsupport import BUNDLED_MODEL

from utvm.board.model_stage import stage_model
from utvm.mlf import open_mlf


def copy_model(tmp_path: Path, name: str = "model") -> Path:
    copy = tmp_path / name
    shutil.copytree(BUNDLED_MODEL, copy)
    return copy


def stage(source: Path, folder: Path):
    with open_mlf(source) as mlf:
        return stage_model(mlf, folder)


def test_first_stage_adds_the_model_files_but_not_tvms_runtime(tmp_path: Path) -> None:
    source = copy_model(tmp_path)
    (source / "runtime").mkdir()
    (source / "runtime" / "crt.c").write_text("/* TVM's own runtime */")
    (source / "test_data").mkdir()
    (source / "test_data" / "input_0.npy").write_bytes(b"not part of an MLF")
    report = stage(source, tmp_path / "staged")
    assert "metadata.json" in report.added
    assert "codegen/host/src/default_lib0.c" in report.added
    assert report.needs_configure and not report.unchanged
    assert not (tmp_path / "staged" / "runtime").exists()
    assert not (tmp_path / "staged" / "test_data").exists()  # not part of an MLF


def test_same_model_again_changes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "staged"
    stage(BUNDLED_MODEL, folder)
    lib = folder / "codegen" / "host" / "src" / "default_lib2.c"
    os.utime(lib, (1_000_000, 1_000_000))
    report = stage(BUNDLED_MODEL, folder)
    assert report.unchanged and not report.needs_configure
    assert report.describe() == "model unchanged"
    assert lib.stat().st_mtime == 1_000_000  # untouched: ninja will not recompile it


def test_changed_source_file_is_copied_without_reconfigure(tmp_path: Path) -> None:
    folder = tmp_path / "staged"
    stage(BUNDLED_MODEL, folder)
    source = copy_model(tmp_path)
    with open(source / "codegen" / "host" / "src" / "default_lib2.c", "a") as handle:
        handle.write("/* retuned */\n")
    report = stage(source, folder)
    assert report.changed == ["codegen/host/src/default_lib2.c"]
    assert not report.added and not report.removed
    assert not report.needs_configure
    assert (folder / "codegen/host/src/default_lib2.c").read_text().endswith("/* retuned */\n")


def test_metadata_change_needs_configure(tmp_path: Path) -> None:
    folder = tmp_path / "staged"
    stage(BUNDLED_MODEL, folder)
    source = copy_model(tmp_path)
    metadata = source / "metadata.json"
    metadata.write_text(metadata.read_text().replace("2024", "2025", 1) + "\n")
    report = stage(source, folder)
    assert "metadata.json" in report.changed and report.needs_configure


def test_removed_and_added_files_need_configure(tmp_path: Path) -> None:
    folder = tmp_path / "staged"
    stage(BUNDLED_MODEL, folder)
    source = copy_model(tmp_path)
    (source / "codegen" / "host" / "src" / "default_lib2.c").rename(
        source / "codegen" / "host" / "src" / "default_lib3.c")
    report = stage(source, folder)
    assert report.removed == ["codegen/host/src/default_lib2.c"]
    assert report.added == ["codegen/host/src/default_lib3.c"]
    assert report.needs_configure
    assert not (folder / "codegen/host/src/default_lib2.c").exists()
    assert "new: codegen/host/src/default_lib3.c" in report.describe()


def test_staging_from_an_archive(tmp_path: Path, kit) -> None:
    archive = kit.tar_of_folder(BUNDLED_MODEL, tmp_path / "model.tar")
    report = stage(archive, tmp_path / "staged")
    assert (tmp_path / "staged" / "metadata.json").read_bytes() == \
        (BUNDLED_MODEL / "metadata.json").read_bytes()
    assert report.needs_configure


def test_staged_model_leaves_out_tvms_second_copy_of_the_constants(
        tmp_path: Path, tvm_fixtures: Path) -> None:
    """kws aot_packed: the constants (53,296 B) were in the image twice, once as the pool the
    code reads and once serialized in kTvmgenMetadata_constant_pools' data_bytes."""
    import numpy as np

    from utvm.host import run_on_host

    fixture = tvm_fixtures / "kws_ref_model" / "aot_packed"
    folder = tmp_path / "staged"
    report = stage(fixture, folder)
    metadata_c = "codegen/host/src/default_lib1.c"
    original = (fixture / metadata_c).read_text()
    staged = (folder / metadata_c).read_text()
    assert len(original) - len(staged) > 4 * 53296 * 0.9  # four characters per byte ("\xNN")
    assert staged.count("0 /* data_bytes: left out by utvm") == original.count("name_hint")
    assert "global_const_workspace" in (folder / "codegen/host/src/default_lib0.c").read_text()
    # Staging again finds nothing changed (the comparison is with the staged form).
    assert stage(fixture, folder).unchanged and report.added
    # The staged model still computes TVM's result, bit for bit.
    inputs = [np.load(fixture / "input_0.npy")]
    result = run_on_host(folder, inputs)
    assert result.outputs[0].tobytes() == np.load(fixture / "tvm_crt_output_0.npy").tobytes()
