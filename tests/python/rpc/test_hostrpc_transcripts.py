"""Conformance against TVM 0.18's recorded sessions (fixtures ``*/{aot_packed,graph,...}``).

(a) the device's bytes unframe, pass CRC and decode into sensible session messages and
    replies; (b) the host's bytes decode into the calls TVM's host made, each answered once;
(c) the client, fed the recorded device bytes, writes TVM's host bytes byte for byte and
    downloads TVM's output (``tvm_crt_output_0.npy``) bit for bit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hostrpc_transcripts import (
    DEVICE,
    HOST,
    Decoded,
    ReplayTransport,
    Transcript,
    decode_stream,
    load_transcript,
    variant_params,
)

from utvm.rpc import Session, codec
from utvm.rpc.client import TVM_MAX_PACKET_FUNCTIONS, RpcClient
from utvm.rpc.codec import (
    CallFunc,
    CopyAck,
    CopyFromRemote,
    CopyToRemote,
    Return,
    RPCCode,
    Syscall,
    TypeCode,
)
from utvm.rpc.framing import Framer, encode_frame
from utvm.rpc.local_graph import GraphPlan
from utvm.rpc.params_blob import parse_params
from utvm.rpc.session import MessageType, SessionMessage, seed_for_nonce


def _load(variant: Path) -> Transcript:
    return load_transcript(variant / "transcript.jsonl")


def _normal(messages: list[Decoded]) -> list[Any]:
    return [m.rpc for m in messages if m.message.message_type == MessageType.NORMAL]


def _session_ids(transcript: Transcript) -> tuple[int, int]:
    """(host nonce, established session id) from the recorded handshake."""
    host, _ = decode_stream(transcript.stream(HOST))
    device, _ = decode_stream(transcript.stream(DEVICE))
    init = next(m.message for m in host
                if m.message.message_type == MessageType.START_SESSION_INIT)
    reply = next(m.message for m in device
                 if m.message.message_type == MessageType.START_SESSION_REPLY)
    return init.session_id, reply.session_id


def _reframe(payloads: list[bytes]) -> bytes:
    framer = Framer()
    return b"".join(framer.frame(p) for p in payloads)


def _expected_output(variant: Path) -> np.ndarray:
    return np.load(variant / "tvm_crt_output_0.npy")


def _input(variant: Path) -> tuple[str, np.ndarray]:
    name = next(iter(json.loads((variant / "fixture.json").read_text())["inputs"]))
    return name, np.load(variant / "input_0.npy")


# -- (a) device -> host ----------------------------------------------------------------------
@pytest.mark.parametrize("variant", variant_params())
def test_device_stream_frames_pass_crc_and_decode(variant: Path) -> None:
    stream = _load(variant).stream(DEVICE)
    messages, unframer = decode_stream(stream)
    stats = unframer.stats
    assert (stats.bad_crc, stats.short_packets, stats.invalid_escapes, stats.oversize) == \
        (0, 0, 0, 0)
    assert not unframer.in_frame
    # Re-framing the payloads gives the recorded bytes back: same escapes, CRCs and lone FE.
    assert _reframe([m.message.encode() for m in messages]) == stream

    first, reply = messages[0].message, messages[1].message
    assert first == SessionMessage(0, MessageType.TERMINATE_SESSION, b"")
    assert reply.message_type == MessageType.START_SESSION_REPLY and reply.body == b"\x01"
    assert reply.session_id & 0xFF and reply.session_id >> 8
    for item in messages[2:]:
        message = item.message
        if message.message_type == MessageType.LOG:
            text = message.body.decode("ascii").replace("\t", " ")
            assert message.session_id == 0 and text.isprintable()
            continue
        assert message.message_type == MessageType.NORMAL
        assert message.session_id == reply.session_id
        assert isinstance(item.rpc, Return | CopyAck)
        assert codec.encode_packet(item.rpc) == message.body


@pytest.mark.parametrize("variant", variant_params("aot"))
def test_aot_executor_creation_logs_arrive_between_request_and_reply(variant: Path) -> None:
    """DEBUG logs of the CRT AOT executor come while tvm.aot_executor.create runs (§3.7)."""
    messages, _ = decode_stream(_load(variant).stream(DEVICE))
    kinds = [m.message.message_type for m in messages]
    first_log = kinds.index(MessageType.LOG)
    assert kinds[first_log - 1] == MessageType.NORMAL  # the reply before create
    texts = [m.message.body.decode() for m in messages if m.rpc is None and
             m.message.message_type == MessageType.LOG]
    assert texts[0] == "DumpMetadata:" and "\tmod_name=tvmgen_default" in texts


# -- (b) host -> device: the calls TVM's host made -------------------------------------------
def _calls(transcript: Transcript) -> list[tuple[Any, Any]]:
    """(request, reply) pairs: each Normal request is answered by exactly one reply."""
    requests = _normal(decode_stream(transcript.stream(HOST))[0])
    replies = _normal(decode_stream(transcript.stream(DEVICE))[0])
    assert len(requests) == len(replies)
    return list(zip(requests, replies, strict=True))


def _call_names(calls: list[tuple[Any, Any]]) -> list[str]:
    """The calls with handles replaced by what they name (global or module function)."""
    names: dict[int, str] = {}
    out = []
    for request, reply in calls:
        if isinstance(request, Syscall) and request.code == RPCCode.GET_GLOBAL_FUNC:
            names[reply.values[0].value] = request.args[0].value
            out.append(f"GetGlobalFunc {request.args[0].value}")
        elif isinstance(request, CallFunc):
            callee = names.get(request.handle, f"0x{request.handle:x}")
            if callee == "tvm.rpc.server.ModuleGetFunction":
                if reply.values[0].value == TypeCode.PACKED_FUNC:
                    names[reply.values[1].value] = request.args[1].value
                out.append(f"ModuleGetFunction {request.args[1].value}")
            else:
                out.append(f"call {callee}")
        elif isinstance(request, Syscall):
            out.append(RPCCode(request.code).name)
        else:
            out.append(type(request).__name__)
    return out


@pytest.mark.parametrize("variant", variant_params())
def test_host_stream_decodes_into_answered_calls(variant: Path) -> None:
    transcript = _load(variant)
    stream = transcript.stream(HOST)
    messages, unframer = decode_stream(stream)
    assert unframer.stats.bad_crc == 0 and not unframer.in_frame
    assert _reframe([m.message.encode() for m in messages]) == stream
    host_nonce, session_id = _session_ids(transcript)
    assert [m.message.message_type for m in messages[:2]] == \
        [MessageType.TERMINATE_SESSION, MessageType.START_SESSION_INIT]
    assert host_nonce == session_id & 0xFF and messages[1].message.body == b"\x01"
    assert all(m.message.session_id == session_id for m in messages[2:])

    # Every handle or address the host sends is one the device gave it before.
    known: set[int] = {0}
    for request, reply in _calls(transcript):
        used = []
        if isinstance(request, CallFunc):
            used.append(request.handle)
            args = request.args
        elif isinstance(request, CopyToRemote | CopyFromRemote):
            used.append(request.tensor.data)
            args = []
        else:
            args = request.args
        for arg in args:
            if arg.code in (TypeCode.OPAQUE_HANDLE, TypeCode.MODULE, TypeCode.PACKED_FUNC):
                used.append(arg.value)
            elif arg.code == TypeCode.DLTENSOR:
                used.append(arg.value.data)
        assert set(used) <= known, f"{codec.describe(request)} uses unknown handles"
        if isinstance(reply, Return):
            for value in reply.values:
                if value.code == TypeCode.OPAQUE_HANDLE:
                    known.add(value.value)
                elif value.code == TypeCode.DLTENSOR:
                    known.add(value.value.data)
        if isinstance(request, CallFunc):
            assert len(reply.values) in (2, 3) and reply.values[0].code == TypeCode.INT


@pytest.mark.parametrize("variant", variant_params("aot"))
def test_aot_host_calls_follow_tvms_aot_module(variant: Path) -> None:
    names = _call_names(_calls(_load(variant)))
    copies_in = names.count("CopyToRemote")
    copies_out = names.count("CopyFromRemote")
    assert names == [
        "GetGlobalFunc tvm.aot_executor.create", "GetGlobalFunc runtime.SystemLib",
        "call runtime.SystemLib", "FREE_HANDLE", "call tvm.aot_executor.create",
        "FREE_HANDLE", "FREE_HANDLE", "GetGlobalFunc tvm.rpc.server.ModuleGetFunction",
        *[f"ModuleGetFunction {n}" for n in (
            "set_input", "run", "get_output", "get_input", "get_num_outputs",
            "get_input_index", "get_num_inputs", "get_input_name")],
        "call get_input", "GetGlobalFunc tvm.rpc.server.GetCRTMaxPacketSize",
        "call tvm.rpc.server.GetCRTMaxPacketSize", *["CopyToRemote"] * copies_in,
        "DEV_STREAM_SYNC", "FREE_HANDLE", "call run", "call get_output",
        *["CopyFromRemote"] * copies_out, "DEV_STREAM_SYNC", "FREE_HANDLE"]


@pytest.mark.parametrize("variant", variant_params("graph"))
def test_graph_host_calls_follow_the_graph(variant: Path) -> None:
    """Host-driven graph executor: one linked-param lookup per entry, one allocation per
    storage id (sizes rounded to 4 bytes), one lookup per operator, one call per operator."""
    plan = GraphPlan((variant / "executor-config" / "graph" / "default.graph").read_text())
    calls = _calls(_load(variant))
    names = _call_names(calls)
    assert names.count("ModuleGetFunction _lookup_linked_param") == len(plan.shapes)
    allocs = [r.args[1].value for r, _ in calls
              if isinstance(r, Syscall) and r.code == RPCCode.DEV_ALLOC_DATA]
    assert allocs == [(size + 3) // 4 * 4 for size in plan.pool_sizes()]
    op_lookups = [n.split(" ", 1)[1] for n in names if n.startswith("ModuleGetFunction tvmgen")]
    assert op_lookups == [op.func_name for op in plan.ops]
    assert [n for n in names if n.startswith("call tvmgen")] == \
        [f"call {op.func_name}" for op in plan.ops]


# -- (c) replay: the client against the recorded device --------------------------------------
def _replay_session(transcript: Transcript,
                    strict: bool = True) -> tuple[Session, ReplayTransport]:
    host_nonce, _ = _session_ids(transcript)
    link = ReplayTransport(transcript, strict)
    session = Session(link, seed=seed_for_nonce(host_nonce),
                      max_packet_functions=TVM_MAX_PACKET_FUNCTIONS)
    return session.open(), link


def _assert_whole_recording_replayed(transcript: Transcript, link: ReplayTransport,
                                     session: Session) -> None:
    assert bytes(link.written) == transcript.stream(HOST)
    assert link.device_bytes_left == 0
    # After closing its transport TVM's host tries kShutdown; the recording holds its start,
    # which is where our shutdown frame begins too.
    cut_short = b"".join(d for direction, d in transcript.after_close if direction == HOST)
    shutdown = encode_frame(SessionMessage(session.session_id, MessageType.NORMAL,
                                           codec.encode_packet(codec.Shutdown())).encode())
    assert cut_short and shutdown.startswith(cut_short)


@pytest.mark.parametrize("variant", variant_params("aot"))
def test_replay_aot_with_the_session_api(variant: Path) -> None:
    transcript = _load(variant)
    session, link = _replay_session(transcript)
    name, data = _input(variant)
    executor = session.create_aot_executor()
    executor.set_input(name, data)
    executor.run()
    output = executor.get_output(0)
    _assert_whole_recording_replayed(transcript, link, session)
    expected = _expected_output(variant)
    assert output.dtype == expected.dtype and output.shape == expected.shape
    assert output.tobytes() == expected.tobytes()


@pytest.mark.parametrize("variant", variant_params("graph"))
def test_replay_graph_with_the_host_driven_executor(variant: Path) -> None:
    """Byte for byte, except one legitimate difference: TVM uploads parameters in the
    iteration order of its Map<String, NDArray> (insertion order up to 4 entries, hash order
    beyond); we upload them in file order. So with parameters, the replay checks meaning:
    every message identical except that the uploads may be a permutation of TVM's."""
    transcript = _load(variant)
    params = None
    if variant.name == "graph_params":
        params = (variant / "parameters" / "default.params").read_bytes()
    session, link = _replay_session(transcript, strict=params is None)
    graph = (variant / "executor-config" / "graph" / "default.graph").read_text()
    name, data = _input(variant)
    executor = session.create_local_graph_executor(graph, params)
    executor.set_input(name, data)
    executor.run()
    output = executor.get_output(0)
    if params is None:
        _assert_whole_recording_replayed(transcript, link, session)
    else:
        ours = [m.message.encode() for m in decode_stream(bytes(link.written))[0]]
        theirs = [m.message.encode() for m in decode_stream(transcript.stream(HOST))[0]]
        assert len(ours) == len(theirs) and link.device_bytes_left == 0
        differing = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
        assert all(isinstance(codec.decode_packet(theirs[i][3:]), CopyToRemote)
                   for i in differing)
        assert sorted(ours[i] for i in differing) == sorted(theirs[i] for i in differing)
        if len(parse_params(params)) <= 4:
            assert not differing  # TVM's small map keeps file order
    assert output.tobytes() == _expected_output(variant).tobytes()


