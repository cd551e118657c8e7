"""The host side of microTVM's wire protocol: framing, session, RPC client, executors."""

from utvm.rpc.client import RpcClient
from utvm.rpc.codec import Function, Module, ProtocolError, RemoteError, Tensor
from utvm.rpc.executor import RemoteExecutor
from utvm.rpc.session import Session, SessionError, SessionReset

__all__ = [
    "Function",
    "Module",
    "ProtocolError",
    "RemoteError",
    "RemoteExecutor",
    "RpcClient",
    "Session",
    "SessionError",
    "SessionReset",
    "Tensor",
]
