"""generate_project: the project's layout, its settings, its own server, and nothing left
behind when it fails."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from apiclient import (
    BUNDLED_MODEL,
    GRAPH_FIXTURE,
    REPO_ROOT,
    ApiClient,
    RpcErrorReply,
    all_options,
    generate,
    operator_mlf,
    server_env,
)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "tvm-0.18"


def test_layout_of_a_generated_project(template_server: ApiClient, model_tar: Path,
                                       tmp_path: Path) -> None:
    project = tmp_path / "project"
    generate(template_server, model_tar, project, board="nucleo_f746zg")
    names = sorted(p.name for p in project.iterdir())
    assert names == ["CMakeLists.txt", "microtvm_api_server.py", "model", "model.tar",
                     "utvm_project.conf", "utvm_project.json"]
    assert (project / "model.tar").read_bytes() == model_tar.read_bytes()
    assert (project / "microtvm_api_server.py").read_bytes() == \
        (REPO_ROOT / "template_project" / "microtvm_api_server.py").read_bytes()
    assert (project / "model" / "metadata.json").is_file()
    # No copy of any runtime: the only C sources are the model's generated code.
    sources = [p.relative_to(project).as_posix() for p in project.rglob("*.c")]
    assert sources and all(s.startswith("model/codegen/host/src/") for s in sources)
    record = json.loads((project / "utvm_project.json").read_text())
    assert record["board"] == "nucleo_f746zg" and record["project_type"] == "host_driven"
    assert Path(record["module"]) == REPO_ROOT
    cmake = (project / "CMakeLists.txt").read_text()
    assert f'set(UTVM_MODULE_DIR "{REPO_ROOT.as_posix()}")' in cmake
    assert "samples/rpc_server/src/main.c" in cmake
    assert 'set(APPLICATION_CONFIG_DIR "${UTVM_MODULE_DIR}/samples/rpc_server")' in cmake
    assert "utvm_add_model(app MLF ${UTVM_MODEL})" in cmake
    conf = (project / "utvm_project.conf").read_text()
    assert "CONFIG_UTVM_ARENA_SIZE=" in conf and "CONFIG_MAIN_STACK_SIZE" not in conf
    assert "UNCHECKED_OPERATOR_CALLS" not in conf  # a full model: its operators stay checked
    for folder in (project, project / "model"):  # ordinary folders, not mkdtemp's private ones
        assert (folder.stat().st_mode & 0o777) == 0o777 & ~_umask()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_tvms_runtime_inside_the_mlf_is_not_unpacked(template_server: ApiClient,
                                                     tmp_path: Path) -> None:
    mlf = tmp_path / "with_runtime.tar"
    with tarfile.open(mlf, "w") as tar:
        tar.add(BUNDLED_MODEL, arcname=".")
        extra = tmp_path / "crt.c"
        extra.write_text("int tvm_crt;\n")
        tar.add(extra, arcname="./runtime/src/runtime/crt/common/crt.c")
        tar.add(extra, arcname="./templates/platform.c.template")
    generate(template_server, mlf, tmp_path / "project", board="native_sim")
    assert not (tmp_path / "project" / "model" / "runtime").exists()
    assert not (tmp_path / "project" / "model" / "templates").exists()


def test_options_become_project_settings(template_server: ApiClient, model_tar: Path,
                                         tmp_path: Path) -> None:
    extra_tar = tmp_path / "extra.tar"
    header = tmp_path / "input_data.h"
    header.write_text("static const char input_data[] = {1};\n")
    with tarfile.open(extra_tar, "w") as tar:
        tar.add(header, arcname="include/tvm/input_data.h")
    project = tmp_path / "project"
    generate(template_server, model_tar, project, board="qemu_cortex_m3",
             config_main_stack_size="16384", workspace_size_bytes="131072",
             warning_as_error="true", compile_definitions="UTVM_DEMO=1;-DTRACE",
             extra_files_tar=str(extra_tar))
    conf = (project / "utvm_project.conf").read_text().splitlines()
    assert "CONFIG_MAIN_STACK_SIZE=16384" in conf
    assert "CONFIG_UTVM_ARENA_SIZE=131072" in conf
    assert "CONFIG_COMPILER_WARNINGS_AS_ERRORS=y" in conf
    cmake = (project / "CMakeLists.txt").read_text()
    assert "target_compile_definitions(app PRIVATE\n  UTVM_DEMO=1\n  TRACE\n)" in cmake
    assert (project / "include" / "tvm" / "input_data.h").read_text() == header.read_text()


def test_arena_and_workspace_must_agree(template_server: ApiClient, model_tar: Path,
                                        tmp_path: Path) -> None:
    with pytest.raises(RpcErrorReply) as caught:
        generate(template_server, model_tar, tmp_path / "project", board="native_sim",
                 arena_size_bytes=65536, workspace_size_bytes=32768)
    assert "name the same memory" in caught.value.message
    assert not (tmp_path / "project").exists()


def test_an_mlf_folder_is_packed_into_model_tar(template_server: ApiClient,
                                                tmp_path: Path) -> None:
    project = tmp_path / "project"
    generate(template_server, BUNDLED_MODEL, project, board="native_sim")
    with tarfile.open(project / "model.tar") as tar:
        assert "./metadata.json" in tar.getnames()


def test_existing_project_dir_is_refused_and_kept(template_server: ApiClient,
                                                  model_tar: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "mine.txt").write_text("keep me")
    with pytest.raises(RpcErrorReply) as caught:
        generate(template_server, model_tar, project, board="native_sim")
    assert "already exists" in caught.value.message
    assert "--force" in caught.value.message
    assert [p.name for p in project.iterdir()] == ["mine.txt"]


@pytest.mark.parametrize("content, complaint", [
    (b"this is not a tar\n", "neither an MLF folder nor a tar archive"),
    (None, "does not exist"),
])
def test_bad_mlf_leaves_nothing_behind(template_server: ApiClient, tmp_path: Path,
                                       content: bytes | None, complaint: str) -> None:
    mlf = tmp_path / "inputs" / "model.tar"
    mlf.parent.mkdir()
    if content is not None:
        mlf.write_bytes(content)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RpcErrorReply) as caught:
        generate(template_server, mlf, out / "project", board="native_sim")
    assert complaint in caught.value.message
    assert list(out.iterdir()) == []  # no project, no partial folder


def test_c_interface_model_is_refused(template_server: ApiClient, tmp_path: Path) -> None:
    variant = FIXTURES / "tiny_conv_f32" / "aot_c_usmp"
    if not variant.is_dir():
        pytest.skip("TVM 0.18 fixtures not found at ../shared/fixtures (relative to the repo)")
    with pytest.raises(RpcErrorReply) as caught:
        generate(template_server, variant, tmp_path / "project", board="native_sim")
    assert "interface-api=c" in caught.value.message
    assert not (tmp_path / "project").exists()


def test_generated_project_serves_itself(template_server: ApiClient, model_tar: Path,
                                         tmp_path: Path) -> None:
    """TVM relaunches the server from the project: it must find utvm there (no PYTHONPATH)
    and say it is a generated project with its model.tar."""
    project = tmp_path / "project"
    generate(template_server, model_tar, project, board="native_sim")
    with ApiClient(project, env=server_env(), log_path=tmp_path / "p.log") as client:
        info = client.call("server_info_query", tvm_version="0.18.0")
        assert info["is_template"] is False
        assert info["model_library_format_path"] == str(project / "model.tar")
        with pytest.raises(RpcErrorReply) as caught:
            client.call("build", options={"board": "qemu_x86"})
        assert "generated for board native_sim, not qemu_x86" in caught.value.message
        assert client.close() == 0


def test_server_without_utvm_anywhere_says_so(tmp_path: Path) -> None:
    """A copy of the launcher outside the module, run by a Python whose site-packages (where
    the test run's own utvm is installed) are not read (-S): it must say what to do."""
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    (lonely / "microtvm_api_server.py").write_bytes(
        (REPO_ROOT / "template_project" / "microtvm_api_server.py").read_bytes())
    env = server_env()
    no_site = ("-S",)
    assert subprocess.run([sys.executable, *no_site, "-c", "import utvm"], env=env, cwd=lonely,
                          capture_output=True, check=False).returncode != 0
    client = ApiClient(lonely, env=env, log_path=tmp_path / "lonely.log", python_flags=no_site)
    with pytest.raises(EOFError):
        client.call("server_info_query", tvm_version="0.18.0")
    assert client.close() != 0
    assert "cannot find utvm's host package" in (tmp_path / "lonely.log").read_text()


def test_server_prefers_the_modules_own_host_package(tmp_path: Path) -> None:
    """Another utvm earlier on the path (an older install, say) must not shadow the one
    that matches the module's runtime and samples."""
    stale = tmp_path / "stale" / "utvm" / "project_api"
    stale.mkdir(parents=True)
    (stale.parent / "__init__.py").write_text("")
    (stale / "__init__.py").write_text("")
    (stale / "server.py").write_text("def main(server_dir):\n    raise SystemExit('stale')\n")
    env = server_env(PYTHONPATH=str(stale.parent.parent))
    client = ApiClient(REPO_ROOT / "template_project", env=env, log_path=tmp_path / "srv.log")
    assert client.call("server_info_query", tvm_version="0.18.0")["is_template"] is True
    assert client.close() == 0


def test_operator_style_mlf_for_autotvm(template_server: ApiClient, tmp_path: Path) -> None:
    """AutoTVM measures single operators: an operator-style MLF (no executor) has its
    sources compiled straight into the app, for the host to call from the system library."""
    if not GRAPH_FIXTURE.is_dir():
        pytest.skip("TVM 0.18 fixtures not found at ../shared/fixtures (relative to the repo)")
    project = tmp_path / "project"
    generate(template_server, operator_mlf(tmp_path / "ops"), project, board="native_sim")
    cmake = (project / "CMakeLists.txt").read_text()
    assert "utvm_add_model" not in cmake
    assert 'file(GLOB utvm_operator_sources "${CMAKE_CURRENT_SOURCE_DIR}/model/codegen/host/' \
        'src/*.c")' in cmake
    conf = (project / "utvm_project.conf").read_text()
    assert "Operators (operator-style MLF)" in conf
    assert "CONFIG_UTVM_ARENA_SIZE=24576" in conf
    # Its operators have no signature: the host may call them only with the opt-in.
    assert "CONFIG_UTVM_RPC_UNCHECKED_OPERATOR_CALLS=y" in conf.splitlines()


def test_operator_style_mlf_without_sources(template_server: ApiClient, tmp_path: Path
                                            ) -> None:
    mlf = tmp_path / "empty-ops"
    mlf.mkdir()
    (mlf / "metadata.json").write_text(json.dumps({"version": 7, "style": "operator",
                                                   "executors": [], "memory": {}}))
    with pytest.raises(RpcErrorReply) as caught:
        generate(template_server, mlf, tmp_path / "project", board="native_sim")
    assert "has no C sources" in caught.value.message
    assert not (tmp_path / "project").exists()


def test_relative_paths_are_the_callers(template_server: ApiClient, model_tar: Path,
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    """tvmc micro create-project with a relative MLF path: the server runs in the template
    folder, so the path is resolved against the directory TVM runs in."""
    monkeypatch.chdir(model_tar.parent)
    project = tmp_path / "relative-project"
    template_server.call("generate_project", model_library_format_path=model_tar.name,
                         standalone_crt_dir="crt", project_dir=os.path.relpath(project),
                         options=all_options(template_server, board="native_sim"))
    assert (project / "model.tar").read_bytes() == model_tar.read_bytes()


def test_model_without_system_library_is_refused_at_creation(template_server: ApiClient,
                                                              tmp_path: Path) -> None:
    """tvmc micro create-project, build and flash went through; tvmc run failed."""
    import shutil

    model = tmp_path / "no_syslib"
    shutil.copytree(BUNDLED_MODEL, model)
    for source in (model / "codegen" / "host" / "src").glob("*.c"):
        source.write_text(source.read_text().replace("TVMSystemLibEntryPoint", "entry"))
    with pytest.raises(RpcErrorReply, match="has no system library"):
        generate(template_server, model, tmp_path / "project", board="native_sim")
    assert not (tmp_path / "project").exists()


CMSIS_NN_PACKED = REPO_ROOT.parent / "shared" / "fixtures" / "tvm-0.18-cmsis-nn" / \
    "kws_ref_model" / "cmsis_nn_aot_packed"


@pytest.mark.parametrize("cmsis_nn", [None, "true"], ids=["read-from-model", "stated"])
def test_a_cmsis_nn_model_gets_its_kernel_groups(template_server: ApiClient, tmp_path: Path,
                                                 cmsis_nn: str | None) -> None:
    """A model TVM compiled with CMSIS-NN partitioning: the project enables Zephyr's cmsis-nn
    module with exactly the kernel groups the generated code calls."""
    if not CMSIS_NN_PACKED.is_dir():
        pytest.skip("no ../shared/fixtures/tvm-0.18-cmsis-nn")
    model = tmp_path / "model.tar"
    with tarfile.open(model, "w") as tar:
        tar.add(CMSIS_NN_PACKED, arcname=".")
    project = tmp_path / "project"
    generate(template_server, model, project, board="mps2/an385", cmsis_nn=cmsis_nn)
    conf = (project / "utvm_project.conf").read_text().splitlines()
    cmsis_lines = [line for line in conf if line.startswith("CONFIG_CMSIS_NN")]
    assert cmsis_lines == ["CONFIG_CMSIS_NN=y", "CONFIG_CMSIS_NN_CONVOLUTION=y",
                           "CONFIG_CMSIS_NN_FULLYCONNECTED=y", "CONFIG_CMSIS_NN_NNSUPPORT=y",
                           "CONFIG_CMSIS_NN_POOLING=y", "CONFIG_CMSIS_NN_SOFTMAX=y"]


def test_a_cmsis_nn_model_on_native_sim_gets_no_cmsis_nn_kconfig(template_server: ApiClient,
                                                                  tmp_path: Path) -> None:
    """Zephyr's CONFIG_CMSIS_NN needs a Cortex-M (Kconfig aborted the build): on native_sim
    utvm_add_model() compiles CMSIS-NN's portable code itself."""
    if not CMSIS_NN_PACKED.is_dir():
        pytest.skip("no ../shared/fixtures/tvm-0.18-cmsis-nn")
    model = tmp_path / "model.tar"
    with tarfile.open(model, "w") as tar:
        tar.add(CMSIS_NN_PACKED, arcname=".")
    project = tmp_path / "project"
    generate(template_server, model, project, board="native_sim", cmsis_nn="true")
    conf = (project / "utvm_project.conf").read_text()
    assert not [line for line in conf.splitlines() if line.startswith("CONFIG_CMSIS_NN")]
    assert "# CMSIS-NN: arm_avgpool_s8" in conf and "UTVM_CMSIS_NN_DIR" in conf


@pytest.mark.parametrize(("use_cmsis_model", "cmsis_nn", "message"), [
    (False, "true", "the model calls no CMSIS-NN kernel"),
    (True, "false", "but the model calls CMSIS-NN (arm_avgpool_s8"),
], ids=["true-without-cmsis-nn", "false-with-cmsis-nn"])
def test_cmsis_nn_option_contradicting_the_model(template_server: ApiClient, model_tar: Path,
                                                 tmp_path: Path, use_cmsis_model: bool,
                                                 cmsis_nn: str, message: str) -> None:
    if use_cmsis_model:
        if not CMSIS_NN_PACKED.is_dir():
            pytest.skip("no ../shared/fixtures/tvm-0.18-cmsis-nn")
        model_tar = tmp_path / "model.tar"
        with tarfile.open(model_tar, "w") as tar:
            tar.add(CMSIS_NN_PACKED, arcname=".")
    project = tmp_path / "project"
    with pytest.raises(RpcErrorReply, match=re.escape(message)):
        generate(template_server, model_tar, project, board="mps2/an385", cmsis_nn=cmsis_nn)
    assert not project.exists()
