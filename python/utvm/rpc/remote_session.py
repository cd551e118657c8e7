"""``utvm.rpc.Session``: the entry point for talking to a board.

    from utvm.rpc import Session
    from utvm.transport import SerialTransport

    with Session(SerialTransport("/dev/ttyACM0")).open() as board:
        executor = board.create_aot_executor()
        executor.set_input("input", data)
        executor.run()
        result = executor.get_output(0)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from utvm.errors import UtvmError
from utvm.rpc.client import DEFAULT_MAX_PACKET_FUNCTIONS, RpcClient
from utvm.rpc.executor import (
    AotExecutor,
    GraphExecutor,
    create_aot_executor,
    create_graph_executor,
)
from utvm.rpc.local_graph import LocalGraphExecutor, create_local_graph_executor
from utvm.rpc.messages import MessageTable
from utvm.rpc.remote import DeviceArray, RemoteFunc, RemoteModule
from utvm.rpc.session import SessionLayer
from utvm.transport.base import Transport, TransportTimeouts


def _message_table(firmware: str | Path) -> MessageTable | None:
    """The firmware's messages; None (with a warning) when its ELF cannot be read: the board
    works all the same, its errors then show as code and message id."""
    try:
        return MessageTable.from_elf(firmware)
    except UtvmError as exc:
        logging.getLogger("utvm.remote").warning("%s", exc)
        return None


class Session:
    """A session with one board over ``transport``: handshake, then remote calls.

    ``timeouts`` default to the transport's (TVM's values for that kind of link); ``seed``
    fixes the session nonce seed (tests), ``reply_timeout`` overrides the established-session
    timeout for each reply, ``on_log`` receives device log lines (default: the
    ``utvm.remote`` logger at INFO). ``firmware`` is the board's ELF, from which error
    messages sent by reference are expanded (default: the transport's ``firmware``).
    """

    def __init__(self, transport: Transport, *, timeouts: TransportTimeouts | None = None,
                 seed: int | Callable[[], int] | None = None,
                 reply_timeout: float | None = None,
                 max_packet_functions: tuple[str, ...] = DEFAULT_MAX_PACKET_FUNCTIONS,
                 on_log: Callable[[str], None] | None = None,
                 firmware: str | Path | None = None) -> None:
        self.transport = transport
        self.layer = SessionLayer(transport, timeouts=timeouts, seed=seed, on_log=on_log)
        firmware = firmware if firmware is not None else transport.firmware
        self.messages = _message_table(firmware) if firmware is not None else None
        self.client = RpcClient(self.layer, reply_timeout, max_packet_functions,
                                messages=self.messages)
        self._start_timeouts: tuple[float | None, float | None] = (None, None)

    # -- lifetime -------------------------------------------------------------------------
    def open(self, retry_timeout: float | None = None,
             start_timeout: float | None = None) -> Session:
        """Opens the transport and establishes the session; returns self."""
        self._start_timeouts = (retry_timeout, start_timeout)
        self.layer.start(retry_timeout, start_timeout)
        return self

    def restart(self) -> None:
        """A new session on the same link, after the old one failed (the handshake timeouts
        of ``open``). The device then forgets the old session's objects, so every handle
        from before is void; ``client`` is a new one with the old one's settings."""
        # The lone FE first: it cancels an escape byte the device may hold from a cut frame,
        # which would otherwise swallow the packet start that follows.
        self.layer.framer.reset()
        old = self.client
        self.client = RpcClient(self.layer, old.reply_timeout, old.max_packet_functions,
                                old.copy_packet_limit, old.retry, old.messages)
        self.layer.start(*self._start_timeouts)

    def start(self, retry_timeout: float | None = None, start_timeout: float | None = None
              ) -> None:
        """Same as ``open`` (the session layer's name for it)."""
        self.open(retry_timeout, start_timeout)

    def close(self, shutdown: bool = False) -> None:
        """Closes the transport. ``shutdown=True`` first sends kShutdown, which makes TVM's
        devices reboot and utvm's server restart (the host board exits)."""
        try:
            if shutdown and self.layer.established:
                self.client.shutdown()
        finally:
            self.layer.close()

    @property
    def established(self) -> bool:
        return self.layer.established

    @property
    def session_id(self) -> int:
        return self.layer.session_id

    def __enter__(self) -> Session:
        if not self.layer.established:
            self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- remote API -----------------------------------------------------------------------
    def get_global_func(self, name: str) -> RemoteFunc:
        return self.client.get_global_func(name)

    def get_system_lib(self) -> RemoteModule:
        return self.client.system_lib()

    def create_aot_executor(self, module_name: str = "default") -> AotExecutor:
        return create_aot_executor(self.client, module_name)

    def create_graph_executor(self, graph_json: str | bytes,
                              params: bytes | None = None) -> GraphExecutor:
        return create_graph_executor(self.client, graph_json, params)

    def create_local_graph_executor(self, graph_json: str | bytes,
                                    params: bytes | None = None) -> LocalGraphExecutor:
        """The graph executor on this host, operators on the device: what TVM does, and what
        works with firmware that has no graph executor (TVM's Zephyr template)."""
        return create_local_graph_executor(self.client, graph_json, params)

    def empty(self, shape: tuple[int, ...] | list[int], dtype: Any) -> DeviceArray:
        """Uninitialised device memory for a tensor; free it with ``free()`` or ``with``."""
        return self.client.empty(shape, dtype)

    def array(self, value: Any) -> DeviceArray:
        """A device copy of a numpy array."""
        data = np.ascontiguousarray(value)
        tensor = self.client.empty(data.shape, data.dtype)
        tensor.copyfrom(data)
        return tensor

    # -- the session layer's interface, for callers that drive RpcClient themselves ------
    def send(self, packet: bytes, timeout: float | None = None) -> None:
        self.layer.send(packet, timeout)

    def receive(self, timeout: float | None = None,
                waiting_for: str | Callable[[], str] = "a reply") -> bytes:
        return self.layer.receive(timeout, waiting_for)
