"""Framing layer of the microTVM wire protocol: escaping, packet start, length, CRC.

A frame on the wire is ``[FE] FF FD | u32 LE length | payload | u16 LE CRC``. Every data
byte ``0xFF`` (in length, payload and CRC) is sent as ``FF FF``. The CRC is
CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, MSB first, no final XOR) over the bytes as they
appear on the wire from ``FF FD`` through the last escaped payload byte. ``binascii.crc_hqx``
is exactly that CRC once seeded with 0xFFFF.

The receiver follows TVM's ``Unframer`` rules: garbage before a packet start is skipped, a new
``FF FD`` inside a packet abandons the packet and starts the next one, ``FF FE`` inside a
packet is dropped from the payload but still counted in the CRC (so it breaks that packet),
any other escape abandons the packet, and a bad CRC drops the packet.
"""

from __future__ import annotations

import binascii
import re
import struct
from dataclasses import dataclass

ESCAPE = 0xFF  # Escape::kEscapeStart
NOP = 0xFE  # Escape::kEscapeNop: after FF a no-op; alone, an ordinary byte
PACKET_START = 0xFD  # Escape::kPacketStart: after FF, a packet starts

START_SEQUENCE = b"\xff\xfd"
ESCAPE_BYTE = b"\xff"
ESCAPED_FF = b"\xff\xff"
# The longest prefix made of plain bytes and whole FF FF pairs, paired left to right as the
# receiver pairs them (an odd run's last FF is left out). Greedy, with nothing after the
# repetition, so it never backtracks; and no possessive quantifier: Python 3.11.2 (Debian 12)
# matches those wrongly, which dropped large frames split between reads.
_CLEAN_RUN = re.compile(rb"(?:[^\xff]+|\xff\xff)*")
MAX_WIRE_LENGTH = 0xFFFF_FFFF  # the length field is a u32
CRC_SEED = 0xFFFF


def crc16(data: bytes, crc: int = CRC_SEED) -> int:
    """CRC-16/CCITT-FALSE of ``data``, continuing from ``crc``."""
    return binascii.crc_hqx(data, crc)


def escape(data: bytes) -> bytes:
    """Doubles every 0xFF: the only byte the protocol escapes."""
    return data.replace(ESCAPE_BYTE, ESCAPED_FF)


_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")
_START_CRC = binascii.crc_hqx(START_SEQUENCE, CRC_SEED)
_NOP_AND_START = b"\xfe" + START_SEQUENCE


def encode_frame(payload: bytes | tuple[bytes, ...], lead_nop: bool = False) -> bytes:
    """One complete frame. ``lead_nop`` adds the lone FE TVM sends before its first frame.

    ``payload`` may come in parts (joined once, here, instead of by every layer above).
    """
    if type(payload) is tuple:
        payload = b"".join(payload)
    if len(payload) > MAX_WIRE_LENGTH:
        raise ValueError(f"a frame carries at most {MAX_WIRE_LENGTH} bytes, not {len(payload)}")
    data = _U32.pack(len(payload)) + payload
    if ESCAPE_BYTE in data:  # searching first is cheaper than always replacing
        data = data.replace(ESCAPE_BYTE, ESCAPED_FF)
    tail = _U16.pack(binascii.crc_hqx(data, _START_CRC))  # the CRC starts at FF FD
    if ESCAPE_BYTE in tail:
        tail = tail.replace(ESCAPE_BYTE, ESCAPED_FF)
    return b"".join((_NOP_AND_START if lead_nop else START_SEQUENCE, data, tail))


class Framer:
    """Transmit side: frames payloads, with TVM's lone FE before the first frame.

    TVM's transmitter starts in a reset state after construction or a failed write, and
    precedes the next frame with a single unescaped FE (it cancels a dangling FF the receiver
    may have seen, so FF FD cannot read as FF FF + FD). Call ``reset()`` after a write error.
    """

    def __init__(self) -> None:
        self._after_reset = True

    def reset(self) -> None:
        self._after_reset = True

    def frame(self, payload: bytes | tuple[bytes, ...]) -> bytes:
        data = encode_frame(payload, lead_nop=self._after_reset)
        self._after_reset = False
        return data


