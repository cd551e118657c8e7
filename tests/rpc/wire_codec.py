"""The microTVM wire protocol, host side, for tests: framing, session messages, minRPC packets.

Written from ../shared/docs/microtvm-wire-protocol.md, independently of the C server and of
the utvm Python package, so the tests check the server against the document.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

ESCAPE, PACKET_START, NOP = 0xFF, 0xFD, 0xFE

MSG_START_INIT, MSG_START_REPLY, MSG_TERMINATE, MSG_LOG, MSG_NORMAL = 0x00, 0x01, 0x02, 0x03, 0x10

RPC_SHUTDOWN, RPC_CALL_FUNC, RPC_RETURN, RPC_EXCEPTION = 1, 3, 4, 5
RPC_COPY_FROM_REMOTE, RPC_COPY_TO_REMOTE, RPC_COPY_ACK = 6, 7, 8

# Type codes (crt-abi doc 2.1).
INT, UINT, FLOAT, HANDLE, NULL, DTYPE, DEVICE, DLTENSOR = 0, 1, 2, 3, 4, 5, 6, 7
OBJECT, MODULE, FUNC, STR, BYTES, NDARRAY, BOOL = 8, 9, 10, 11, 12, 13, 15


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE."""
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def escape(data: bytes) -> bytes:
    return data.replace(b"\xff", b"\xff\xff")


def frame(payload: bytes, first_after_reset: bool = False) -> bytes:
    body = b"\xff\xfd" + escape(len(payload).to_bytes(4, "little")) + escape(payload)
    crc = crc16(body)
    return (b"\xfe" if first_after_reset else b"") + body + escape(crc.to_bytes(2, "little"))


def session_message(session_id: int, msg_type: int, body: bytes = b"") -> bytes:
    return struct.pack("<HB", session_id, msg_type) + body


@dataclass
class Message:
    session_id: int
    type: int
    body: bytes


class Unframer:
    """Streaming receiver: feed bytes, collect complete frames (CRC-checked) as Messages."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.bad_frames = 0

    def feed(self, data: bytes) -> list[Message]:
        self._buf.extend(data)
        out: list[Message] = []
        while True:
            start = self._buf.find(b"\xff\xfd")
            if start < 0:
                # Keep a trailing FF: it may begin the next start sequence.
                del self._buf[: max(0, len(self._buf) - 1)]
                return out
            parsed = self._parse_frame(start)
            if parsed is None:  # incomplete
                del self._buf[:start]
                return out
            end, payload, ok = parsed
            del self._buf[:end]
            if not ok or len(payload) < 3:
                self.bad_frames += 1
                continue
            sid, typ = struct.unpack_from("<HB", payload)
            out.append(Message(sid, typ, bytes(payload[3:])))

    def _parse_frame(self, start: int) -> tuple[int, bytes, bool] | None:
        buf = self._buf
        i = start + 2

        def take(n: int) -> bytes | None:
            nonlocal i
            res = bytearray()
            while len(res) < n:
                if i >= len(buf):
                    return None
                b = buf[i]
                i += 1
                if b == ESCAPE:
                    if i >= len(buf):
                        return None
                    nxt = buf[i]
                    i += 1
                    if nxt == ESCAPE:
                        res.append(ESCAPE)
                    elif nxt == NOP:
                        continue
                    else:
                        raise ValueError(f"bad escape FF {nxt:02x}")
                else:
                    res.append(b)
            return bytes(res)

        try:
            length = take(4)
            if length is None:
                return None
            payload = take(int.from_bytes(length, "little"))
            if payload is None:
                return None
            crc_end = i
            crc = take(2)
            if crc is None:
                return None
        except ValueError:
            return i, b"", False
        ok = int.from_bytes(crc, "little") == crc16(bytes(buf[start:crc_end]))
        return i, payload, ok


# ---- minRPC packets ----------------------------------------------------------------------


@dataclass
class Tensor:
    data: int
    device: tuple[int, int]
    ndim: int
    dtype: tuple[int, int, int]
    shape: list[int]
    byte_offset: int
    data_pos: int = 0  # offset of `data` inside the packet (for rewriting)


@dataclass
class Value:
    code: int
    value: object
    pos: int = -1  # offset of an 8-byte handle inside the packet, -1 if not a handle


@dataclass
class Packet:
    """An RPC packet (after its u64 length): code and what could be decoded of the body."""

    code: int
    raw: bytes
    values: list[Value] = field(default_factory=list)
    handle_positions: list[int] = field(default_factory=list)  # 8-byte handles/pointers
    data: bytes = b""


class Reader:
    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("truncated packet")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def i32(self) -> int:
        return struct.unpack("<i", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self.take(8))[0]

    def tensor(self) -> Tensor:
        data_pos = self.pos
        data = self.u64()
        dev = (self.i32(), self.i32())
        ndim = self.i32()
        code, bits, lanes = struct.unpack("<BBH", self.take(4))
        shape = [struct.unpack("<q", self.take(8))[0] for _ in range(ndim)]
        return Tensor(data, dev, ndim, (code, bits, lanes), shape, self.u64(), data_pos)

    def packed_seq(self) -> list[Value]:
        n = self.i32()
        codes = [self.i32() for _ in range(n)]
        values = []
        for code in codes:
            if code in (INT, UINT, BOOL):
                values.append(Value(code, struct.unpack("<q", self.take(8))[0]))
            elif code == FLOAT:
                values.append(Value(code, struct.unpack("<d", self.take(8))[0]))
            elif code in (HANDLE, MODULE, FUNC):
                pos = self.pos
                values.append(Value(code, self.u64(), pos))
            elif code == NULL:
                values.append(Value(code, None))
            elif code in (DTYPE, DEVICE):
                values.append(Value(code, self.take(8)))
            elif code == DLTENSOR:
                values.append(Value(code, self.tensor()))
            elif code in (STR, BYTES):
                values.append(Value(code, self.take(self.u64())))
            else:
                raise ValueError(f"type code {code} in a packed sequence")
        return values


def parse_packet(raw: bytes) -> Packet:
    """Decodes a request or reply packet (raw = bytes after the u64 length)."""
    r = Reader(raw)
    pkt = Packet(r.i32(), raw)
    code = pkt.code
    if code == RPC_CALL_FUNC:
        pkt.handle_positions.append(r.pos)
        r.u64()
        pkt.values = r.packed_seq()
    elif code in (RPC_COPY_TO_REMOTE, RPC_COPY_FROM_REMOTE):
        t = r.tensor()
        pkt.values = [Value(DLTENSOR, t)]
        nbytes = r.u64()
        pkt.data = raw[r.pos : r.pos + nbytes] if code == RPC_COPY_TO_REMOTE else b""
    elif code == RPC_COPY_ACK:
        pkt.data = raw[4:]
    elif code in (RPC_RETURN, RPC_EXCEPTION) or code >= 9:
        pkt.values = r.packed_seq()
    for v in pkt.values:
        if v.pos >= 0:
            pkt.handle_positions.append(v.pos)
        if v.code == DLTENSOR:
            pkt.handle_positions.append(v.value.data_pos)
    return pkt


def rpc_packet(raw: bytes) -> bytes:
    """Prefixes an RPC packet body with its u64 length."""
    return struct.pack("<Q", len(raw)) + raw