def _replay_calls(client: RpcClient, calls: list[tuple[Any, Any]]) -> list[bytes]:
    """Makes TVM's recorded calls through the client's API; returns the bytes copied out."""
    downloads = []
    i = 0
    while i < len(calls):
        request, reply = calls[i]
        if isinstance(request, Syscall) and request.code == RPCCode.GET_GLOBAL_FUNC and \
                request.args[0].value in TVM_MAX_PACKET_FUNCTIONS:
            i += 2  # the client asks this itself, lazily, before its first copy
            continue
        if isinstance(request, CopyToRemote | CopyFromRemote):
            run = [request]
            while i + len(run) < len(calls) and type(calls[i + len(run)][0]) is type(request) \
                    and calls[i + len(run)][0].tensor.data == request.tensor.data \
                    and calls[i + len(run)][0].tensor.byte_offset > run[-1].tensor.byte_offset:
                run.append(calls[i + len(run)][0])
            if isinstance(request, CopyToRemote):
                client.copy_to(request.tensor, b"".join(r.data for r in run), sync=False)
            else:
                downloads.append(client.read_bytes(request.tensor,
                                                   sum(r.nbytes for r in run), sync=False))
            i += len(run)
            continue
        if isinstance(request, CallFunc):
            result = client.call(request.handle, *request.args)
            if reply.values[0].value == TypeCode.NULL:
                assert result is None
        elif isinstance(request, Syscall) and request.code == RPCCode.GET_GLOBAL_FUNC:
            assert client.get_global_func(request.args[0].value).handle == reply.values[0].value
        elif isinstance(request, Syscall) and request.code == RPCCode.FREE_HANDLE:
            client.free_handle(request.args[0].value, request.args[1].value)
        elif isinstance(request, Syscall) and request.code == RPCCode.DEV_ALLOC_DATA:
            _, nbytes, alignment, hint = (a.value for a in request.args)
            assert client.alloc_data(nbytes, alignment, hint) == reply.values[0].value
        elif isinstance(request, Syscall) and request.code == RPCCode.DEV_STREAM_SYNC:
            client.stream_sync()
        else:
            client.request(request)
        i += 1
    return downloads


@pytest.mark.parametrize("variant", variant_params())
def test_replay_recorded_calls_through_the_client_api(variant: Path) -> None:
    """The recorded call list, made again through RpcClient (copies whole, chunked by the
    client itself): the same bytes, and the same output."""
    transcript = _load(variant)
    session, link = _replay_session(transcript)
    downloads = _replay_calls(session.client, _calls(transcript))
    _assert_whole_recording_replayed(transcript, link, session)
    assert downloads[-1] == _expected_output(variant).tobytes()
