"""Helpers for the board-handling tests (imported by name: pytest puts this folder on
sys.path): fake TVM checkouts and fake Zephyr build folders.

TVM itself is not installed here, so its checks run against small TVM-shaped trees written
into tmp_path; the fake `tvm.driver.tvmc.compile` writes a given MLF and records what it
was asked, so the compile plumbing is exercised for real.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
BUNDLED_MODEL = REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "aot_packed"
BUNDLED_DATA = BUNDLED_MODEL.parent / "test_data"  # its input and TVM's output, .npy

_FAKE_TVMC = '''
import json, os, tarfile

class TVMCModel:
    def __init__(self, path, shape_dict):
        self.path, self.shape_dict = path, shape_dict
        self.mod, self.params = ("relay", path), {"weights": 1}

def load(path, shape_dict=None, model_format=None):
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    if open(path, "rb").read().startswith(b"broken"):
        raise ValueError("this is not a TFLite flatbuffer")
    return TVMCModel(path, shape_dict)

def compile(tvmc_model, target, executor=None, runtime=None, package_path=None,
            output_format="so", pass_context_configs=None, mod_name="default", **kwargs):
    with open(os.environ["FAKE_TVM_LOG"], "a") as log:
        log.write(json.dumps({
            "model": tvmc_model.path, "target": target, "executor": executor.name,
            "executor_attrs": executor.attrs, "runtime": runtime.name,
            "runtime_attrs": runtime.attrs, "pass_configs": pass_context_configs,
            "output_format": output_format, "mod_name": mod_name}) + "\\n")
    with tarfile.open(package_path, "w") as tar:
        tar.add(os.environ["FAKE_TVM_MLF"], arcname=".")
    return package_path
'''

# TVM's CMSIS-NN flow (partition_for_cmsisnn, relay.build, export_model_library_format): each
# step logs what it got, the export writes the given MLF.
_FAKE_CMSIS_NN = {
    "target.py": '''
class Target:
    def __init__(self, text):
        self.text = text
    def __str__(self):
        return self.text
''',
    # Where TVM 0.18 defines it: `tvm.transform` is only an attribute of the package.
    "ir/__init__.py": "",
    "ir/transform.py": '''
import json, os

class PassContext:
    def __init__(self, opt_level=2, config=None):
        self.opt_level, self.config = opt_level, config
    def __enter__(self):
        with open(os.environ["FAKE_TVM_LOG"], "a") as log:
            log.write(json.dumps({"pass_context": self.opt_level, "config": self.config}) + "\\n")
    def __exit__(self, *exc):
        return False
''',
    "relay/__init__.py": '''
import json, os

def build(mod, target=None, executor=None, runtime=None, params=None, mod_name="default"):
    with open(os.environ["FAKE_TVM_LOG"], "a") as log:
        log.write(json.dumps({"relay_build": mod, "targets": [str(t) for t in target],
                              "executor_attrs": executor.attrs, "runtime": runtime.name,
                              "mod_name": mod_name}) + "\\n")
    return ("built", mod_name)
''',
    "relay/op/__init__.py": "",
    "relay/op/contrib/__init__.py": "",
    "relay/op/contrib/cmsisnn.py": '''
def partition_for_cmsisnn(mod, params=None, mod_name="default", **opts):
    assert params, "the parameters are bound before partitioning"
    return ["partitioned_for_cmsisnn", mod, mod_name]
''',
    "micro/__init__.py": '''
import json, os, tarfile

def export_model_library_format(module, path):
    with open(os.environ["FAKE_TVM_LOG"], "a") as log:
        log.write(json.dumps({"export": list(module)}) + "\\n")
    with tarfile.open(path, "w") as tar:
        tar.add(os.environ["FAKE_TVM_MLF"], arcname=".")
    return path
''',
    "driver/tvmc/pass_config.py": '''
def parse_configs(configs):
    return {c.split("=")[0]: int(c.split("=")[1]) for c in configs or []}
''',
}

_FAKE_BACKEND = '''
class _Entity:
    def __init__(self, name, attrs=None):
        self.name, self.attrs = name, dict(attrs or {})
    def __str__(self):
        return f"{self.name}{self.attrs}"

class Executor(_Entity):
    pass

class Runtime(_Entity):
    pass
'''


def write_fake_tvm(root: Path, version: str = "0.18.0", micro: bool = True,
                   broken_import: bool = False, init_text: str | None = None) -> Path:
    """A TVM-shaped source tree at ``root`` (only what utvm looks at and imports)."""
    package = root / "python" / "tvm"
    files = {
        "__init__.py": init_text if init_text is not None else (
            "raise ImportError('libtvm.so not found')\n" if broken_import
            else f"__version__ = {version!r}\n"),
        "_ffi/__init__.py": "",
        "_ffi/libinfo.py": f"__version__ = {version!r}\n",
        "driver/__init__.py": "",
        "driver/tvmc/__init__.py": textwrap.dedent(_FAKE_TVMC),
        "relay/__init__.py": "",
        "relay/backend/__init__.py": textwrap.dedent(_FAKE_BACKEND),
    }
    files.update({name: textwrap.dedent(text) for name, text in _FAKE_CMSIS_NN.items()})
    if micro:
        files["micro/__init__.py"] = textwrap.dedent(_FAKE_CMSIS_NN["micro/__init__.py"])
    else:
        del files["micro/__init__.py"]
    for relative, text in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def tvm_calls(tmp_path: Path) -> list[dict[str, object]]:
    log = tmp_path / "tvm-calls.jsonl"
    if not log.is_file():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def write_zephyr_build(folder: Path, board: str = "native_sim",
                       kconfig: dict[str, str] | None = None,
                       cache: dict[str, str] | None = None,
                       source_dir: Path | None = None) -> Path:
    """A folder that looks like a configured Zephyr build to utvm (CMake cache, .config)."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = {
        "ZEPHYR_BASE:PATH": str(folder / "zephyr-base"),
        "BOARD:STRING": board,
        "CACHED_BOARD:STRING": board,
        "CMAKE_PROJECT_NAME:STATIC": "app",
        "APPLICATION_SOURCE_DIR:PATH": str(source_dir or REPO_ROOT / "samples" / "rpc_server"),
    }
    entries.update(cache or {})
    (folder / "CMakeCache.txt").write_text(
        "# fake cache\n" + "".join(f"{k}={v}\n" for k, v in entries.items()))
    (folder / "zephyr").mkdir(exist_ok=True)
    config = {"CONFIG_BOARD": f'"{board}"', "CONFIG_KERNEL_BIN_NAME": '"zephyr"'}
    config.update(kconfig or {})
    (folder / "zephyr" / ".config").write_text("".join(f"{k}={v}\n" for k, v in config.items()))
    return folder


