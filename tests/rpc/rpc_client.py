"""A minimal minRPC client over a Board, for tests that drive the host board by hand."""

from __future__ import annotations

import struct

from board import Board
from wire_codec import (
    BOOL,
    BYTES,
    DEVICE,
    DLTENSOR,
    FLOAT,
    FUNC,
    HANDLE,
    INT,
    MODULE,
    MSG_NORMAL,
    MSG_START_INIT,
    MSG_START_REPLY,
    MSG_TERMINATE,
    NULL,
    RPC_CALL_FUNC,
    RPC_COPY_FROM_REMOTE,
    RPC_COPY_TO_REMOTE,
    RPC_EXCEPTION,
    STR,
    Packet,
    Tensor,
    parse_packet,
    rpc_packet,
    session_message,
)

from utvm.rpc.messages import MessageTable


class RemoteError(Exception):
    """The board answered with kException."""


def encode_args(args: list[tuple[int, object]]) -> bytes:
    """A packed sequence from (type code, value) pairs."""
    out = struct.pack("<i", len(args)) + b"".join(struct.pack("<i", c) for c, _ in args)
    for code, value in args:
        if code in (INT, BOOL, HANDLE, MODULE, FUNC):
            out += struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF)
        elif code == FLOAT:
            out += struct.pack("<d", value)
        elif code == DEVICE:
            out += struct.pack("<ii", *value)
        elif code in (STR, BYTES):
            data = value.encode() if isinstance(value, str) else value
            out += struct.pack("<Q", len(data)) + data
        elif code == DLTENSOR:
            out += encode_tensor(value)
        elif code != NULL:
            raise ValueError(f"cannot encode type code {code}")
    return out


def encode_tensor(t: Tensor) -> bytes:
    return (struct.pack("<QiiiBBH", t.data, t.device[0], t.device[1], t.ndim, *t.dtype)
            + b"".join(struct.pack("<q", d) for d in t.shape) + struct.pack("<Q", t.byte_offset))


class Client:
    def __init__(self, board: Board) -> None:
        self.board = board
        self.session_id = 0
        # The board sends error messages by reference; the host expands them from its ELF.
        self.messages = MessageTable.from_elf(board.exe)

    def handshake(self, host_nonce: int = 0x22) -> int:
        self.board.send(session_message(0, MSG_TERMINATE))
        self.board.send(session_message(host_nonce, MSG_START_INIT, b"\x01"))
        reply = self.board.receive()
        while reply.type == MSG_TERMINATE:  # the board's boot message
            reply = self.board.receive()
        assert reply.type == MSG_START_REPLY and reply.session_id & 0xFF == host_nonce
        self.session_id = reply.session_id
        return self.session_id

    def request(self, code: int, body: bytes) -> Packet:
        self.board.send(session_message(self.session_id, MSG_NORMAL,
                                        rpc_packet(struct.pack("<i", code) + body)))
        msg = self.board.receive(timeout=120)
        assert msg.type == MSG_NORMAL and msg.session_id == self.session_id
        assert struct.unpack_from("<Q", msg.body)[0] == len(msg.body) - 8
        pkt = parse_packet(msg.body[8:])
        if pkt.code == RPC_EXCEPTION:
            raise RemoteError(self.messages.expand(pkt.values[0].value.decode()))
        return pkt

    def get_global(self, name: str) -> int:
        return self.request(9, encode_args([(STR, name)])).values[0].value

    def call(self, func: int, *args: tuple[int, object]) -> Packet:
        return self.request(RPC_CALL_FUNC, struct.pack("<Q", func) + encode_args(list(args)))

    def call_value(self, func: int, *args: tuple[int, object]) -> object:
        """The callee's return value (the handle for modules and functions)."""
        return self.call(func, *args).values[1].value

    def copy_to(self, t: Tensor, data: bytes) -> None:
        self.request(RPC_COPY_TO_REMOTE, encode_tensor(t) + struct.pack("<Q", len(data)) + data)

    def copy_from(self, t: Tensor, nbytes: int) -> bytes:
        return self.request(RPC_COPY_FROM_REMOTE, encode_tensor(t) + struct.pack("<Q", nbytes)).data
