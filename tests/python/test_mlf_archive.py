"""utvm.mlf.archive: hostile and broken archives are refused, with nothing left behind."""

from __future__ import annotations

import gzip
import stat
import tarfile
import tempfile
from pathlib import Path

import pytest

from utvm.errors import UtvmError
from utvm.mlf import ExtractionLimits, extract_archive, open_mlf


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_extracts_a_tvm_style_tar(aot_c_mlf, kit, tmp_path):
    archive = kit.tar_of_folder(aot_c_mlf, tmp_path / "model.tar")
    destination = extract_archive(archive, tmp_path / "out")
    assert (destination / "metadata.json").read_bytes() == (
        aot_c_mlf / "metadata.json"
    ).read_bytes()
    header = destination / "codegen/host/include/tvmgen_default.h"
    assert header.is_file()
    assert stat.S_IMODE(header.stat().st_mode) == 0o644


def test_extracts_gzip_tar(aot_c_mlf, kit, tmp_path):
    archive = kit.tar_of_folder(aot_c_mlf, tmp_path / "model.tar.gz", compression="gz")
    destination = extract_archive(archive, tmp_path / "out")
    assert (destination / "parameters/default.params").is_file()


def test_never_copies_setuid_or_odd_modes(make_tar, kit, tmp_path):
    archive = make_tar("modes.tar", [kit.file_member("./tool", b"#!", mode=0o4777)])
    destination = extract_archive(archive, tmp_path / "out")
    assert stat.S_IMODE((destination / "tool").stat().st_mode) == 0o755


@pytest.mark.parametrize(
    ("member_name", "expected"),
    [
        ("/etc/evil", "absolute path"),
        ("../evil", "'..'"),
        ("./a/../../evil", "'..'"),
        ("C:/evil", "absolute path"),
    ],
)
def test_refuses_paths_escaping_the_destination(make_tar, kit, tmp_path, member_name, expected):
    archive = make_tar(
        "escape.tar", [kit.file_member("./metadata.json", b"{}"), kit.file_member(member_name)]
    )
    with pytest.raises(UtvmError, match=expected):
        extract_archive(archive, tmp_path / "out")
    assert leftovers(tmp_path, {"archives"}) == []


@pytest.mark.parametrize(
    ("kind", "linkname", "expected"),
    [
        (tarfile.SYMTYPE, "/etc/passwd", "symbolic link"),
        (tarfile.LNKTYPE, "metadata.json", "hard link"),
        (tarfile.CHRTYPE, "", "device file"),
        (tarfile.BLKTYPE, "", "device file"),
        (tarfile.FIFOTYPE, "", "FIFO"),
    ],
)
def test_refuses_links_and_special_files(make_tar, kit, tmp_path, kind, linkname, expected):
    archive = make_tar(
        "special.tar",
        [kit.file_member("./metadata.json", b"{}"), kit.special_member("./x", kind, linkname)],
    )
    with pytest.raises(UtvmError, match=expected):
        extract_archive(archive, tmp_path / "out")
    assert leftovers(tmp_path, {"archives"}) == []


def test_refuses_archives_over_the_total_size_limit(make_tar, kit, tmp_path):
    archive = make_tar(
        "big.tar", [kit.file_member("./a", b"a" * 600), kit.file_member("./b", b"b" * 600)]
    )
    with pytest.raises(UtvmError, match="more than 1000 bytes"):
        extract_archive(archive, tmp_path / "out", ExtractionLimits(max_total_bytes=1000))
    assert leftovers(tmp_path, {"archives"}) == []


def test_refuses_a_member_over_the_file_size_limit(make_tar, kit, tmp_path):
    archive = make_tar("big_member.tar", [kit.file_member("./a", b"a" * 600)])
    with pytest.raises(UtvmError, match="over the 100-byte limit"):
        extract_archive(archive, tmp_path / "out", ExtractionLimits(max_member_bytes=100))
    assert leftovers(tmp_path, {"archives"}) == []


