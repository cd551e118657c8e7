"""utvm.rpc.framing: escapes, CRC, and the receiver's handling of damaged input (doc §2)."""

from __future__ import annotations

import random

import pytest

from utvm.rpc.framing import Framer, Unframer, crc16, encode_frame, escape

# Doc §2.4 and §5 byte dumps (verified against TVM's own Framer).
DOC_ESCAPE_EXAMPLE = bytes.fromhex("fe ff fd 07 00 00 00 22 ff ff 10 ff ff ff ff fd 00 1c 1a")
DOC_BOOT_TERMINATE = bytes.fromhex("fe ff fd 03 00 00 00 00 00 02 66 77")
DOC_BOOT_LOG = (bytes.fromhex("ff fd 24 00 00 00 00 00 03") + b"microTVM Zephyr runtime - running"
                + bytes.fromhex("26 4c"))
DOC_START_INIT = bytes.fromhex("ff fd 04 00 00 00 22 00 00 01 0d 03")
DOC_START_REPLY = bytes.fromhex("ff fd 04 00 00 00 22 82 01 01 06 65")
DOC_GET_SYSTEM_LIB = bytes.fromhex(
    "ff fd 30 00 00 00 22 82 10 25 00 00 00 00 00 00 00 09 00 00 00 01 00 00 00 0b 00 00 00"
    " 11 00 00 00 00 00 00 00") + b"runtime.SystemLib" + bytes.fromhex("5d 41")


def _payload(frame: bytes) -> bytes:
    (payload,) = Unframer().feed(frame)
    return payload


def test_crc_is_ccitt_false() -> None:
    assert crc16(b"123456789") == 0x29B1
    assert crc16(b"") == 0xFFFF
    assert crc16(b"6789", crc16(b"12345")) == 0x29B1  # continues across pieces


def test_escape_only_doubles_ff() -> None:
    assert escape(bytes([0xFD, 0xFE, 0xFF, 0x00])) == bytes([0xFD, 0xFE, 0xFF, 0xFF, 0x00])


def test_doc_escape_example_byte_for_byte() -> None:
    payload = bytes.fromhex("22 ff 10 ff ff fd 00")
    assert encode_frame(payload, lead_nop=True) == DOC_ESCAPE_EXAMPLE
    assert Unframer().feed(DOC_ESCAPE_EXAMPLE) == [payload]


def test_escaped_length_field() -> None:
    payload = b"\xab" * 255
    frame = encode_frame(payload)
    assert frame[:7] == bytes.fromhex("ff fd ff ff 00 00 00")
    assert frame[-2:] == bytes.fromhex("31 b9") and len(frame) == 264
    assert Unframer().feed(frame) == [payload]


@pytest.mark.parametrize("frame", [DOC_BOOT_TERMINATE, DOC_BOOT_LOG, DOC_START_INIT,
                                   DOC_START_REPLY, DOC_GET_SYSTEM_LIB])
def test_doc_session_frames_round_trip(frame: bytes) -> None:
    lead = frame[0] == 0xFE
    assert encode_frame(_payload(frame), lead_nop=lead) == frame


def test_framer_sends_lone_fe_only_after_reset() -> None:
    framer = Framer()
    first, second = framer.frame(b"\x00\x00\x02"), framer.frame(b"\x00\x00\x02")
    assert first == DOC_BOOT_TERMINATE and second == DOC_BOOT_TERMINATE[1:]
    framer.reset()  # e.g. after a failed write
    assert framer.frame(b"\x00\x00\x02") == DOC_BOOT_TERMINATE


def test_random_payloads_survive_any_split() -> None:
    rng = random.Random(7)
    payloads = [bytes(rng.choice((0xFF, 0xFE, 0xFD, rng.randrange(256))) for _ in range(n))
                for n in (0, 1, 3, 17, 300, 1000)]
    stream = b"".join(encode_frame(p, lead_nop=i == 0) for i, p in enumerate(payloads))
    for _ in range(20):
        unframer, got, pos = Unframer(), [], 0
        while pos < len(stream):
            step = rng.randint(1, 40)
            got += unframer.feed(stream[pos:pos + step])
            pos += step
        assert got == payloads
        assert unframer.stats.bad_crc == 0 and not unframer.in_frame


def test_garbage_before_and_between_frames_is_skipped() -> None:
    garbage = b"*** Booting Zephyr OS ***\r\n\xfd\xfe\x00"
    stream = garbage + encode_frame(b"abc") + b"\xfe\x13\xfd" + encode_frame(b"de")
    unframer = Unframer()
    assert unframer.feed(stream) == [b"abc", b"de"]
    assert unframer.stats.bad_crc == 0


def test_lone_fe_inside_a_packet_is_data() -> None:
    assert Unframer().feed(encode_frame(b"\xfe\xfe\xfd")) == [b"\xfe\xfe\xfd"]


def test_nop_escape_inside_a_packet_breaks_its_crc() -> None:
    """FF FE is dropped from the payload but counted in the CRC, as in TVM (§2.5)."""
    frame = encode_frame(b"hello")
    with_nop = frame[:8] + b"\xff\xfe" + frame[8:]
    unframer = Unframer()
    assert unframer.feed(with_nop) == []
    assert unframer.stats.bad_crc == 1
    assert unframer.feed(frame) == [b"hello"]  # the next good frame still arrives


def test_nop_escape_between_packets_is_harmless() -> None:
    stream = encode_frame(b"one") + b"\xff\xfe" + encode_frame(b"two")
    assert Unframer().feed(stream) == [b"one", b"two"]


def test_bad_crc_is_dropped_and_counted() -> None:
    good = encode_frame(b"payload")
    bad = bytearray(good)
    bad[-1] ^= 0x01
    unframer = Unframer()
    assert unframer.feed(bytes(bad) + good) == [b"payload"]
    assert unframer.stats.bad_crc == 1 and unframer.stats.frames == 1


