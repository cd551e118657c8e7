"""utvm.rpc client and Session API against an in-process fake device (no real board)."""

from __future__ import annotations

import numpy as np
import pytest
from hostrpc_fake_device import FakeDevice, LoopbackTransport

from utvm.rpc import (
    DeviceArray,
    FunctionNotFound,
    ProtocolError,
    RemoteError,
    RemoteFunc,
    RemoteModule,
    Session,
    codec,
)
from utvm.rpc.client import NO_LIMIT, TVM_MAX_PACKET_FUNCTIONS, copy_overhead
from utvm.rpc.codec import (
    CopyFromRemote,
    CopyToRemote,
    EmptyPacket,
    Handle,
    RPCCode,
    Shutdown,
    Syscall,
    TypeCode,
)
from utvm.rpc.session import MessageType, SessionMessage
from utvm.transport.base import TransportTimeouts

FAST = TransportTimeouts(0.05, 0.3, 0.5)


def _session(device: FakeDevice | None = None, **kwargs: object) -> tuple[Session, FakeDevice]:
    device = device or FakeDevice()
    return Session(LoopbackTransport(device), timeouts=FAST, **kwargs).open(), device


def test_calls_carry_every_python_value_type() -> None:
    session, _ = _session()
    echo = session.get_global_func("test.echo")
    for value in (42, -7, 2.5, "text", b"\x00\xff\xfe", True, None):
        result = echo(value)
        assert result == value and type(result) is type(value)
    assert session.get_global_func("test.sum")(1, 2, 39) == 42


def test_handles_travel_back_as_modules_and_functions() -> None:
    session, _ = _session()
    lib = session.get_system_lib()
    assert isinstance(lib, RemoteModule) and lib.handle == 0x8000
    run = lib.get_function("run")
    assert isinstance(run, RemoteFunc) and run.name == "run"
    with pytest.raises(FunctionNotFound, match="no function 'missing'"):
        lib["missing"]


def test_system_lib_frees_its_factory_function() -> None:
    session, device = _session()
    session.get_system_lib()
    factory = device.globals_by_name["runtime.SystemLib"]
    assert device.free_handles == [(factory, TypeCode.PACKED_FUNC)]


def test_missing_global_function() -> None:
    session, _ = _session()
    assert session.client.get_global("no.such.function") is None
    with pytest.raises(FunctionNotFound, match=r"no global function 'no\.such\.function'"):
        session.get_global_func("no.such.function")


def test_device_errors_become_remote_error_with_its_message() -> None:
    session, _ = _session()
    with pytest.raises(RemoteError) as info:
        session.get_global_func("test.fail")("sensor not ready")
    assert info.value.remote_message == "sensor not ready"
    assert "test.fail('sensor not ready')" in str(info.value)
    # The session is still usable after an Exception reply.
    assert session.get_global_func("test.echo")(1) == 1


def _copies(device: FakeDevice, kind: type) -> list:
    return [r for r in device.requests if isinstance(r, kind)]


def test_copies_are_chunked_by_the_negotiated_packet_size() -> None:
    device = FakeDevice(max_packet=200)
    session, _ = _session(device)
    data = np.arange(250, dtype=np.float32)  # 1000 bytes, ndim 1
    block = 200 - copy_overhead(1)  # 148
    with session.array(data) as tensor:
        uploads = _copies(device, CopyToRemote)
        assert [r.tensor.byte_offset for r in uploads] == list(range(0, 1000, block))
        assert [len(r.data) for r in uploads] == [block] * 6 + [1000 - 6 * block]
        assert all(r.tensor.data == tensor.data and r.tensor.shape == (250,) for r in uploads)
        assert np.array_equal(tensor.numpy(), data)
        downloads = _copies(device, CopyFromRemote)
        assert [r.nbytes for r in downloads] == [block] * 6 + [1000 - 6 * block]
    # Each copy is followed by exactly one stream sync.
    syncs = [r for r in device.requests
             if isinstance(r, Syscall) and r.code == RPCCode.DEV_STREAM_SYNC]
    assert len(syncs) == 2
    assert device.memory.get(tensor.data) is None  # freed with DevFreeData


class BufferingLoopback(LoopbackTransport):
    """A link whose far end buffers requests (like a pipe or PTY), logging reads and writes."""

    buffers_requests = True

    def __init__(self, device: FakeDevice) -> None:
        super().__init__(device)
        self.log: list[str] = []

    def _read(self, n: int, timeout: float | None) -> bytes:
        self.log.append("read")
        return super()._read(n, timeout)

    def _write(self, data: bytes, timeout: float | None) -> None:
        self.log.append("write")
        super()._write(data, timeout)


def _copy_both_ways(transport: LoopbackTransport, data: np.ndarray) -> np.ndarray:
    session = Session(transport, timeouts=FAST).open()
    tensor = session.empty(data.shape, data.dtype)
    session.client.max_packet_size()
    if isinstance(transport, BufferingLoopback):
        transport.log.clear()
    tensor.copyfrom(data)
    return tensor.numpy()


