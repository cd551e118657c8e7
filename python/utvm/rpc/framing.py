"""Framing: [FE] FF FD | u32 length | payload | u16 CRC-16/CCITT-FALSE, 0xFF escaped as FF FF.

The CRC covers the wire bytes from FF FD through the last escaped payload byte; the
standard library's binascii.crc_hqx is exactly that CRC (poly 0x1021, MSB first).
"""

from __future__ import annotations

import binascii
import struct

ESCAPE, NOP, PACKET_START = 0xFF, 0xFE, 0xFD


def _escape(data: bytes) -> bytes:
    return data.replace(b"\xff", b"\xff\xff")


def encode_frame(payload: bytes, lead_nop: bool = False) -> bytes:
    body = b"\xff\xfd" + _escape(struct.pack("<I", len(payload))) + _escape(payload)
    crc = binascii.crc_hqx(body, 0xFFFF)
    return (b"\xfe" if lead_nop else b"") + body + _escape(struct.pack("<H", crc))


class Unframer:
    """Incremental receiver: feed bytes, get complete payloads whose CRC checked out.

    Garbage before a frame is skipped; a frame interrupted by a new start, with a bad
    escape, a bad CRC or a length over `max_payload` is dropped and counted.
    """

    def __init__(self, max_payload: int = 1 << 24) -> None:
        self.max_payload = max_payload
        self.bad_crc = 0
        self.dropped = 0
        self._reset()
        self._escape = False

    def _reset(self) -> None:
        self._state = "start"
        self._crc = 0
        self._field = bytearray()
        self._length = 0
        self._oversize = False
        self._payload = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        i, n = 0, len(data)
        while i < n:
            if self._state == "payload" and not self._escape:
                # Bulk path: copy everything up to the next escape byte in one go.
                limit = min(n, i + self._length)
                stop = data.find(b"\xff", i, limit)
                end = limit if stop < 0 else stop
                if end > i:
                    chunk = data[i:end]
                    self._crc = binascii.crc_hqx(chunk, self._crc)
                    if not self._oversize:
                        self._payload += chunk
                    self._length -= end - i
                    i = end
                    if self._length == 0:
                        self._state = "crc"
                    continue
            self._byte(data[i], out)
            i += 1
        return out

    def _byte(self, b: int, out: list[bytes]) -> None:
        if self._state == "start":
            if self._escape and b == PACKET_START:
                self._begin()
            else:
                self._escape = b == ESCAPE
            return
        if self._state != "crc":
            self._crc = binascii.crc_hqx(bytes((b,)), self._crc)
        if not self._escape:
            if b == ESCAPE:
                self._escape = True
            else:
                self._take(b, out)
            return
        self._escape = False
        if b == ESCAPE:
            self._take(ESCAPE, out)
        elif b == PACKET_START:
            self.dropped += 1
            self._begin()
        elif b != NOP:
            self.dropped += 1
            self._reset()

    def _begin(self) -> None:
        self._reset()
        self._state = "length"
        self._crc = binascii.crc_hqx(b"\xff\xfd", 0xFFFF)
        self._escape = False

    def _take(self, b: int, out: list[bytes]) -> None:
        if self._state == "length":
            self._field.append(b)
            if len(self._field) == 4:
                self._length = struct.unpack("<I", self._field)[0]
                self._oversize = self._length > self.max_payload
                self._field.clear()
                self._state = "payload" if self._length else "crc"
        elif self._state == "payload":
            if not self._oversize:
                self._payload.append(b)
            self._length -= 1
            if self._length == 0:
                self._state = "crc"
        elif self._state == "crc":
            self._field.append(b)
            if len(self._field) == 2:
                received = struct.unpack("<H", self._field)[0]
                payload, crc, oversize = bytes(self._payload), self._crc, self._oversize
                self._reset()
                if received != crc:
                    self.bad_crc += 1
                elif oversize:
                    self.dropped += 1
                else:
                    out.append(payload)
