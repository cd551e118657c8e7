"""Hostile MLFs at intake: module names, folder MLFs, absurd sizes and nesting, messages.

Each case is one an attacker tried (issue 11): the MLF must be refused with one UtvmError
naming what is wrong, before anything outside the MLF is read or anything big allocated.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from utvm.cli import main
from utvm.errors import UtvmError
from utvm.host.build import build_key
from utvm.mlf import ExtractionLimits, open_mlf
from utvm.mlf.metadata import load_metadata


def graph_json(shapes: list[list[int]], names: list[str]) -> str:
    """A graph of argument nodes only; the first is the input, the output is node 0."""
    return json.dumps({
        "nodes": [{"op": "null", "name": name, "inputs": []} for name in names],
        "arg_nodes": list(range(len(names))), "heads": [[0, 0, 0]],
        "node_row_ptr": list(range(len(names) + 1)),
        "attrs": {"dltype": ["list_str", ["float32"] * len(names)],
                  "storage_id": ["list_int", list(range(len(names)))],
                  "shape": ["list_shape", shapes]},
    })


def graph_mlf(kit, folder: Path, module: str = "default", input_bytes: int = 48,
              shape: list[int] | None = None) -> Path:
    """A graph-executor MLF folder: input 'data' float32 -> output of the same size."""
    metadata = kit.metadata_v7({"data": ("float32", input_bytes)},
                               {"out": ("float32", input_bytes)}, executor="graph",
                               module=module)
    return kit.write_tree(folder, {
        "metadata.json": json.dumps(metadata),
        "codegen/host/src/default_lib0.c": "int placeholder;\n",
        f"executor-config/graph/{module}.graph": graph_json([shape or [1, 12]], ["data"]),
        f"parameters/{module}.params": kit.params_blob(),
    })


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ----------------------------------------------------------------------------------------
# Module names are plain C identifiers


def test_a_module_name_cannot_lead_out_of_the_archive(kit, tmp_path):
    # metadata.json's module key becomes executor-config/graph/<name>.graph: with '..' it
    # would read (and run) a graph from outside the MLF.
    root = tmp_path / "mlf"
    graph_mlf(kit, root)
    metadata = json.loads((root / "metadata.json").read_text())
    metadata["modules"] = {"../../outside/x": metadata["modules"]["default"]}
    (root / "metadata.json").write_text(json.dumps(metadata))
    kit.write_tree(root, {"outside/x.graph": graph_json([[1, 12]], ["data"])})
    with pytest.raises(UtvmError, match=r"module name '\.\./\.\./outside/x' in metadata.json "
                       r"is not a plain C identifier"):
        open_mlf(root)


@pytest.mark.parametrize("name", ["a/b", "x y", "1st", "m\x1b[2J", "caf\u00e9"])
def test_module_names_must_be_c_identifiers(kit, tmp_path, name):
    root = tmp_path / "mlf"
    graph_mlf(kit, root)
    metadata = json.loads((root / "metadata.json").read_text())
    metadata["modules"] = {name: metadata["modules"]["default"]}
    (root / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(UtvmError, match="is not a plain C identifier") as caught:
        open_mlf(root)
    assert "\x1b" not in str(caught.value)


def test_identifier_module_names_are_accepted(kit, tmp_path):
    with open_mlf(graph_mlf(kit, tmp_path / "mlf", module="Kws_2")) as mlf:
        assert mlf.module_name == "Kws_2"


def test_info_refuses_a_traversing_module_name_with_one_line(kit, tmp_path, capsys):
    root = graph_mlf(kit, tmp_path / "mlf")
    metadata = json.loads((root / "metadata.json").read_text())
    metadata["modules"] = {"../../../../tmp/x": metadata["modules"]["default"]}
    (root / "metadata.json").write_text(json.dumps(metadata))
    code, out, err = run_cli(capsys, "info", root)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "not a plain C identifier" in err
    assert "Traceback" not in err


# ----------------------------------------------------------------------------------------
# Folder MLFs follow the archive's rules


def test_a_symlink_loop_in_a_folder_is_refused(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf")
    (root / "codegen/host/src/loop").symlink_to(".")
    (root / "codegen/host/src/loop2").symlink_to("..")
    with pytest.raises(UtvmError, match=r"codegen/host/src/loop2? is a symbolic link to '\.\.?', "
                       r"which is not a plain file"):
        open_mlf(root)


def test_a_fifo_in_a_folder_is_refused(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf")
    (root / "parameters/default.params").unlink()
    os.mkfifo(root / "parameters/default.params")
    with pytest.raises(UtvmError, match=r"parameters/default.params is a FIFO; a Model Library "
                       "Format holds only plain files and folders"):
        open_mlf(root)


def test_a_socket_in_a_folder_is_refused(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(root / "parameters" / "s"))
        with pytest.raises(UtvmError, match=r"parameters/s is a socket; a Model Library Format"):
            open_mlf(root)


def test_a_device_file_in_a_folder_is_refused(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf")
    try:
        os.mknod(root / "parameters" / "null", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    with pytest.raises(UtvmError, match=r"parameters/null is a device file; a Model Library"):
        open_mlf(root)


@pytest.mark.parametrize(("limits", "expected"), [
    (ExtractionLimits(max_members=5), "holds more than 5 files and folders"),
    (ExtractionLimits(max_member_bytes=100), r"is \d+ bytes, over the 100-byte limit for one"),
    (ExtractionLimits(max_total_bytes=300), "holds more than 300 bytes of model files"),
])
def test_folders_have_the_archive_limits(kit, tmp_path, limits, expected):
    root = graph_mlf(kit, tmp_path / "mlf")
    with pytest.raises(UtvmError, match=expected):
        open_mlf(root, limits=limits)


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ", "../../../../elsewhere.c"])
def test_links_leaving_the_folder_are_refused(kit, tmp_path, target):
    (tmp_path / "elsewhere.c").write_text("int secret;\n")
    root = graph_mlf(kit, tmp_path / "mlf")
    (root / "codegen/host/src/default_lib1.c").symlink_to(target)
    with pytest.raises(UtvmError, match="outside the model's folder"):
        open_mlf(root)


def test_a_dangling_link_is_refused(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf")
    (root / "codegen/host/src/default_lib1.c").symlink_to("nowhere.c")
    with pytest.raises(UtvmError, match="leads nowhere or in a loop"):
        open_mlf(root)


def test_a_link_to_a_file_inside_the_folder_is_read(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf")
    (root / "codegen/host/src/default_lib1.c").symlink_to("default_lib0.c")
    with open_mlf(root) as mlf:
        assert [p.name for p in mlf.c_sources] == ["default_lib0.c", "default_lib1.c"]


def test_files_beside_the_mlf_entries_are_not_checked(kit, tmp_path):
    # A folder may hold other things (a venv, test data) next to the MLF: never read.
    root = graph_mlf(kit, tmp_path / "mlf")
    (root / "venv-python").symlink_to("/usr/bin/env")
    with open_mlf(root) as mlf:
        assert mlf.module_name == "default"


def test_a_name_that_is_not_utf8_is_refused_in_a_folder(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf")
    bad = os.fsdecode(b"codegen/host/src/\xff.c")
    (root / bad).write_text("int x;\n")
    with pytest.raises(UtvmError, match=r"\\udcff\.c has a name that is not UTF-8"):
        open_mlf(root)


def test_a_name_that_is_not_utf8_is_refused_in_an_archive(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf")
    archive = tmp_path / "model.tar"
    with tarfile.open(archive, "w", encoding="utf-8", errors="surrogateescape") as tar:
        tar.add(root, arcname=".")
        info = tarfile.TarInfo(os.fsdecode(b"./codegen/host/src/\xff.c"))
        tar.addfile(info)
    with pytest.raises(UtvmError, match="has a name that is not UTF-8"):
        open_mlf(archive)


def test_the_build_key_never_follows_linked_folders(kit, tmp_path):
    # A linked folder is skipped by the hash (it could loop), so it does not change the key.
    root = graph_mlf(kit, tmp_path / "mlf")
    repo = tmp_path / "repo"
    repo.mkdir()
    before = build_key(SimpleNamespace(root=root), repo, [])
    (root / "codegen/host/src/loop").symlink_to(".")
    assert build_key(SimpleNamespace(root=root), repo, []) == before


def test_the_build_key_hashes_names_that_are_not_utf8(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf")
    repo = tmp_path / "repo"
    repo.mkdir()
    before = build_key(SimpleNamespace(root=root), repo, [])
    (root / os.fsdecode(b"codegen/host/src/\xff.c")).write_text("int x;\n")
    assert build_key(SimpleNamespace(root=root), repo, []) != before


# ----------------------------------------------------------------------------------------
# Absurd sizes and nesting: one error line, nothing allocated


def test_deeply_nested_metadata_is_one_error(tmp_path):
    path = tmp_path / "metadata.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(UtvmError, match="nested far too deeply"):
        load_metadata(path)


def test_nesting_deeper_than_any_metadata_is_refused_before_the_schema_check(kit, tmp_path):
    metadata = kit.metadata_v7({"x": ("int8", 1)}, {"y": ("int8", 1)})
    metadata["extra"] = json.loads("[" * 500 + "]" * 500)
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(metadata))
    with pytest.raises(UtvmError, match="nested more than 32 levels deep"):
        load_metadata(path)


def test_a_number_too_long_for_python_is_one_error(tmp_path):
    path = tmp_path / "metadata.json"
    path.write_text('{"version": ' + "7" * 5000 + "}")
    with pytest.raises(UtvmError, match="cannot be parsed"):
        load_metadata(path)


def test_deeply_nested_graph_json_is_one_error(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf")
    (root / "executor-config/graph/default.graph").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(UtvmError, match="cannot be parsed as a graph executor JSON"):
        open_mlf(root)


def test_a_huge_input_shape_is_refused_before_allocating(kit, tmp_path, capsys):
    # [1, 100000000000] float32 is 373 GiB: `utvm run` without --input would make zeros.
    root = graph_mlf(kit, tmp_path / "mlf", input_bytes=400_000_000_000,
                     shape=[1, 100_000_000_000])
    code, out, err = run_cli(capsys, "run", root, "--board", "host-runner")
    assert code == 2 and out == ""
    assert "input 'data' is 400000000000 bytes, over utvm's limit of 1073741824 bytes" in err


def test_a_negative_dimension_is_refused(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf", input_bytes=0, shape=[1, -12, 0])
    with pytest.raises(UtvmError, match=r"negative dimension in shape \[1, -12, 0\]"):
        open_mlf(root)


@pytest.mark.parametrize(("field", "value"), [("workspace_size_bytes", 10**30),
                                              ("constants_size_bytes", 2**32 + 1),
                                              ("io_size_bytes", 2**40)])
def test_absurd_memory_sizes_are_refused(kit, tmp_path, field, value):
    root = graph_mlf(kit, tmp_path / "mlf")
    metadata = json.loads((root / "metadata.json").read_text())
    metadata["modules"]["default"]["memory"]["functions"]["main"][0][field] = value
    (root / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(UtvmError, match=f"gives {field} = {value}, outside 0..4294967296"):
        open_mlf(root)


def test_a_workspace_of_4_gib_is_still_accepted(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf")
    metadata = json.loads((root / "metadata.json").read_text())
    metadata["modules"]["default"]["memory"]["functions"]["main"][0][
        "workspace_size_bytes"] = 2**32
    (root / "metadata.json").write_text(json.dumps(metadata))
    with open_mlf(root) as mlf:
        assert mlf.workspace_size_bytes == 2**32


# ----------------------------------------------------------------------------------------
# Messages about an archive name the path inside it


def test_messages_about_an_archive_name_the_path_inside_it(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf")
    (root / "executor-config/graph/default.graph").write_text("{not json")
    archive = kit.tar_of_folder(root, tmp_path / "model.tar")
    with pytest.raises(UtvmError) as caught:
        open_mlf(archive)
    message = str(caught.value)
    assert message.startswith(f"{archive}:executor-config/graph/default.graph is not valid JSON")
    assert "utvm-mlf-" not in message


def test_metadata_messages_name_the_archive_too(kit, tmp_path):
    root = graph_mlf(kit, tmp_path / "mlf")
    (root / "metadata.json").write_text('{"version": 7, "modules": 3}')
    archive = kit.tar_of_folder(root, tmp_path / "model.tar")
    with pytest.raises(UtvmError) as caught:
        open_mlf(archive)
    assert str(caught.value).startswith(f"{archive}:metadata.json does not match")