def python_script(path: Path, body: str) -> Path:
    """An executable Python script (for fake simulators and fake west)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


# ----------------------------------------------------------------------------------------
# Real west workspaces

MODULE_FILES = ("west_commands", "west.yml", "zephyr/module.yml")


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=test@example.com", "-c", "user.name=test",
                    "-c", "init.defaultBranch=main", *args], cwd=folder, check=True,
                   capture_output=True)


def commit_all(folder: Path, message: str) -> None:
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", message)


def module_repo(tmp_path: Path, own_manifest: str | None = None) -> Path:
    """A git repository holding this module's west-facing files, as users would clone it."""
    repo = tmp_path / "utvm-module"
    repo.mkdir()
    for relative in MODULE_FILES:
        source = REPO_ROOT / relative
        target = repo / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    if own_manifest is not None:
        (repo / "west.yml").write_text(own_manifest)
    git(repo, "init", "-q")
    commit_all(repo, "module")
    return repo


def workspace(tmp_path: Path, projects: str) -> Path:
    """A west workspace (manifest repository + `west update`) with the given projects."""
    top = tmp_path / "workspace"
    manifest = top / "manifest"
    manifest.mkdir(parents=True)
    (manifest / "west.yml").write_text(
        "manifest:\n  projects:\n" + projects + "  self:\n    path: manifest\n")
    git(manifest, "init", "-q")
    commit_all(manifest, "manifest")
    west(top, "init", "-l", "manifest")
    west(top, "update")
    return top