def test_on_a_buffering_link_the_sync_follows_the_last_chunk_without_a_wait() -> None:
    data = np.arange(250, dtype=np.float32)  # 1000 bytes: 7 chunks at max_packet 200
    plain, buffered = FakeDevice(max_packet=200), FakeDevice(max_packet=200)
    transport = BufferingLoopback(buffered)
    assert np.array_equal(_copy_both_ways(LoopbackTransport(plain), data), data)
    assert np.array_equal(_copy_both_ways(transport, data), data)
    # The same requests in the same order as TVM's host sends them...
    assert buffered.requests == plain.requests
    # ...but the last chunk and its sync go out together: 6 chunks with a wait each, then 2
    # writes before the next read, for the upload and again for the download.
    writes_per_wait = "".join("w" if e == "write" else "." for e in transport.log).split(".")
    assert [len(w) for w in writes_per_wait if w] == [1] * 6 + [2] + [1] * 6 + [2]


def test_a_failed_last_chunk_raises_its_own_error_and_the_session_stays_in_step() -> None:
    device = FakeDevice(max_packet=200)
    session = Session(BufferingLoopback(device), timeouts=FAST).open()
    tensor = session.empty((4,), np.float32)
    device.memory.pop(tensor.data)  # the device forgot it: the copy fails, the sync succeeds
    with pytest.raises(RemoteError, match="bad copy"):
        tensor.copyfrom(np.zeros(4, np.float32))
    with pytest.raises(RemoteError, match="bad copy"):
        tensor.numpy()
    assert session.get_global_func("test.echo")(7) == 7  # each reply still matched


class EmptyFirst(FakeDevice):
    """Sends an empty packet (legal, ignored) before every reply."""

    def reply(self, msg: object) -> None:
        self._send_message(SessionMessage(self.machine.session_id, MessageType.NORMAL,
                                          codec.encode_packet(EmptyPacket())))
        super().reply(msg)


@pytest.mark.parametrize("link", [LoopbackTransport, BufferingLoopback])
def test_empty_packets_before_replies_are_skipped(link: type[LoopbackTransport]) -> None:
    device = EmptyFirst(max_packet=200)
    session = Session(link(device), timeouts=FAST).open()
    data = np.arange(100, dtype=np.float32)
    with session.array(data) as tensor:
        assert np.array_equal(tensor.numpy(), data)
    assert session.get_global_func("test.echo")(3) == 3


def test_on_a_strict_link_a_failed_copy_sends_no_sync() -> None:
    """As TVM's host: the copy's error is raised before any DevStreamSync goes out."""
    device = FakeDevice(max_packet=200)
    session = Session(LoopbackTransport(device), timeouts=FAST).open()
    tensor = session.empty((4,), np.float32)
    session.client.max_packet_size()  # asked once, before the first copy
    device.memory.pop(tensor.data)
    device.requests.clear()
    with pytest.raises(RemoteError, match="bad copy"):
        tensor.copyfrom(np.zeros(4, np.float32))
    assert [type(r) for r in device.requests] == [CopyToRemote]


def test_a_serial_port_never_pipelines() -> None:
    from utvm.transport.pty import PtyTransport
    from utvm.transport.serial_port import SerialTransport
    from utvm.transport.subprocess_stdio import SubprocessTransport
    from utvm.transport.tcp import TcpTransport

    # A board polling a real UART loses what arrives while it is busy.
    assert not SerialTransport.buffers_requests and not TcpTransport.buffers_requests
    assert PtyTransport.buffers_requests and SubprocessTransport.buffers_requests


def test_an_exact_multiple_of_the_block_sends_no_empty_chunk() -> None:
    device = FakeDevice(max_packet=200)
    session, _ = _session(device)
    block = 200 - copy_overhead(2)
    data = np.zeros((2, block), dtype=np.uint8)
    session.array(data)
    assert [len(r.data) for r in _copies(device, CopyToRemote)] == [block, block]


def test_packet_size_is_asked_once_utvm_name_first() -> None:
    device = FakeDevice(max_packet=4000)
    session, _ = _session(device)
    assert session.client.max_packet_size() == 4000
    assert session.client.max_packet_size() == 4000
    names = [r.args[0].value for r in device.requests
             if isinstance(r, Syscall) and r.code == RPCCode.GET_GLOBAL_FUNC]
    assert names == ["utvm.rpc.GetMaxPacketSize"]


def test_tvm_packet_size_function_like_tvm() -> None:
    device = FakeDevice(max_packet=4000)
    session, _ = _session(device, max_packet_functions=TVM_MAX_PACKET_FUNCTIONS)
    assert session.client.max_packet_size() == 2037  # TVM's name caps at what TVM's host takes


def test_no_size_function_means_no_chunking() -> None:
    session, _ = _session(max_packet_functions=("no.such.size",))
    assert session.client.max_packet_size() == NO_LIMIT


