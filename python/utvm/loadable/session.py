"""Loading model code onto a running board over RPC, with the calls TVM's own host makes
(``tvm.rpc.server.upload`` / ``load_module``) plus utvm's append for images larger than one
message."""

from __future__ import annotations

from collections.abc import Callable

from utvm.errors import UtvmError
from utvm.rpc.client import RpcClient
from utvm.rpc.errors import RemoteError
from utvm.rpc.remote import RemoteModule

IMAGE_NAME = "model.llext"
UPLOAD = "tvm.rpc.server.upload"
LOAD_MODULE = "tvm.rpc.server.load_module"
APPEND = "utvm.loadable.UploadAppend"
UNLOAD = "utvm.loadable.Unload"
BYTES_IN_USE = "utvm.loadable.BytesInUse"
STORE_SIZE = "utvm.loadable.StoreSize"
# CallFunc header, handle, argument count and codes, the name and the bytes' length fields.
_CALL_OVERHEAD = 64
# Pieces of at most this much even when the board takes larger messages (a loadable build
# takes 640 KiB, for TVM's host): progress shows, and each piece's reply says it arrived.
_MAX_PIECE = 64 * 1024

NOT_LOADABLE = (
    "the board's firmware cannot load model code (it has no tvm.rpc.server.load_module). "
    "Build and flash one that can: `west utvm build -b BOARD --loadable` (Arm boards with "
    "LLEXT), then `west utvm flash`.")


def board_can_load(client: RpcClient) -> bool:
    """Asks the board: True when its firmware registers tvm.rpc.server.load_module."""
    func = client.get_global(LOAD_MODULE)
    if func is None:
        return False
    func.free()
    return True


def _call(client: RpcClient, name: str, *args: object) -> object:
    func = client.get_global(name)
    if func is None:
        raise UtvmError(NOT_LOADABLE)
    with func:
        return func(*args)


def upload_image(client: RpcClient, data: bytes, name: str = IMAGE_NAME,
                 progress: Callable[[int, int], None] | None = None) -> None:
    """Stores ``data`` on the board under ``name``, in message-sized pieces."""
    store = _call(client, STORE_SIZE)
    if isinstance(store, int) and len(data) > store:
        raise UtvmError(f"the model image is {len(data)} bytes, the board's upload store holds "
                        f"{store} (CONFIG_UTVM_LOADABLE_STORE_SIZE): rebuild the firmware "
                        "with a larger store, or use a smaller model")
    piece = min(client.max_packet_size() - _CALL_OVERHEAD - len(name), _MAX_PIECE)
    if piece <= 0:
        raise UtvmError("the board's messages are too small to carry an upload")
    for offset in range(0, max(len(data), 1), piece):
        chunk = data[offset:offset + piece]
        _call(client, UPLOAD if offset == 0 else APPEND, name, chunk)
        if progress is not None:
            progress(offset + len(chunk), len(data))


def load_image(client: RpcClient, data: bytes,
               progress: Callable[[int, int], None] | None = None) -> RemoteModule:
    """Uploads and links an .llext; the module executors are then created on."""
    if not board_can_load(client):
        raise UtvmError(NOT_LOADABLE)
    upload_image(client, data, IMAGE_NAME, progress)
    try:
        module = _call(client, LOAD_MODULE, IMAGE_NAME)
    except RemoteError as exc:
        raise UtvmError(f"the board refused the model image: {exc}") from exc
    if not isinstance(module, RemoteModule):
        raise UtvmError(f"{LOAD_MODULE} returned {module!r}, not a module")
    module.name = IMAGE_NAME
    return module


def unload(client: RpcClient) -> None:
    """Frees the loaded model's code (executors on it must be closed first)."""
    _call(client, UNLOAD)


def bytes_in_use(client: RpcClient) -> tuple[int, int]:
    """(loader heap, runtime memory) bytes in use on the board."""
    loader = _call(client, BYTES_IN_USE, 0)
    runtime = _call(client, BYTES_IN_USE, 1)
    assert isinstance(loader, int) and isinstance(runtime, int)
    return loader, runtime