@dataclass
class UnframerStats:
    """What the receiver threw away, for diagnostics and tests."""

    frames: int = 0  # good frames delivered
    bad_crc: int = 0  # complete frames whose CRC did not match
    short_packets: int = 0  # frames cut off by a new FF FD (kTvmErrorFramingShortPacket)
    invalid_escapes: int = 0  # FF followed by a byte other than FD/FE/FF inside a frame
    oversize: int = 0  # length fields above the receiver's limit
    garbage_bytes: int = 0  # bytes skipped while hunting for a packet start


# Receiver states, in TVM's order.
_HUNT, _LENGTH, _PAYLOAD, _CRC = range(4)


class Unframer:
    """Receive side, incremental: ``feed(bytes)`` returns the payloads of complete good frames.

    Bytes may arrive split anywhere; a partial frame waits for the next ``feed``. A length
    above ``max_payload`` is rejected at once (the frame is dropped and hunting restarts right
    after its length field), so a corrupted length cannot make the receiver buffer gigabytes.
    """

    def __init__(self, max_payload: int = 1 << 24) -> None:
        if not 0 <= max_payload <= MAX_WIRE_LENGTH:
            raise ValueError(f"max_payload must be within 0..{MAX_WIRE_LENGTH}")
        self.max_payload = max_payload
        self.stats = UnframerStats()
        self._saw_escape = False
        self._drop_frame()

    @property
    def in_frame(self) -> bool:
        """True while part of a frame has been received (a truncated frame, if input ended)."""
        return self._state != _HUNT

    def _drop_frame(self) -> None:
        self._state = _HUNT
        self._crc = CRC_SEED
        self._field = bytearray()  # length or CRC bytes collected so far
        self._remaining = 0  # payload bytes still expected
        self._payload = bytearray()

    def _start_frame(self) -> None:
        self._drop_frame()
        self._state = _LENGTH
        self._crc = crc16(START_SEQUENCE)

    def feed(self, data: bytes) -> list[bytes]:
        if (self._state == _HUNT and not self._saw_escape and data[:2] == START_SEQUENCE
                and data.find(ESCAPE_BYTE, 2) < 0):
            # The usual reply: exactly one whole frame, with no FF after its start.
            length = int.from_bytes(data[2:6], "little")
            if len(data) == length + 8 and length <= self.max_payload:
                stats = self.stats
                stats.garbage_bytes += 1  # its FF, as byte by byte (see _hunt)
                if int.from_bytes(data[-2:], "little") == binascii.crc_hqx(data[:-2], CRC_SEED):
                    stats.frames += 1
                    return [data[6:-2]]
                stats.bad_crc += 1
                return []
        out: list[bytes] = []
        i, n = 0, len(data)
        while i < n:
            # Fast paths work on whole runs of bytes with C-speed bytes methods; anything
            # unusual (an escape split across reads, a lone FF) goes byte by byte below.
            if not self._saw_escape:
                state = self._state
                if state == _HUNT:
                    i = self._hunt(data, i, n, out)
                    continue
                if state == _PAYLOAD:
                    used = self._payload_run(data, i, n)
                    if used:
                        i += used
                        continue
                else:  # the rest of the length or CRC field, when it holds no FF
                    need = (4 if state == _LENGTH else 2) - len(self._field)
                    chunk = data[i:i + need]
                    if len(chunk) == need and b"\xff" not in chunk:
                        if state == _LENGTH:
                            self._crc = crc16(chunk, self._crc)
                        self._field += chunk[:-1]
                        self._data_byte(chunk[-1], out)
                        i += need
                        continue
            self._byte(data[i], out)
            i += 1
        return out

    def _hunt(self, data: bytes, i: int, n: int, out: list[bytes]) -> int:
        """Skips to just after the next FF FD (as ``_byte`` would, stats included), and takes
        the whole frame at once when it is all there and holds no FF (a typical reply)."""
        start = data.find(START_SEQUENCE, i)
        if start < 0:
            self.stats.garbage_bytes += n - i
            self._saw_escape = data[n - 1] == ESCAPE
            return n
        self.stats.garbage_bytes += start - i + 1  # the FF of FF FD counts, as byte by byte
        head = data[start + 2:start + 6]
        if len(head) == 4 and ESCAPE_BYTE not in head:
            length = int.from_bytes(head, "little")
            end = start + 6 + length
            if length <= self.max_payload and end + 2 <= n:
                payload, tail = data[start + 6:end], data[end:end + 2]
                if ESCAPE_BYTE not in payload and ESCAPE_BYTE not in tail:
                    if int.from_bytes(tail, "little") == crc16(data[start:end]):
                        self.stats.frames += 1
                        out.append(payload)
                    else:
                        self.stats.bad_crc += 1
                    return end + 2
        self._start_frame()
        return start + 2

    def _payload_run(self, data: bytes, i: int, n: int) -> int:
        """Takes the longest run of payload from ``data[i:]`` that holds no escape other than
        FF FF, un-escaped in bulk; returns the raw bytes used (0: a lone FF comes first)."""
        remaining = self._remaining
        raw = data[i:min(n, i + 2 * remaining)]  # never more than the payload can span
        plain = raw
        if ESCAPE_BYTE in raw:
            # replace() pairs FFs left to right, as the receiver does. Each pair leaves one FF
            # and shortens the data by one; any other FF left over was no FF FF escape.
            plain = raw.replace(ESCAPED_FF, ESCAPE_BYTE)
            if plain.count(ESCAPE_BYTE) != len(raw) - len(plain):  # stop before that escape
                raw = raw[:_CLEAN_RUN.match(raw).end()]
                plain = raw.replace(ESCAPED_FF, ESCAPE_BYTE)
        if len(plain) > remaining:  # the run reaches past the payload: cut it there
            raw = raw[:remaining + plain.count(ESCAPE_BYTE, 0, remaining)]
            plain = plain[:remaining]
        if raw:
            self._crc = crc16(raw, self._crc)  # the CRC covers the escaped (wire) bytes
            self._payload += plain
            self._remaining = remaining = remaining - len(plain)
            if remaining == 0:
                self._state = _CRC
        return len(raw)

    def _byte(self, b: int, out: list[bytes]) -> None:
        if self._state == _HUNT:
            if self._saw_escape and b == PACKET_START:
                self._saw_escape = False
                self._start_frame()
            else:
                self._saw_escape = b == ESCAPE
                self.stats.garbage_bytes += 1
            return
        if self._state != _CRC:
            # The CRC covers every raw byte of length and payload, escapes (and no-ops) included.
            self._crc = crc16(bytes((b,)), self._crc)
        if not self._saw_escape:
            if b == ESCAPE:
                self._saw_escape = True
            else:
                self._data_byte(b, out)
            return
        self._saw_escape = False
        if b == ESCAPE:
            self._data_byte(ESCAPE, out)
        elif b == PACKET_START:
            self.stats.short_packets += 1
            self._start_frame()
        elif b != NOP:
            self.stats.invalid_escapes += 1
            self._drop_frame()

    def _data_byte(self, b: int, out: list[bytes]) -> None:
        if self._state == _LENGTH:
            self._field.append(b)
            if len(self._field) == 4:
                (length,) = struct.unpack("<I", self._field)
                self._field.clear()
                if length > self.max_payload:
                    self.stats.oversize += 1
                    self._drop_frame()
                    return
                self._remaining = length
                self._state = _PAYLOAD if length else _CRC
        elif self._state == _PAYLOAD:
            self._payload.append(b)
            self._remaining -= 1
            if self._remaining == 0:
                self._state = _CRC
        else:
            self._field.append(b)
            if len(self._field) == 2:
                (received,) = struct.unpack("<H", self._field)
                good = received == self._crc
                payload = bytes(self._payload)
                self._drop_frame()
                if good:
                    self.stats.frames += 1
                    out.append(payload)
                else:
                    self.stats.bad_crc += 1
