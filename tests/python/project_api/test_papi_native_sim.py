"""With a Zephyr tree (ZEPHYR_BASE): TVM's flow through the Project API on native_sim.

generate_project from the template with a TVM 0.18 fixture MLF, build (`west build`),
flash (starts native_sim), open_transport, then a real microTVM RPC session whose every
byte goes through read_transport / write_transport, and the model's output must be TVM
0.18's own, bit for bit. One Zephyr build for the whole module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from apiclient import (
    GRAPH_FIXTURE,
    REPO_ROOT,
    SOFTMAX,
    TEMPLATE_DIR,
    ApiClient,
    ApiTransport,
    all_options,
    generate,
    operator_mlf,
    server_env,
)

from testsupport import ZEPHYR_BUILD_REQUIREMENTS, native_sim_toolchain, require_zephyr_python
from utvm.board.build_dir import read_build
from utvm.board.targets import NativeSimTarget
from utvm.board.zephyr_env import find_zephyr
from utvm.mlf import open_mlf
from utvm.rpc import Session
from utvm.rpc.model_run import run_model

if not os.environ.get("ZEPHYR_BASE"):
    pytest.skip("ZEPHYR_BASE is not set: the Project API native_sim test needs a Zephyr tree",
                allow_module_level=True)
pytest.importorskip("west", reason="west is not installed (pip install west)")

FIXTURE = REPO_ROOT.parent / "shared" / "fixtures" / "tvm-0.18" / "tiny_conv_f32" / \
    "aot_packed"


@pytest.fixture(scope="module")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    if find_zephyr() is None:
        pytest.skip("ZEPHYR_BASE does not point at a Zephyr tree")
    require_zephyr_python(os.environ["ZEPHYR_BASE"], ZEPHYR_BUILD_REQUIREMENTS)
    if not FIXTURE.is_dir():
        pytest.skip("TVM 0.18 fixtures not found at ../shared/fixtures (relative to the repo)")
    tmp_path = tmp_path_factory.mktemp("papi-native-sim")
    mlf = tmp_path / "model.tar"
    with tarfile.open(mlf, "w") as tar:  # as tvm.micro.export_model_library_format writes
        tar.add(FIXTURE, arcname=".")
    env = zephyr_env()
    project = tmp_path / "project"
    with ApiClient(TEMPLATE_DIR, env=env, log_path=tmp_path / "template.log") as template:
        generate(template, mlf, project, board="native_sim")
    log = tmp_path / "build.log"
    with ApiClient(project, env=env, log_path=log) as client:
        try:
            client.call("build", options=all_options(client, verbose=True))
        except Exception:
            pytest.fail("build failed:\n" + log.read_text(errors="replace")[-6000:])
    yield project, tmp_path
    build_dir = project / "build"
    if (build_dir / "CMakeCache.txt").is_file():
        NativeSimTarget(read_build(build_dir)).stop()


def project_server(project: Path, log: Path) -> ApiClient:
    return ApiClient(project, env=zephyr_env(), log_path=log)


def zephyr_env() -> dict[str, str]:
    return server_env(ZEPHYR_BASE=os.environ["ZEPHYR_BASE"],
                      ZEPHYR_TOOLCHAIN_VARIANT=native_sim_toolchain())


def test_model_runs_through_the_project_api(built_project: tuple[Path, Path]) -> None:
    project, tmp_path = built_project
    assert (project / "build" / "zephyr" / "zephyr.exe").is_file()
    with project_server(project, tmp_path / "run.log") as client:
        options = all_options(client)
        client.call("flash", options=options)  # starts native_sim in the background
        transport = ApiTransport(client, options)
        session = Session(transport)
        session.open()  # open_transport, then the handshake over read/write_transport
        assert transport.timeouts.session_start_timeout_sec == 10.0
        try:
            with open_mlf(project / "model.tar") as mlf:
                result = run_model(session.client, mlf, [np.load(FIXTURE / "input_0.npy")])
        finally:
            session.close()  # close_transport
        expected = np.load(FIXTURE / "tvm_crt_output_0.npy")
        assert result.outputs[0].tobytes() == expected.tobytes()
        assert len(transport.reads) > 10  # everything went through read_transport
        assert client.close() == 0
    log = (tmp_path / "run.log").read_text()
    assert re.search(r"native_sim is running in the background .* /dev/pts/\d+", log)


def test_second_build_is_incremental(built_project: tuple[Path, Path]) -> None:
    project, tmp_path = built_project
    cache = project / "build" / "CMakeCache.txt"
    before = cache.stat().st_mtime_ns
    with project_server(project, tmp_path / "rebuild.log") as client:
        client.call("build", options=all_options(client, verbose=True))
    log = (tmp_path / "rebuild.log").read_text()
    assert "Configuring done" not in log and "Building C object" not in log
    assert cache.stat().st_mtime_ns == before


def test_user_can_west_build_the_project_directly(built_project: tuple[Path, Path]) -> None:
    """The generated CMakeLists.txt stands on its own: plain `west build` configures it
    (the module comes in through ZEPHYR_EXTRA_MODULES set by the project itself)."""
    project, tmp_path = built_project
    west = shutil.which("west")
    if west is None:
        pytest.skip("no west command on PATH")
    result = subprocess.run(
        [west, "build", "-b", "native_sim", "-d", str(tmp_path / "plain"), str(project),
         "--cmake-only"], cwd=Path(os.environ["ZEPHYR_BASE"]).parent,
        # As every native_sim build here: the host's compiler, where no Zephyr SDK is.
        env=dict(os.environ, ZEPHYR_TOOLCHAIN_VARIANT=native_sim_toolchain()),
        capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "utvm_project.conf" in result.stdout


def test_autotvm_style_operator_measurement(tmp_path: Path) -> None:
    """What AutoTVM does per candidate: an operator-style MLF into a project, build, flash,
    then call the operator from the system library and time it on the board — all through
    the Project API. (The second and last Zephyr build of this module.)"""
    if not GRAPH_FIXTURE.is_dir():
        pytest.skip("TVM 0.18 fixtures not found at ../shared/fixtures (relative to the repo)")
    project = tmp_path / "operators"
    with ApiClient(TEMPLATE_DIR, env=zephyr_env(), log_path=tmp_path / "t.log") as template:
        generate(template, operator_mlf(tmp_path / "ops"), project, board="native_sim")
    log = tmp_path / "ops.log"
    with project_server(project, log) as client:
        options = all_options(client)
        try:
            client.call("build", options=options)
            client.call("flash", options=options)
        except Exception:
            pytest.fail("build/flash failed:\n" + log.read_text(errors="replace")[-6000:])
        try:
            session = Session(ApiTransport(client, options))
            session.open()
            logits = np.linspace(-2.0, 3.0, 10, dtype=np.float32).reshape(1, 10)
            with session.get_system_lib() as lib, lib.get_function(SOFTMAX) as softmax, \
                    session.array(logits) as source, session.empty((1, 10), "float32") as out:
                softmax(source, out)
                got = out.numpy()
                timer = lib.time_evaluator(SOFTMAX, number=3, repeat=2)
                try:
                    times = timer(source, out)
                finally:
                    timer.free()
            session.close()
        finally:
            NativeSimTarget(read_build(project / "build")).stop()
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # AutoTVM ranks candidates by these: native_sim times them with this computer's clock
    # (its own stands still while code runs), and its flash said so.
    assert len(times) == 2 and all(t > 0 for t in times), times
    assert "utvm: native_sim times are this computer's monotonic clock" in log.read_text()