def test_refuses_too_many_members(make_tar, kit, tmp_path):
    archive = make_tar("many.tar", [kit.file_member(f"./f{i}") for i in range(5)])
    with pytest.raises(UtvmError, match="more than 3 members"):
        extract_archive(archive, tmp_path / "out", ExtractionLimits(max_members=3))
    assert leftovers(tmp_path, {"archives"}) == []


def test_refuses_duplicate_members(make_tar, kit, tmp_path):
    archive = make_tar("dup.tar", [kit.file_member("./a", b"1"), kit.file_member("a", b"2")])
    with pytest.raises(UtvmError, match="more than once"):
        extract_archive(archive, tmp_path / "out")
    assert leftovers(tmp_path, {"archives"}) == []


def test_refuses_a_file_where_a_folder_should_be(make_tar, kit, tmp_path):
    archive = make_tar("clash.tar", [kit.file_member("./a"), kit.file_member("./a/b")])
    with pytest.raises(UtvmError, match="paths clash"):
        extract_archive(archive, tmp_path / "out")
    assert leftovers(tmp_path, {"archives"}) == []


def test_truncated_archive_leaves_nothing(aot_c_mlf, kit, tmp_path):
    (aot_c_mlf / "codegen/host/src/default_lib1.c").write_bytes(bytes(range(256)) * 40)
    whole = kit.tar_of_folder(aot_c_mlf, tmp_path / "whole.tar").read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(whole[: len(whole) // 2 + 100])
    with pytest.raises(UtvmError, match=r"truncated"):
        extract_archive(cut, tmp_path / "out")
    assert leftovers(tmp_path, {"aot_c_mlf", "whole.tar", "cut.tar"}) == []


def test_corrupt_gzip_is_reported(tmp_path):
    broken = tmp_path / "model.tar.gz"
    good = gzip.compress(b"\0" * 4096)
    broken.write_bytes(good[:10] + b"garbage!" * 20)
    with pytest.raises(UtvmError, match="truncated or corrupt"):
        open_mlf(broken)


def test_refuses_to_overwrite_an_existing_destination(aot_c_mlf, kit, tmp_path):
    archive = kit.tar_of_folder(aot_c_mlf, tmp_path / "model.tar")
    existing = tmp_path / "out"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    with pytest.raises(UtvmError, match="already exists"):
        extract_archive(archive, existing)
    assert (existing / "keep.txt").read_text() == "mine"


def test_open_mlf_cleans_its_temporary_folder_on_failure(make_tar, kit, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    archive = make_tar("evil.tar", [kit.special_member("./link", tarfile.SYMTYPE, "/")])
    with pytest.raises(UtvmError, match="symbolic link"):
        open_mlf(archive)
    assert list(scratch.iterdir()) == []


def test_open_mlf_removes_the_extraction_on_close(aot_c_mlf, kit, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    archive = kit.tar_of_folder(aot_c_mlf, tmp_path / "model.tar")
    with open_mlf(archive) as mlf:
        assert mlf.root.is_relative_to(scratch.resolve())
        assert (mlf.root / "metadata.json").is_file()
    assert list(scratch.iterdir()) == []


def test_open_mlf_keeps_an_explicit_extraction_folder(aot_c_mlf, kit, tmp_path):
    archive = kit.tar_of_folder(aot_c_mlf, tmp_path / "model.tar")
    with open_mlf(archive, extract_to=tmp_path / "kept") as mlf:
        assert mlf.root == (tmp_path / "kept").resolve()
    assert (tmp_path / "kept" / "metadata.json").is_file()


def test_open_mlf_accepts_a_tar_with_one_top_folder(aot_c_mlf, tmp_path):
    archive = tmp_path / "wrapped.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(aot_c_mlf, arcname="model")
    with open_mlf(archive) as mlf:
        assert mlf.module_name == "default"


def test_open_mlf_rejects_a_file_that_is_not_an_archive(tmp_path):
    not_tar = tmp_path / "model.tar"
    not_tar.write_text("hello, I am not a tar file\n")
    with pytest.raises(UtvmError, match="neither a folder nor a tar archive"):
        open_mlf(not_tar)


def test_open_mlf_rejects_a_missing_path(tmp_path):
    with pytest.raises(UtvmError, match="does not exist"):
        open_mlf(tmp_path / "nope.tar")
