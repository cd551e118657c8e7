"""The host side of loadable firmware, without Zephyr: `--loadable` refused where Zephyr has
no LLEXT, the EDK read from a build, an MLF compiled into one relocatable object (cached by
content), and a board whose firmware cannot load code named as such with the way out."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from testsupport import REPO_ROOT
from utvm.board.build_dir import ZephyrBuild
from utvm.cli import main
from utvm.errors import UtvmError
from utvm.loadable.edk import read_edk, require_loadable
from utvm.loadable.image import build_image, image_key
from utvm.mlf import open_mlf

BUNDLED_MODEL = REPO_ROOT / "samples" / "models" / "tiny_conv_f32" / "aot_packed"
HOST_CC = shutil.which("cc") or shutil.which("gcc")


def test_native_sim_has_no_llext_support(capsys) -> None:
    assert main(["build", "-b", "native_sim", "--mlf", str(BUNDLED_MODEL), "--loadable"]) != 0
    err = capsys.readouterr().err
    assert "error: native_sim has no LLEXT support" in err
    assert "mps2/an385" in err


def _fake_build(tmp_path: Path, loadable: bool, compiler: str = "/usr/bin/true",
                edk_flags: str | None = None) -> ZephyrBuild:
    build_dir = tmp_path / "build"
    zephyr = build_dir / "zephyr"
    zephyr.mkdir(parents=True)
    (zephyr / ".config").write_text(f"CONFIG_UTVM_LOADABLE={'y' if loadable else 'n'}\n"
                                    if loadable else "# CONFIG_UTVM_LOADABLE is not set\n")
    if edk_flags is not None:
        content = f"# Compile flags\nLLEXT_CFLAGS = {edk_flags}\n".encode()
        with tarfile.open(zephyr / "llext-edk.tar.xz", "w:xz") as tar:
            info = tarfile.TarInfo("llext-edk/Makefile.cflags")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
            header = b"#define LL_EXTENSION_SYMBOL(x) const void* const x##_exported = (void*)x;\n"
            info = tarfile.TarInfo("llext-edk/include/zephyr/llext/symbol.h")
            info.size = len(header)
            tar.addfile(info, io.BytesIO(header))
    return ZephyrBuild(build_dir, build_dir, {"CMAKE_C_COMPILER": compiler})


def test_a_firmware_without_loadable_says_how_to_build_one(tmp_path: Path) -> None:
    build = _fake_build(tmp_path, loadable=False)
    with pytest.raises(UtvmError, match=r"cannot load model code .*--loadable"):
        require_loadable(build)


def test_a_loadable_build_without_its_edk_says_what_to_run(tmp_path: Path) -> None:
    build = _fake_build(tmp_path, loadable=True)
    with pytest.raises(UtvmError, match=r"has no LLEXT EDK .*west utvm build --loadable"):
        read_edk(build)


def test_the_edk_flags_point_into_the_unpacked_edk(tmp_path: Path) -> None:
    build = _fake_build(tmp_path, loadable=True,
                        edk_flags='"-mthumb" "-I$(LLEXT_EDK_INSTALL_DIR)/include"')
    edk = read_edk(build)
    assert edk.cflags == ("-mthumb", f"-I{edk.root}/include")
    assert (edk.root / "include" / "zephyr" / "llext" / "symbol.h").is_file()


@pytest.mark.skipif(HOST_CC is None, reason="no host C compiler")
def test_an_mlf_becomes_one_relocatable_object_cached_by_content(tmp_path: Path) -> None:
    """With the host compiler standing in for the board's: one ET_REL file with the
    sections LLEXT maps (a single NOBITS section), the entry point exported, built once."""
    build = _fake_build(tmp_path, loadable=True, compiler=str(Path(HOST_CC).resolve()),
                        edk_flags=f'"-I$(LLEXT_EDK_INSTALL_DIR)/include" '
                        f'"-I{REPO_ROOT}/runtime/include"')
    edk = read_edk(build)
    cache = tmp_path / "cache"
    with open_mlf(BUNDLED_MODEL) as mlf:
        image = build_image(mlf, edk, cache)
        first = image.stat().st_mtime_ns
        assert build_image(mlf, edk, cache) == image
        assert image.stat().st_mtime_ns == first  # taken from the cache, not rebuilt
        key = image_key(mlf, edk)
    assert image.read_bytes()[:4] == b"\x7fELF" and image.read_bytes()[16] == 1  # ET_REL
    sections = subprocess.run(["readelf", "-SW", str(image)], capture_output=True, text=True,
                              check=True).stdout
    assert sections.count("NOBITS") == 1
    assert ".rodata.tvm" not in sections and ".bss.noinit.tvm" not in sections
    symbols = subprocess.run(["nm", str(image)], capture_output=True, text=True,
                             check=True).stdout
    assert "TVMSystemLibEntryPoint_exported" in symbols
    other = tmp_path / "model"
    shutil.copytree(BUNDLED_MODEL, other)
    source = next((other / "codegen" / "host" / "src").glob("*.c"))
    source.write_text(source.read_text() + "\n/* changed */\n")
    with open_mlf(other) as changed:
        assert image_key(changed, edk) != key


@pytest.mark.skipif(HOST_CC is None, reason="no host C compiler")
def test_the_image_carries_each_constant_once(tmp_path: Path) -> None:
    """TVM's packed metadata repeats the constant pool as NDArray bytes the runtime never
    reads; as in a firmware image, the .llext leaves that copy out (ad01's image was bigger
    than a rebuild's because of it)."""
    from elftools.elf.elffile import ELFFile

    build = _fake_build(tmp_path, loadable=True, compiler=str(Path(HOST_CC).resolve()),
                        edk_flags=f'"-I$(LLEXT_EDK_INSTALL_DIR)/include" '
                        f'"-I{REPO_ROOT}/runtime/include"')
    with open_mlf(BUNDLED_MODEL) as mlf:
        image = build_image(mlf, read_edk(build), tmp_path / "cache")
        constants = mlf.constants_size_bytes
    assert constants > 10000
    with image.open("rb") as stream:
        rodata = ELFFile(stream).get_section_by_name(".rodata")["sh_size"]
    assert constants <= rodata < constants + constants // 2


def test_a_board_that_cannot_load_code_is_named_with_the_way_out() -> None:
    from utvm.host.board import start_host_board
    from utvm.loadable.session import board_can_load, load_image
    from utvm.rpc import RpcClient, Session

    if shutil.which("cmake") is None or HOST_CC is None:
        pytest.skip("the host board needs cmake and a C compiler")
    with open_mlf(BUNDLED_MODEL) as mlf, start_host_board(mlf) as link:
        session = Session(link)
        session.start()
        client = RpcClient(session)
        assert not board_can_load(client)
        with pytest.raises(UtvmError, match=r"cannot load model code.*--loadable"):
            load_image(client, b"\x7fELF")


@pytest.mark.skipif(HOST_CC is None, reason="no host C compiler")
def test_an_image_too_big_for_the_board_is_refused_before_upload(tmp_path: Path) -> None:
    from utvm.loadable.fit import check_fits, loaded_bytes

    source = tmp_path / "big.c"
    source.write_text("const char table[200000] = {1};\nchar scratch[100000];\n")
    image = tmp_path / "big.o"
    subprocess.run([str(HOST_CC), "-c", str(source), "-o", str(image)], check=True)
    assert loaded_bytes(image) >= 300000
    build = _fake_build(tmp_path, loadable=True)
    config = build.zephyr_dir / ".config"
    config.write_text(config.read_text() + "CONFIG_UTVM_LOADABLE_STORE_SIZE=1310720\n"
                      "CONFIG_LLEXT_HEAP_SIZE=256\n")
    with pytest.raises(UtvmError, match=r"take \d+ bytes and the board's loader heap holds "
                       r"262144 \(CONFIG_LLEXT_HEAP_SIZE=256 KiB\)"):
        check_fits(image, build)
    config.write_text(config.read_text().replace("1310720", "65536"))
    build._kconfig = None
    with pytest.raises(UtvmError, match=r"upload store holds 65536"):
        check_fits(image, build)