def test_packet_too_small_for_any_copy() -> None:
    session, _ = _session(FakeDevice(max_packet=60))
    with pytest.raises(ProtocolError, match="cannot carry any data of a 2-dimensional"):
        session.empty((2, 2), np.float32).copyfrom(np.zeros((2, 2), np.float32))


def test_requests_over_the_device_packet_are_refused_before_sending() -> None:
    device = FakeDevice(max_packet=200)
    session, _ = _session(device)
    session.client.max_packet_size()
    sent = len(device.requests)
    with pytest.raises(ProtocolError, match=r"needs a 1\d+-byte packet but the device takes at "
                                            r"most 200"):
        session.get_global_func("test.echo")("x" * 1000)
    assert len(device.requests) == sent + 1  # the GetGlobalFunc only


def test_aot_executor_round_trip() -> None:
    session, device = _session()
    executor = session.create_aot_executor()
    assert executor.get_num_inputs() == 1 and executor.get_num_outputs() == 1
    assert executor.get_input_name(0) == "input"
    executor.set_input("input", np.array([[1, 2, 3, 4]], dtype=np.float32))
    executor.run()
    assert np.array_equal(executor.get_output(0), [[2, 3, 4, 5]])
    executor.set_input(0, np.array([[0, 0, 0, 1]], dtype=np.float32))
    executor.run()
    assert np.array_equal(executor.get_output(0), [[1, 1, 1, 2]])
    # Every NDArray the executor handed out was given back.
    ndarrays = [h for h, code in device.free_handles if code == TypeCode.NDARRAY]
    assert len(ndarrays) == 4


def test_aot_creation_frees_factory_then_library_like_tvm() -> None:
    session, device = _session()
    session.create_aot_executor()
    create = device.globals_by_name["tvm.aot_executor.create"]
    system_lib = device.globals_by_name["runtime.SystemLib"]
    assert device.free_handles == [(system_lib, 10), (create, 10), (0x8000, 9)]


def test_set_input_checks_dtype_and_shape_and_still_frees() -> None:
    session, device = _session()
    executor = session.create_aot_executor()
    with pytest.raises(ProtocolError, match=r"float32\[1, 4\]; got float64\[1, 4\]"):
        executor.set_input("input", np.zeros((1, 4)))
    with pytest.raises(ProtocolError, match=r"got float32\[4\]"):
        executor.set_input("input", np.zeros(4, dtype=np.float32))
    assert len([1 for _, code in device.free_handles if code == TypeCode.NDARRAY]) == 2
    assert not _copies(device, CopyToRemote)


def test_unknown_input_is_a_remote_error() -> None:
    session, _ = _session()
    executor = session.create_aot_executor()
    with pytest.raises(RemoteError, match="no input 'nope'"):
        executor.set_input("nope", np.zeros((1, 4), np.float32))


def test_time_evaluator_returns_one_value_per_repeat() -> None:
    session, device = _session()
    executor = session.create_aot_executor()
    assert executor.time(number=2, repeat=3) == [0.001, 0.002, 0.003]
    assert device.timed_runs == 6


def test_graph_executor_needs_the_device_module() -> None:
    session, _ = _session()
    with pytest.raises(FunctionNotFound, match=r"tvm\.graph_executor\.create"):
        session.create_graph_executor('{"nodes": []}')


def test_device_memory_handles() -> None:
    session, device = _session()
    tensor = session.empty((3,), np.int16)
    assert isinstance(tensor, DeviceArray) and tensor.data in device.memory
    assert tensor.nbytes == 6 and tensor.dtype == np.int16
    tensor.free()
    tensor.free()  # only once on the wire
    frees = [r for r in device.requests
             if isinstance(r, Syscall) and r.code == RPCCode.DEV_FREE_DATA]
    assert len(frees) == 1 and frees[0].args[1].value == tensor.data
    with pytest.raises(RemoteError, match="unknown address"):
        session.client.free_data(tensor)
    assert session.client.call(session.get_global_func("test.echo"),
                               Handle(5)) == Handle(5)


def test_close_with_shutdown_sends_kshutdown() -> None:
    session, device = _session()
    session.close(shutdown=True)
    assert isinstance(device.requests[-1], Shutdown)
    assert not session.transport.is_open


def test_context_manager_opens_and_closes() -> None:
    device = FakeDevice()
    link = LoopbackTransport(device)
    with Session(link, timeouts=FAST) as session:
        assert session.established
        assert session.get_global_func("test.echo")(9) == 9
    assert not link.is_open


def test_code_only_device_errors_are_named() -> None:
    assert "kTvmErrorPlatformNoMemory: out of memory" in str(RemoteError("error 0x503", "x"))
    assert "application-specific" in str(RemoteError("error 0xbeef3"))
    assert str(RemoteError("sensor not ready")).endswith(": sensor not ready")  # text as is
