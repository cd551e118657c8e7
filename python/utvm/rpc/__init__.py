"""The host side of TVM 0.18's microTVM wire protocol, for utvm and TVM devices alike.

Layers, bottom up: ``framing`` (escapes, CRC), ``session`` (handshake, logs, resets),
``codec`` (minRPC packets), ``client`` (requests, chunked copies), ``executor`` (AOT and graph
executors on the device) and ``Session``, the entry point::

    with Session(transport).open() as board:
        executor = board.create_aot_executor()
        executor.set_input(0, data); executor.run(); out = executor.get_output(0)

Errors: ``RemoteError`` (the device reported one), ``TransportTimeout`` (silence, with what
to check), ``SessionReset`` (the device rebooted mid-session), ``ProtocolError`` (bad bytes),
``DamagedReply`` (a reply failed its CRC check), ``LinkFailed`` (recovery gave up).

On a noisy link, ``recovery.run_with_recovery(session, work)`` sends lost requests again
and, if needed, redoes ``work`` in a new session (``retry_policy`` says how often).
"""

from utvm.rpc.client import RpcClient
from utvm.rpc.codec import DataType, Device, TensorRecord
from utvm.rpc.errors import (
    DamagedReply,
    FunctionNotFound,
    LinkFailed,
    ProtocolError,
    RemoteError,
    SessionError,
    SessionReset,
    TransportClosed,
    TransportTimeout,
)
from utvm.rpc.executor import AotExecutor, Executor, GraphExecutor, RemoteExecutor
from utvm.rpc.local_graph import LocalGraphExecutor
from utvm.rpc.remote import DeviceArray, RemoteFunc, RemoteModule, TimeEvaluator
from utvm.rpc.remote_session import Session
from utvm.rpc.session import SessionLayer

__all__ = [
    "AotExecutor",
    "DamagedReply",
    "DataType",
    "Device",
    "DeviceArray",
    "Executor",
    "FunctionNotFound",
    "GraphExecutor",
    "LinkFailed",
    "LocalGraphExecutor",
    "ProtocolError",
    "RemoteError",
    "RemoteExecutor",
    "RemoteFunc",
    "RemoteModule",
    "RpcClient",
    "Session",
    "SessionError",
    "SessionLayer",
    "SessionReset",
    "TensorRecord",
    "TimeEvaluator",
    "TransportClosed",
    "TransportTimeout",
]