def test_corrupted_payload_byte_fails_crc() -> None:
    frame = bytearray(encode_frame(b"payload"))
    frame[8] ^= 0x40
    unframer = Unframer()
    assert unframer.feed(bytes(frame)) == [] and unframer.stats.bad_crc == 1


def test_packet_start_inside_a_packet_abandons_it_and_keeps_the_new_one() -> None:
    cut = encode_frame(b"0123456789")[:9]
    unframer = Unframer()
    assert unframer.feed(cut + encode_frame(b"next")) == [b"next"]
    assert unframer.stats.short_packets == 1


def test_invalid_escape_abandons_the_packet() -> None:
    frame = encode_frame(b"abcdef")
    broken = frame[:8] + b"\xff\x41" + frame[8:]
    unframer = Unframer()
    assert unframer.feed(broken + encode_frame(b"ok")) == [b"ok"]
    assert unframer.stats.invalid_escapes == 1


def test_truncated_frame_waits_then_is_replaced() -> None:
    frame = encode_frame(b"complete me")
    unframer = Unframer()
    assert unframer.feed(frame[:-3]) == []
    assert unframer.in_frame
    assert unframer.feed(frame[-3:]) == [b"complete me"]
    assert not unframer.in_frame
    # A frame that never completes is abandoned when the next one starts.
    assert unframer.feed(frame[:-1] + encode_frame(b"after")) == [b"after"]
    assert unframer.stats.short_packets == 1


def test_oversize_length_is_rejected_without_buffering() -> None:
    unframer = Unframer(max_payload=16)
    big = encode_frame(b"x" * 17)
    assert unframer.feed(big + encode_frame(b"small")) == [b"small"]
    assert unframer.stats.oversize == 1
    huge_length = b"\xff\xfd" + b"\xff\xff" * 4  # 0xFFFFFFFF
    assert unframer.feed(huge_length) == [] and unframer.stats.oversize == 2
    assert not unframer.in_frame


def test_zero_length_payload() -> None:
    assert Unframer().feed(encode_frame(b"")) == [b""]


def test_escaped_packet_start_in_payload_can_fool_a_receiver_joining_late() -> None:
    """While hunting, FF FF FD reads as a start (TVM's caveat, §2.7); the real next frame
    still arrives once the false one dies."""
    frame = encode_frame(b"\x01\xff\xfd\x02\x03")
    joined_late = frame[7:]  # starts inside the payload, at FF FF FD
    unframer = Unframer()
    got = unframer.feed(joined_late + encode_frame(b"real"))
    assert got == [b"real"]
    assert unframer.stats.short_packets + unframer.stats.bad_crc + \
        unframer.stats.oversize >= 1


def test_frame_rejects_payload_over_u32() -> None:
    class Huge(bytes):
        def __len__(self) -> int:
            return 1 << 32

    with pytest.raises(ValueError, match="at most"):
        encode_frame(Huge())


def _noisy_stream(rng: random.Random) -> bytes:
    """Frames (some damaged, cut or preceded by garbage) of FF-heavy payloads, back to back."""
    parts = []
    for _ in range(rng.randint(1, 6)):
        payload = bytes(rng.choice([0x00, 0xFF, 0xFD, 0xFE, rng.randrange(256)])
                        for _ in range(rng.randint(0, 300)))
        frame = bytearray(encode_frame(payload, lead_nop=rng.random() < 0.3))
        roll = rng.random()
        if roll < 0.25:
            for _ in range(rng.randint(1, 3)):
                frame[rng.randrange(len(frame))] = rng.choice([0xFF, 0xFD, 0xFE, 0x00])
        elif roll < 0.35:
            del frame[rng.randrange(len(frame)):]
        elif roll < 0.45:
            frame[:0] = bytes(rng.choice([0xFF, 0xFD, 0xFE, 0x00]) for _ in range(5))
        parts.append(bytes(frame))
    return b"".join(parts)


@pytest.mark.parametrize("max_payload", [16, 1 << 24])
def test_bulk_paths_match_byte_by_byte(max_payload: int) -> None:
    # The receiver's bulk paths (whole frames, un-escaping runs at once) must see exactly what
    # feeding one byte at a time sees: the same frames, the same statistics.
    rng = random.Random(7)
    for _ in range(400):
        stream = _noisy_stream(rng)
        whole, bytewise, split = (Unframer(max_payload) for _ in range(3))
        expected = [p for i in range(len(stream)) for p in bytewise.feed(stream[i:i + 1])]
        assert whole.feed(stream) == expected
        cuts = sorted(rng.sample(range(len(stream) + 1), min(len(stream) + 1, 4)))
        pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        assert [p for piece in pieces for p in split.feed(piece)] == expected
        assert whole.stats == bytewise.stats == split.stats
        assert whole.in_frame == bytewise.in_frame == split.in_frame


def test_large_payloads_survive_any_split() -> None:
    rng = random.Random(3)
    payloads = [bytes(70_000), b"\xff" * 70_001, rng.randbytes(200_000)]
    stream = b"".join(encode_frame(p) for p in payloads)
    for size in (1, 4095, 65536, len(stream)):
        unframer = Unframer()
        got = [p for i in range(0, len(stream), size) for p in unframer.feed(stream[i:i + size])]
        assert got == payloads
        assert unframer.stats.bad_crc == 0


def test_frame_in_parts_is_the_same_frame() -> None:
    assert encode_frame((b"\x01\xff", b"", b"\xff\x02")) == encode_frame(b"\x01\xff\xff\x02")
    assert encode_frame((b"ab",), lead_nop=True) == encode_frame(b"ab", lead_nop=True)
