"""utvm.mlf.signatures: the operator signature table utvm_add_model() compiles in (R1/R2 of
issue 11), from real TVM 0.18 output and from hostile MLFs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testsupport import FIXTURES_MISSING, FIXTURES_ROOT, REPO_ROOT
from utvm.errors import UtvmError
from utvm.mlf.describe import describe
from utvm.mlf.signatures import generate_signature_source

TINY = FIXTURES_ROOT / "tiny_conv_f32"


def _fixture(variant: str) -> Path:
    path = TINY / variant
    if not (path / "metadata.json").exists():
        pytest.skip(FIXTURES_MISSING)
    return path


def _copy(variant: str, tmp_path: Path) -> Path:
    out = tmp_path / variant
    shutil.copytree(_fixture(variant), out)
    out.chmod(0o755)
    for p in out.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return out


def _edit_graph(mlf: Path, edit) -> None:
    path = mlf / "executor-config" / "graph" / "default.graph"
    graph = json.loads(path.read_text())
    edit(graph)
    path.write_text(json.dumps(graph))


def test_graph_model_gets_each_operator_with_inputs_then_outputs() -> None:
    text = generate_signature_source(_fixture("graph"))
    # layout_transform: float32 [1, 3, 16, 16] -> [1, 1, 16, 16, 3], 3072 bytes each.
    assert ("static const utvm_arg_signature_t args_0[] = {{{2, 32, 1}, 3072u}, "
            "{{2, 32, 1}, 3072u}};") in text
    assert "    {tvmgen_default_fused_nn_softmax, 2, args_5}," in text
    assert "const utvm_op_signatures_t utvm_op_signatures = {6, ops};" in text
    assert text.count("int32_t tvmgen_default_") == 6


def test_graph_params_model_counts_parameters_as_inputs() -> None:
    text = generate_signature_source(_fixture("graph_params"))
    # conv2d takes the input, its weights (864 bytes) and bias (32), and writes one output.
    assert ("static const utvm_arg_signature_t args_2[] = {{{2, 32, 1}, 3072u}, "
            "{{2, 32, 1}, 864u}, {{2, 32, 1}, 32u}, {{2, 32, 1}, 8192u}};") in text
    assert "    {tvmgen_default_fused_nn_contrib_conv2d_NCHWc_add_nn_relu, 4, args_2}," in text


def test_aot_model_has_an_empty_table() -> None:
    text = generate_signature_source(_fixture("aot_packed"))
    assert "const utvm_op_signatures_t utvm_op_signatures = {0, 0};" in text
    assert "int32_t tvmgen_" not in text


def test_c_interface_model_defines_no_table() -> None:
    text = generate_signature_source(_fixture("aot_c_usmp"))
    assert "utvm_op_signatures" not in text


@pytest.mark.parametrize(("edit", "message"), [
    (lambda g: g["nodes"][1]["attrs"].update(func_name="../evil"), "not a C identifier"),
    (lambda g: g["nodes"][2]["attrs"].update(
        func_name="tvmgen_default_fused_layout_transform"), "two different sets of arguments"),
    (lambda g: g["attrs"]["dltype"][1].__setitem__(1, "float33x"), "unknown dtype"),
    (lambda g: g["nodes"][1].update(inputs=[[-1, 0, 0]]), "not a valid graph executor JSON"),
    (lambda g: g["attrs"]["shape"][1].__setitem__(1, [1, -3]), "not a list of sizes"),
    (lambda g: g["attrs"]["shape"][1].__setitem__(1, [1 << 40]), "larger than utvm supports"),
    # The reader itself refuses this one, before any signature is made.
    (lambda g: g.pop("node_row_ptr"), "not a valid graph executor JSON"),
])
def test_hostile_graphs_are_refused_with_a_message(tmp_path: Path, edit, message: str) -> None:
    mlf = _copy("graph", tmp_path)
    _edit_graph(mlf, edit)
    with pytest.raises(UtvmError, match=message):  # SignatureError is one
        generate_signature_source(mlf)


def test_describe_step_writes_the_table(tmp_path: Path) -> None:
    """utvm_add_model() gets the table from the describe step, the one MLF reader."""
    fragment = describe(_fixture("graph"), "model", tmp_path)
    table = tmp_path / "utvm_signatures_model.c"
    assert table.read_text() == generate_signature_source(_fixture("graph"))
    assert table.as_posix() in fragment.read_text()


def test_older_mlf_versions_get_a_table(tmp_path: Path) -> None:
    """The table is written from the same reading as everything else: an MLF v5 (TVM 0.8),
    which has no top-level 'modules', is no error (the C-interface model has no table)."""
    sine = REPO_ROOT.parent / "shared" / "fixtures" / "foreign" / "sine_aot" / "model.tar.gz"
    if not sine.is_file():
        pytest.skip("no ../shared/fixtures/foreign/sine_aot")
    describe(sine, "model", tmp_path)
    assert "no signature table" in (tmp_path / "utvm_signatures_model.c").read_text()


def test_utvm_add_model_stops_on_a_hostile_graph_with_the_message(tmp_path: Path) -> None:
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake not found")
    mlf = _copy("graph", tmp_path)
    _edit_graph(mlf, lambda g: g["nodes"][1]["attrs"].update(func_name="x;y"))
    proc = subprocess.run([cmake, "-S", str(REPO_ROOT / "runtime" / "host_runner"), "-B",
                           str(tmp_path / "build"), f"-DUTVM_MLF_DIR={mlf}",
                           f"-DPython3_EXECUTABLE={sys.executable}"],
                          capture_output=True, text=True, check=False)
    text = " ".join(proc.stderr.split())  # CMake wraps long messages
    assert proc.returncode != 0
    assert "utvm_add_model(utvm_host_runner): " in text
    assert "func_name is not a C identifier" in text and "Traceback" not in text
    assert not (tmp_path / "build" / "utvm_signatures_model.c").exists()