def west(top: Path, *args: str, check: bool = True, zephyr: bool = False,
         timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Runs real west in workspace ``top``; ZEPHYR_BASE is passed on only if ``zephyr``."""
    hidden = ("WEST_CONFIG_LOCAL",) if zephyr else ("ZEPHYR_BASE", "WEST_CONFIG_LOCAL")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env["WEST_CONFIG_GLOBAL"] = str(top.parent / "west-global.ini")
    env["WEST_CONFIG_SYSTEM"] = str(top.parent / "west-system.ini")
    result = subprocess.run([sys.executable, "-m", "west", *args], cwd=top, env=env,
                            capture_output=True, text=True, check=False, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"west {' '.join(args)} failed:\n{result.stdout[-6000:]}\n"
                    f"{result.stderr[-6000:]}")
    return result


def project_entry(repo: Path, extra: str) -> str:
    return (f"    - name: utvm\n      url: {repo.as_uri()}\n      revision: main\n"
            f"      path: modules/lib/utvm\n{extra}")


PROJECT_WEST_COMMANDS = "      west-commands: west_commands/west-commands.yml\n"


def cmsis_nn_modules(work: Path, tree: Path, zephyr_base: Path) -> list[Path]:
    """Zephyr modules for a CMSIS-NN build, to pass as -DEXTRA_ZEPHYR_MODULES: ``tree`` (a
    CMSIS-NN v4.1.0 source tree, the one TVM 0.18's calls fit; Zephyr 4.1's own module pins a
    newer one) as the module cmsis-nn, and, when the workspace has no cmsis-dsp (Zephyr's
    CONFIG_CMSIS_NN selects CONFIG_CMSIS_DSP; CMSIS-NN uses none of it), an empty stand-in
    with the files Zephyr's cmsis-dsp glue compiles."""
    module_yml = "build:\n  cmake-ext: True\n  kconfig-ext: True\n"
    nn = work / "cmsis-nn"
    (nn / "zephyr").mkdir(parents=True, exist_ok=True)
    for part in ("Include", "Source"):
        if not (nn / part).exists():
            (nn / part).symlink_to(tree / part)
    (nn / "zephyr" / "module.yml").write_text("name: cmsis-nn\n" + module_yml)
    modules = [nn]
    if not (zephyr_base.parent / "modules" / "lib" / "cmsis-dsp").is_dir():
        dsp = work / "cmsis-dsp-empty"
        for folder in ("zephyr", "Include", "PrivateInclude", "Source/CommonTables"):
            (dsp / folder).mkdir(parents=True, exist_ok=True)
        glue = (zephyr_base / "modules" / "cmsis-dsp" / "CMakeLists.txt").read_text()
        for name in set(re.findall(r"Source/CommonTables/(\w+\.c)", glue)):
            (dsp / "Source" / "CommonTables" / name).write_text("typedef int empty_unit;\n")
        (dsp / "zephyr" / "module.yml").write_text("name: cmsis-dsp\n" + module_yml)
        modules.append(dsp)
    return modules


def why_no_qemu_board(what: str, fixtures_root: Path | None = None,
                      fixtures_missing: str | None = None) -> str | None:
    """Why the Cortex-M board tests in QEMU cannot run here (``what`` names them), or None:
    they need a Zephyr tree (ZEPHYR_BASE), qemu-system-arm, the fixtures (the TVM 0.18 ones
    unless given) and an Arm toolchain."""
    from testsupport import FIXTURES_MISSING, FIXTURES_ROOT

    if not os.environ.get("ZEPHYR_BASE"):
        return f"ZEPHYR_BASE is not set: {what} need a Zephyr tree"
    if shutil.which("qemu-system-arm") is None:
        return "qemu-system-arm not found (apt-get install qemu-system-arm)"
    if not (fixtures_root or FIXTURES_ROOT).is_dir():
        return fixtures_missing or FIXTURES_MISSING
    if arm_toolchain_env() is None:
        return ("no Arm toolchain: set ZEPHYR_TOOLCHAIN_VARIANT (zephyr or gnuarmemb), or put "
                "arm-none-eabi-gcc on PATH")
    return None


def require_mps2_an385_in_qemu(what: str) -> None:
    """At module level: skips the module, saying why, unless west and all that
    why_no_qemu_board() asks for are there."""
    pytest.importorskip("west", reason="west is not installed (pip install west)")
    reason = why_no_qemu_board(what)
    if reason is not None:
        pytest.skip(reason, allow_module_level=True)


def arm_toolchain_env() -> dict[str, str] | None:
    """The environment's Cortex-M toolchain choice ({}), else Debian's arm-none-eabi-gcc, else
    None (no Arm toolchain)."""
    variant = os.environ.get("ZEPHYR_TOOLCHAIN_VARIANT", "")
    if variant and variant not in ("host", "llvm"):
        return {}
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        return None
    return {"ZEPHYR_TOOLCHAIN_VARIANT": "gnuarmemb",
            "GNUARMEMB_TOOLCHAIN_PATH": str(Path(gcc).resolve().parent.parent)}


def run_utvm(*args: str, check: bool = True,
             timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """`utvm ARGS` with the Arm toolchain in the environment; a failure fails the test with
    the end of its output."""
    env = {**os.environ, **(arm_toolchain_env() or {})}
    result = subprocess.run([sys.executable, "-m", "utvm", *args], capture_output=True,
                            text=True, env=env, timeout=timeout, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"utvm {' '.join(args)} failed ({result.returncode}):\n"
                    f"{(result.stdout + result.stderr)[-6000:]}", pytrace=False)
    return result


def console_until_verdict(command: list[str], cwd: Path, env: dict[str, str] | None = None,
                          timeout: float = 600) -> str:
    """Runs a board and returns its console up to samples/aot_inference's verdict line. A
    board that goes silent ends the wait too: a timer stops it, which ends its output."""
    import signal
    import threading

    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert process.stdout is not None
    watchdog = threading.Timer(timeout, os.killpg, (process.pid, signal.SIGTERM))
    watchdog.start()
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("aot_inference: "):
                break
    finally:
        watchdog.cancel()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    return "".join(lines)


def qemu_console_until_verdict(build_dir: Path, extra_env: dict[str, str] | None = None,
                               timeout: float = 600) -> str:
    """Runs a Zephyr QEMU build with `west build -t run` (as `west utvm flash` does for boards
    Zephyr runs in QEMU itself, e.g. the AN521's CPU1 after an empty CPU0 image) and returns
    its console up to samples/aot_inference's verdict line."""
    from utvm.board.zephyr_env import West

    zephyr_west = West.for_zephyr(Path(os.environ["ZEPHYR_BASE"]))
    return console_until_verdict(
        zephyr_west.command("build", "-d", str(build_dir), "-t", "run"), zephyr_west.cwd,
        {**(zephyr_west.env or os.environ), **(extra_env or {})}, timeout)
