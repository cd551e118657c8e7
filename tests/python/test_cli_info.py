"""The ``utvm`` command line: ``utvm info``, help, and how errors are shown."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from utvm import __version__
from utvm.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_info_shows_the_model(capsys, aot_c_mlf):
    code, out, err = run_cli(capsys, "info", str(aot_c_mlf))
    assert code == 0, err
    assert "executor:    aot, C interface" in out
    assert "[0] input_1: int8, shape [1, 12], 12 B" in out
    assert "[0] Identity: int8, shape unknown, 12 B" in out
    assert "workspace 256 B" in out
    assert "MLF 7, TVM 0.18.0" in out


def test_info_json_is_machine_readable(capsys, aot_c_mlf):
    code, out, _ = run_cli(capsys, "info", str(aot_c_mlf), "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["executor_kind"] == "aot_c"
    assert summary["inputs"] == [
        {"name": "input_1", "dtype": "int8", "shape": [1, 12], "size_bytes": 12}
    ]
    assert summary["outputs"][0]["shape"] is None
    assert summary["files"]["interface_header"] == "codegen/host/include/tvmgen_default.h"


def test_info_on_a_tar(capsys, aot_c_mlf, kit, tmp_path):
    archive = kit.tar_of_folder(aot_c_mlf, tmp_path / "model.tar")
    code, out, _ = run_cli(capsys, "info", str(archive), "--json")
    assert code == 0
    assert json.loads(out)["source"] == str(archive)


def test_info_on_every_fixture(capsys, fixture_dir):
    recipe = json.loads((fixture_dir / "fixture.json").read_text())
    code, out, err = run_cli(capsys, "info", str(fixture_dir), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert [i["name"] for i in summary["inputs"]] == list(recipe["inputs"])
    assert [i["shape"] for i in summary["inputs"]] == [s for s, _ in recipe["inputs"].values()]
    code, out, _ = run_cli(capsys, "info", str(fixture_dir))
    assert code == 0
    assert f"executor:    {summary['executor']}" in out


def test_graph_params_fixture_mentions_its_parameters(capsys, tvm_fixtures):
    code, out, _ = run_cli(capsys, "info", str(tvm_fixtures / "kws_ref_model" / "graph_params"))
    assert code == 0
    assert "parameters:  50 tensors loaded at run time (default.params)" in out


def test_missing_path_is_an_error_not_a_traceback(capsys, tmp_path):
    code, out, err = run_cli(capsys, "info", str(tmp_path / "missing.tar"))
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and "does not exist" in err
    assert "Traceback" not in err


def test_schema_error_names_the_field_on_the_command_line(capsys, aot_c_mlf):
    metadata = json.loads((aot_c_mlf / "metadata.json").read_text())
    metadata["modules"]["default"]["executors"] = ["interpreter"]
    (aot_c_mlf / "metadata.json").write_text(json.dumps(metadata))
    code, _, err = run_cli(capsys, "info", str(aot_c_mlf))
    assert code == 2
    assert "/modules/default/executors/0: Enum 'interpreter'" in err


def test_unknown_module_is_an_error(capsys, aot_c_mlf):
    code, _, err = run_cli(capsys, "info", str(aot_c_mlf), "--module", "nope")
    assert code == 2
    assert "no module 'nope'; its modules are: default" in err


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stopped:
        main([])
    assert stopped.value.code == 2
    assert "usage: utvm" in capsys.readouterr().err


def test_help_teaches_with_examples(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "utvm run model.tar --input x.npy" in out
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "--output-dir" in capsys.readouterr().out


def test_python_dash_m_works():
    finished = subprocess.run(
        [sys.executable, "-m", "utvm", "--version"], capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0
    assert finished.stdout.strip() == f"utvm {__version__}"


def test_info_says_who_holds_the_memory(capsys, tvm_fixtures):
    """kws aot_packed: TVM's io_size_bytes (161,722 B) is not the tensors (490 + 12 B), and
    the workspace lives in the generated code, not in the runtime's arena."""
    code, out, err = run_cli(capsys, "info", str(tvm_fixtures / "kws_ref_model" / "aot_packed"))
    assert code == 0, err
    assert "workspace 104192 B (101.8 KiB), static in the model's code" in out
    assert "inputs+outputs (tensors) 502 B" in out
    assert "TVM's io_size_bytes 161722 B (157.9 KiB) (TVM's own accounting" in out
    assert "runtime arena 8192 B (8.0 KiB)" in out
