"""The Project API's wire format: JSON-RPC 2.0, one JSON object per line, over two pipes.

TVM (the client) writes one request line and waits for one reply line; there is never more
than one request in flight. This module reads and checks requests, calls the method
handler, and writes replies and error objects exactly as TVM 0.18's client decodes them
(doc: mlf-and-project-api.md §2.1): a failing handler becomes a SERVER_ERROR whose
``message`` is the class name for the three errors TVM re-raises by name
(``IoTimeoutError``, ``TransportClosedError``, ``UnsupportedTVMVersionError``) and the
problem itself otherwise, with the server's traceback in ``data.traceback``.
"""

from __future__ import annotations

import enum
import json
import logging
import re
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from utvm.errors import UtvmError

_LOG = logging.getLogger("utvm.project_api")

METHOD_NAME = re.compile(r"^[a-zA-Z0-9_]+$")


class ErrorCode(enum.IntEnum):
    SERVER_ERROR = -32000  # the handler raised
    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603


class JsonRpcError(Exception):
    """An error reply: ``code``, ``message`` and ``data`` as JSON-RPC puts them."""

    def __init__(self, code: ErrorCode, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def to_json(self) -> dict[str, Any]:
        return {"code": int(self.code), "message": self.message, "data": self.data}


class ServerError(JsonRpcError):
    """A method failed. Subclasses are the errors TVM's client knows by class name."""

    def __init__(self, message: str | None = None, data: Any = None) -> None:
        named = type(self) is not ServerError
        # TVM's client maps a SERVER_ERROR whose message is one of its ServerError
        # subclass names back to that class, so named errors carry exactly that name.
        super().__init__(ErrorCode.SERVER_ERROR, type(self).__name__ if named else
                         (message or "server error"), data)
        self.detail = message or ""

    def __str__(self) -> str:
        return f"{self.message}: {self.detail}" if self.detail and \
            self.detail != self.message else self.message


class IoTimeoutError(ServerError):
    """Nothing could be read (or not everything written) before the timeout."""


class TransportClosedError(ServerError):
    """The transport is not open, or its other end went away."""


class UnsupportedTVMVersionError(ServerError):
    """server_info_query was given a TVM version this server cannot serve."""


# JSON types of parameters: what isinstance must accept ("number" also takes ints).
ParamType = type | tuple[type, ...]


@dataclass(frozen=True)
class Method:
    """One method: its parameters (all required, no others allowed) and the handler."""

    name: str
    params: Mapping[str, ParamType]
    call: Callable[..., Any]


def _type_name(expected: ParamType) -> str:
    names = {dict: "object", str: "string", int: "integer", float: "number",
             type(None): "null", bool: "boolean", list: "array"}
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


def _matches(value: Any, expected: ParamType) -> bool:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool):  # JSON true/false are not numbers
        return bool in kinds
    if float in kinds and isinstance(value, int):
        return True
    return isinstance(value, kinds)


class JsonRpcServer:
    """Serves requests read from ``read_file`` until end of file, one at a time."""

    def __init__(self, read_file: BinaryIO, write_file: BinaryIO,
                 methods: Mapping[str, Method]) -> None:
        self._read, self._write = read_file, write_file
        self.methods = dict(methods)

    def serve_forever(self) -> None:
        while self.serve_one():
            pass

    def serve_one(self) -> bool:
        """Handles one request line; False at end of file (the client is gone)."""
        line = self._read.readline()
        if not line:
            return False
        self._request_id: Any = None  # known once the request's envelope is valid
        try:
            try:
                request = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise JsonRpcError(ErrorCode.PARSE_ERROR,
                                   f"the request line is not JSON: {exc}") from exc
            method, params = self._validate(request)
            result = self._dispatch(method, params)
        except JsonRpcError as exc:
            _LOG.debug("error reply: %s", exc.to_json())
            self._reply({"jsonrpc": "2.0", "id": self._request_id, "error": exc.to_json()})
            return True
        self._reply({"jsonrpc": "2.0", "id": self._request_id, "result": result})
        return True

    def _validate(self, request: Any) -> tuple[Method, dict[str, Any]]:
        def invalid(what: str) -> JsonRpcError:
            return JsonRpcError(ErrorCode.INVALID_REQUEST, what)

        if not isinstance(request, dict):
            raise invalid(f"a request is a JSON object, not {type(request).__name__}")
        if request.get("jsonrpc") != "2.0":
            raise invalid(f'request "jsonrpc" must be "2.0", not {request.get("jsonrpc")!r}')
        name = request.get("method")
        if not isinstance(name, str) or not METHOD_NAME.match(name):
            raise invalid(f'request "method" must be a name matching {METHOD_NAME.pattern}, '
                          f"not {name!r}")
        params = request.get("params")
        if not isinstance(params, dict):
            raise invalid(f'request "params" must be an object, not {type(params).__name__}')
        request_id = request.get("id")
        if isinstance(request_id, bool) or not isinstance(request_id, (str, int, type(None))):
            raise invalid(f'request "id" must be a string, number or null, not {request_id!r}')
        self._request_id = request_id
        method = self.methods.get(name)
        if method is None:
            raise JsonRpcError(
                ErrorCode.METHOD_NOT_FOUND,
                f"{name}: no such method; this server has {', '.join(sorted(self.methods))}")
        missing = [p for p in method.params if p not in params]
        extra = [p for p in params if p not in method.params]
        problems = []
        if missing:
            problems.append(f"missing parameter(s): {', '.join(missing)}")
        if extra:
            problems.append(f"unknown parameter(s): {', '.join(extra)}")
        for param, expected in method.params.items():
            if param in params and not _matches(params[param], expected):
                problems.append(f"parameter {param} must be {_type_name(expected)}, not "
                                f"{type(params[param]).__name__}")
        if problems:
            raise JsonRpcError(ErrorCode.INVALID_PARAMS, f"method {name}: " + "; ".join(problems))
        return method, params

    def _dispatch(self, method: Method, params: dict[str, Any]) -> Any:
        try:
            result = method.call(**params)
        except ServerError as exc:
            exc.data = {**(exc.data or {}), "traceback": _traceback(exc)}
            if exc.detail and exc.detail != exc.message:
                exc.data.setdefault("detail", exc.detail)
            raise
        except UtvmError as exc:
            # A problem the user can fix: its text is the message TVM prints.
            raise ServerError(str(exc), {"traceback": _traceback(exc)}) from exc
        except Exception as exc:  # a bug: still a reply, never a dead server
            raise ServerError(f"calling method {method.name}: {type(exc).__name__}: {exc}",
                              {"traceback": _traceback(exc)}) from exc
        try:
            json.dumps(result)
        except (TypeError, ValueError) as exc:
            raise JsonRpcError(ErrorCode.INTERNAL_ERROR,
                               f"method {method.name} returned a value JSON cannot hold: "
                               f"{exc}") from exc
        return result

    def _reply(self, reply: dict[str, Any]) -> None:
        self._write.write(json.dumps(reply).encode("utf-8") + b"\n")
        self._write.flush()


def _traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))
