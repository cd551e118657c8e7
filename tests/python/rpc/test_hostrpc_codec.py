"""utvm.rpc.codec: minRPC packets against the doc's verified byte dumps (§4, §5)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from utvm.rpc import codec
from utvm.rpc.codec import (
    CPU,
    Arg,
    CallFunc,
    CopyAck,
    CopyFromRemote,
    CopyToRemote,
    DataType,
    Device,
    EmptyPacket,
    ExceptionReply,
    FuncHandle,
    Handle,
    InitServer,
    ModuleHandle,
    Return,
    RPCCode,
    Shutdown,
    Syscall,
    TensorRecord,
    TypeCode,
)
from utvm.rpc.errors import ProtocolError

F32 = DataType(2, 32)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_get_global_func_request() -> None:  # doc §5.3
    packet = codec.encode_packet(Syscall(RPCCode.GET_GLOBAL_FUNC, [codec.to_arg(
        "runtime.SystemLib")]))
    assert packet == h("25 00 00 00 00 00 00 00 09 00 00 00 01 00 00 00 0b 00 00 00 11 00 00 00"
                       " 00 00 00 00") + b"runtime.SystemLib"


def test_return_handle_reply() -> None:  # doc §5.3
    reply = codec.decode_packet(h("14 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 03 00 00 00"
                                  " 00 80 02 80 00 00 00 00"))
    assert reply == Return([Arg(TypeCode.OPAQUE_HANDLE, 0x80028000)])


def test_call_func_without_arguments() -> None:  # doc §5.4
    assert codec.encode_packet(CallFunc(0x80028000)) == h(
        "10 00 00 00 00 00 00 00 03 00 00 00 00 80 02 80 00 00 00 00 00 00 00 00")


def test_call_func_with_module_string_and_bool() -> None:  # doc §5.5
    packet = codec.encode_packet(CallFunc(0x80028001, [codec.to_arg(v) for v in (
        ModuleHandle(0x8000), "add_one", True)]))
    assert packet == h("3b 00 00 00 00 00 00 00 03 00 00 00 01 80 02 80 00 00 00 00"
                       " 03 00 00 00 09 00 00 00 0b 00 00 00 0f 00 00 00"
                       " 00 80 00 00 00 00 00 00 07 00 00 00 00 00 00 00") + b"add_one" + \
        h("01 00 00 00 00 00 00 00")


def test_call_func_with_int() -> None:  # doc §5.6
    assert codec.encode_packet(CallFunc(0x80008000, [codec.to_arg(41)])) == h(
        "1c 00 00 00 00 00 00 00 03 00 00 00 00 80 00 80 00 00 00 00"
        " 01 00 00 00 00 00 00 00 29 00 00 00 00 00 00 00")


@pytest.mark.parametrize(("wire", "values"), [
    ("20 00 00 00 00 00 00 00 04 00 00 00 02 00 00 00 00 00 00 00 03 00 00 00"
     " 09 00 00 00 00 00 00 00 00 80 00 00 00 00 00 00",
     [Arg(0, 9), Arg(3, 0x8000)]),  # §5.4 Module
    ("20 00 00 00 00 00 00 00 04 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00"
     " 00 00 00 00 00 00 00 00 f5 01 00 00 00 00 00 00",
     [Arg(0, 0), Arg(0, 501)]),  # §5.7 max packet size
    ("18 00 00 00 00 00 00 00 04 00 00 00 02 00 00 00 00 00 00 00 04 00 00 00"
     " 04 00 00 00 00 00 00 00",
     [Arg(0, 4), Arg(4, None)]),  # §5.8 nothing
    ("20 00 00 00 00 00 00 00 04 00 00 00 02 00 00 00 00 00 00 00 02 00 00 00"
     " 02 00 00 00 00 00 00 00 00 00 00 00 00 00 f8 3f",
     [Arg(0, 2), Arg(2, 1.5)]),  # §5.8 float
])
def test_call_func_replies(wire: str, values: list[Arg]) -> None:
    packet = h(wire)
    assert codec.decode_packet(packet) == Return(values)
    assert codec.encode_packet(Return(values)) == packet


def test_string_return() -> None:  # doc §5.8
    packet = h("27 00 00 00 00 00 00 00 04 00 00 00 02 00 00 00 00 00 00 00 0b 00 00 00"
               " 0b 00 00 00 00 00 00 00 07 00 00 00 00 00 00 00") + b"input_1"
    assert codec.decode_packet(packet) == Return([Arg(0, 11), Arg(11, "input_1")])


def test_ndarray_return_has_three_values() -> None:  # doc §5.8
    record = TensorRecord(0x20001000, (1, 4), F32)
    packet = h("54 00 00 00 00 00 00 00 04 00 00 00 03 00 00 00 00 00 00 00 07 00 00 00"
               " 03 00 00 00 0d 00 00 00 00 00 00 00 00 10 00 20 00 00 00 00"
               " 01 00 00 00 00 00 00 00 02 00 00 00 02 20 01 00 01 00 00 00 00 00 00 00"
               " 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 40 10 00 20 00 00 00 00")
    reply = codec.decode_packet(packet)
    assert reply == Return([Arg(0, 13), Arg(7, record), Arg(3, 0x20001040)])
    assert codec.encode_packet(reply) == packet
    assert record.nbytes == 16 and record.wire_size == 48


def test_exception_reply() -> None:  # doc §5.8
    message = b"unregistered module: index=00000001"
    packet = h("37 00 00 00 00 00 00 00 05 00 00 00 01 00 00 00 0b 00 00 00 23 00 00 00"
               " 00 00 00 00") + message
    reply = codec.decode_packet(packet)
    assert isinstance(reply, ExceptionReply) and reply.message == message.decode()


def test_memory_requests_of_doc_5_9() -> None:
    alloc = Syscall(RPCCode.DEV_ALLOC_DATA, [codec.to_arg(v) for v in (CPU, 16, 8, F32)])
    assert codec.encode_packet(alloc) == h(
        "38 00 00 00 00 00 00 00 0d 00 00 00 04 00 00 00 06 00 00 00 00 00 00 00 00 00 00 00"
        " 05 00 00 00 01 00 00 00 00 00 00 00 10 00 00 00 00 00 00 00 08 00 00 00 00 00 00 00"
        " 02 20 01 00 00 00 00 00")
    pointer = 0x20002000
    record = TensorRecord(pointer, (4,), F32)
    data = struct.pack("<4f", 1, 2, 3, 4)
    p = struct.pack("<Q", pointer).hex()
    assert codec.encode_packet(CopyToRemote(record, data)) == h(
        "44 00 00 00 00 00 00 00 07 00 00 00" + p + "01 00 00 00 00 00 00 00 01 00 00 00"
        " 02 20 01 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 10 00 00 00 00 00 00 00"
    ) + data
    assert codec.encode_packet(CopyFromRemote(record, 16)) == h(
        "34 00 00 00 00 00 00 00 06 00 00 00" + p + "01 00 00 00 00 00 00 00 01 00 00 00"
        " 02 20 01 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 10 00 00 00 00 00 00 00")
    ack = h("14 00 00 00 00 00 00 00 08 00 00 00") + data
    assert codec.decode_packet(ack) == CopyAck(data)
    free = Syscall(RPCCode.DEV_FREE_DATA, [codec.to_arg(CPU), codec.to_arg(Handle(pointer))])
    assert codec.encode_packet(free) == h(
        "20 00 00 00 00 00 00 00 0e 00 00 00 02 00 00 00 06 00 00 00 03 00 00 00"
        " 01 00 00 00 00 00 00 00") + struct.pack("<Q", pointer)
    void = h("0c 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 04 00 00 00")
    assert codec.decode_packet(void) == Return([Arg(TypeCode.NULL, None)])


def test_shutdown_and_empty_packets() -> None:
    assert codec.encode_packet(Shutdown()) == h("04 00 00 00 00 00 00 00 01 00 00 00")
    assert codec.decode_packet(b"\0" * 8) == EmptyPacket()


def test_init_server_round_trip() -> None:
    msg = InitServer("0.8.0")
    assert codec.decode_packet(codec.encode_packet(msg)) == msg


def test_python_values_get_tvms_type_codes() -> None:
    codes = [codec.to_arg(v).code for v in (
        1, np.int32(2), True, 1.5, np.float32(2.5), None, "s", b"b", Handle(1), ModuleHandle(2),
        FuncHandle(3), Device(1, 0), np.dtype("int8"), TensorRecord(1, (1,), F32))]
    assert codes == [0, 0, 15, 2, 2, 4, 11, 12, 3, 9, 10, 6, 5, 7]
    with pytest.raises(ProtocolError, match="cannot send a dict"):
        codec.to_arg({})


def test_every_value_round_trips() -> None:
    args = [codec.to_arg(v) for v in (
        -(1 << 63), (1 << 63) - 1, True, -0.0, float("inf"), None, "ünïcode", b"\xff\x00",
        Handle((1 << 64) - 1), ModuleHandle(0x8000), FuncHandle(0x80008000), Device(1, 3),
        DataType(1, 1), TensorRecord(0x1000, (2, 3), DataType(0, 8), Device(1, 0), 64),
        TensorRecord(0x1000, (), F32))]
    args.append(Arg(TypeCode.UINT, (1 << 64) - 1))
    args.append(Arg(TypeCode.OBJECT, 0x1234))
    msg = CallFunc(0x42, args)
    assert codec.decode_packet(codec.encode_packet(msg)) == msg


def test_out_of_range_values_are_refused() -> None:
    for bad in (1 << 63, -(1 << 63) - 1):
        with pytest.raises(ProtocolError, match="does not fit"):
            codec.encode_packet(CallFunc(1, [codec.to_arg(bad)]))
    with pytest.raises(ProtocolError, match="does not fit"):
        codec.encode_packet(CallFunc(1, [codec.to_arg(Handle(-1))]))


@pytest.mark.parametrize(("packet", "match"), [
    ("08 00 00 00 00 00 00 00 04 00 00 00", "announces 8 bytes but carries 4"),
    ("10 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00",
     "ends early"),  # an int value cut short
    ("04 00 00 00 00 00 00 00 04 00 00 00 01", "announces 4 bytes but carries 5"),
    ("08 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00 ff", "announces"),
    ("0c 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 0d 00 00 00", "never appears"),
    ("0c 00 00 00 00 00 00 00 04 00 00 00 ff ff ff 7f 00 00 00 00", "too short"),
    ("10 00 00 00 00 00 00 00 04 00 00 00 01 00 00 00 04 00 00 00 00 00 00 00",
     "surplus"),
    ("04 00 00 00 00 00 00 00 00 00 00 00", "not a valid packet code"),
    ("01 00 00 00 00 00 00 00 04", "ends early"),
])
def test_malformed_packets_raise_protocol_error(packet: str, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        codec.decode_packet(h(packet))


def test_unknown_syscall_codes_still_decode() -> None:
    msg = codec.decode_packet(h("08 00 00 00 00 00 00 00 63 00 00 00 00 00 00 00"))
    assert msg == Syscall(99, [])


def test_dtype_mapping() -> None:
    assert DataType.from_numpy("float32") == DataType(2, 32)
    assert DataType.from_numpy(np.bool_) == DataType(1, 1)
    assert DataType(0, 8).to_numpy() == np.int8 and DataType(1, 1).to_numpy() == np.bool_
    assert DataType(1, 1).itemsize == 1 and DataType(2, 16, 4).itemsize == 8
    with pytest.raises(ProtocolError, match="no numpy equivalent"):
        DataType(4, 16).to_numpy()
    with pytest.raises(ProtocolError, match="no DLDataType"):
        DataType.from_numpy("complex64")


def test_shortcut_codecs_match_the_general_ones() -> None:
    # The hot-path encoders and decoders must agree byte for byte with the message-based ones.
    args = [codec.to_arg(v) for v in (1, 2.5, "x", Handle(7))]
    assert codec.encode_call(0x1234, args) == codec.encode_packet(CallFunc(0x1234, args))
    assert codec.encode_call(5, []) == codec.encode_packet(CallFunc(5, []))
    assert (codec.encode_syscall(RPCCode.DEV_STREAM_SYNC, [Arg(6, CPU), Arg(3, 0)])
            == codec.encode_packet(Syscall(RPCCode.DEV_STREAM_SYNC, [Arg(6, CPU), Arg(3, 0)])))
    record = TensorRecord(0x1000, (2, 3), DataType(2, 32), byte_offset=8)
    packets = codec.CopyPackets(record)
    head, data = packets.copy_to(16, b"\xff" * 5)
    chunk = TensorRecord(0x1000, (2, 3), DataType(2, 32), byte_offset=24)
    assert head + data == codec.encode_packet(CopyToRemote(chunk, b"\xff" * 5))
    assert packets.copy_from(16, 5) == codec.encode_packet(CopyFromRemote(chunk, 5))

    call_reply = codec.encode_packet(Return([Arg(0, 0), Arg(0, -5)]))
    assert codec.decode_call_return(call_reply) == (0, 0, -5)
    assert codec.decode_reply(call_reply) == codec.decode_packet(call_reply)
    tensor_reply = codec.encode_packet(Return([Arg(0, 13), Arg(7, record), Arg(3, 9)]))
    assert codec.decode_call_return(tensor_reply) is None
    assert codec.decode_reply(tensor_reply) == codec.decode_packet(tensor_reply)
    assert codec.decode_single_return(codec.encode_packet(Return([Arg(3, 42)]))) == (3, 42)
    assert codec.decode_single_return(codec.encode_packet(Return([Arg(4, None)]))) == (4, None)
    assert codec.decode_single_return(codec.encode_packet(Return([Arg(11, "s")]))) is None
    assert bytes(codec.copy_ack_data(codec.encode_packet(CopyAck(b"abc")))) == b"abc"
    assert codec.copy_ack_data(call_reply) is None
