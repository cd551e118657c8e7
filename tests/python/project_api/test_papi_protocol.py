"""The JSON-RPC layer, driven over pipes like TVM drives it: replies, ids, error objects,
and that the server lives on after bad requests and ends at end of file."""

from __future__ import annotations

import io
import json

import pytest
from apiclient import ApiClient, RpcErrorReply

from utvm.project_api.jsonrpc import IoTimeoutError, JsonRpcServer, Method
from utvm.project_api.options import OPTIONS

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, SERVER_ERROR = (
    -32700, -32600, -32601, -32602, -32000)
OPTION_FIELDS = {"name", "type", "help", "required", "optional", "choices", "default"}


def test_server_info_of_the_template(template_server: ApiClient) -> None:
    info = template_server.call("server_info_query", tvm_version="0.18.0")
    assert info["protocol_version"] == 1
    assert info["platform_name"] == "zephyr"
    assert info["is_template"] is True
    assert info["model_library_format_path"] == ""
    names = [o["name"] for o in info["project_options"]]
    for needed in ("board", "west_cmd", "zephyr_base", "serial_number", "serial_port",
                   "config_main_stack_size", "arena_size_bytes", "verbose", "project_type"):
        assert needed in names
    for option in info["project_options"]:
        assert set(option) == OPTION_FIELDS
        assert option["type"] in ("bool", "str", "int")
        assert option["required"] or option["optional"]
    board = next(o for o in info["project_options"] if o["name"] == "board")
    assert board["required"] == ["generate_project"] and board["choices"] is None


def test_replies_carry_the_request_ids(template_server: ApiClient) -> None:
    for expected in (1, 2, 3):
        reply = template_server.request("server_info_query", {"tvm_version": "0.18.0"})
        assert reply["id"] == expected and "result" in reply
    reply = template_server.send_line(json.dumps({
        "jsonrpc": "2.0", "method": "close_transport", "params": {}, "id": "text-id"}).encode())
    assert reply == {"jsonrpc": "2.0", "id": "text-id", "result": None}


def test_old_tvm_is_refused_by_name(template_server: ApiClient) -> None:
    with pytest.raises(RpcErrorReply) as caught:
        template_server.call("server_info_query", tvm_version="0.12.0")
    assert caught.value.code == SERVER_ERROR
    assert caught.value.message == "UnsupportedTVMVersionError"  # TVM re-raises it by name
    assert "0.13 to 0.18" in caught.value.data["detail"]
    assert "Traceback" in caught.value.data["traceback"]


def test_a_line_that_is_not_json(template_server: ApiClient) -> None:
    reply = template_server.send_line(b'{"jsonrpc": "2.0", "method": ')
    assert reply["id"] is None and reply["error"]["code"] == PARSE_ERROR
    # The server is still there for the next request.
    assert template_server.call("server_info_query", tvm_version="0.18.0")["is_template"]


@pytest.mark.parametrize("request_object, complaint", [
    ([1, 2], "JSON object"),
    ({"jsonrpc": "1.0", "method": "build", "params": {}, "id": 1}, '"2.0"'),
    ({"jsonrpc": "2.0", "method": "build-it", "params": {}, "id": 1}, "method"),
    ({"jsonrpc": "2.0", "method": 7, "params": {}, "id": 1}, "method"),
    ({"jsonrpc": "2.0", "method": "build", "params": [], "id": 1}, "params"),
    ({"jsonrpc": "2.0", "method": "build", "params": {}, "id": [1]}, "id"),
])
def test_invalid_requests(template_server: ApiClient, request_object: object,
                          complaint: str) -> None:
    reply = template_server.send_line(json.dumps(request_object).encode())
    assert reply["id"] is None
    assert reply["error"]["code"] == INVALID_REQUEST
    assert complaint in reply["error"]["message"]


def test_unknown_method(template_server: ApiClient) -> None:
    reply = template_server.request("reboot_board", {})
    assert reply["error"]["code"] == METHOD_NOT_FOUND
    assert "reboot_board" in reply["error"]["message"]
    assert "generate_project" in reply["error"]["message"]  # says what there is


@pytest.mark.parametrize("method, params, complaint", [
    ("server_info_query", {}, "missing parameter(s): tvm_version"),
    ("server_info_query", {"tvm_version": "0.18.0", "x": 1}, "unknown parameter(s): x"),
    ("build", {}, "missing parameter(s): options"),
    ("build", {"options": []}, "options must be object"),
    ("read_transport", {"n": "4", "timeout_sec": None}, "n must be integer"),
    ("read_transport", {"n": True, "timeout_sec": None}, "n must be integer"),
    ("read_transport", {"n": 4, "timeout_sec": "1"}, "timeout_sec must be"),
    ("write_transport", {"data": b"x".hex()}, "missing parameter(s): timeout_sec"),
    ("close_transport", {"now": True}, "unknown parameter(s): now"),
])
def test_invalid_params(template_server: ApiClient, method: str, params: dict[str, object],
                        complaint: str) -> None:
    reply = template_server.request(method, params)
    assert reply["error"]["code"] == INVALID_PARAMS, reply
    assert complaint in reply["error"]["message"]


def test_a_failing_method_is_a_server_error_saying_what_to_do(
        template_server: ApiClient) -> None:
    reply = template_server.request("build", {"options": {}})
    error = reply["error"]
    assert error["code"] == SERVER_ERROR
    assert "is the template, not a generated project" in error["message"]
    assert "tvmc micro create-project" in error["message"]
    assert "UtvmError" in error["data"]["traceback"]


def test_end_of_file_ends_the_server(template_server: ApiClient) -> None:
    template_server.call("server_info_query", tvm_version="0.18.0")
    assert template_server.close(timeout=30) == 0


def test_option_list_matches_the_module() -> None:
    assert len({o.name for o in OPTIONS}) == len(OPTIONS)
    for option in OPTIONS:
        assert option.help.strip()
        assert option.choices is None or option.default in (None, *option.choices)


def serve(lines: list[bytes], methods: dict[str, Method]) -> list[dict[str, object]]:
    """Runs the JSON-RPC layer in-process over byte streams; returns the replies."""
    replies = io.BytesIO()
    server = JsonRpcServer(io.BytesIO(b"".join(line + b"\n" for line in lines)), replies,
                           methods)
    server.serve_forever()
    return [json.loads(line) for line in replies.getvalue().splitlines()]


def request_line(method: str, params: dict[str, object], request_id: int = 1) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "method": method, "params": params,
                       "id": request_id}).encode()


def test_a_bug_in_a_method_is_still_a_reply() -> None:
    def broken() -> None:
        raise KeyError("oops")

    replies = serve([request_line("broken", {}), request_line("fine", {}, 2)],
                    {"broken": Method("broken", {}, broken),
                     "fine": Method("fine", {}, lambda: {"ok": True})})
    assert replies[0]["error"]["code"] == SERVER_ERROR
    assert replies[0]["error"]["message"] == "calling method broken: KeyError: 'oops'"
    assert "KeyError" in replies[0]["error"]["data"]["traceback"]
    assert replies[1] == {"jsonrpc": "2.0", "id": 2, "result": {"ok": True}}


def test_a_result_json_cannot_hold_is_an_internal_error() -> None:
    replies = serve([request_line("odd", {})], {"odd": Method("odd", {}, lambda: {1, 2})})
    assert replies[0]["error"]["code"] == -32603
    assert replies[0]["id"] == 1


def test_named_server_errors_keep_their_text_in_data() -> None:
    def late() -> None:
        raise IoTimeoutError("nothing from /dev/pts/9 within 0.5 s")

    error = serve([request_line("late", {})], {"late": Method("late", {}, late)})[0]["error"]
    assert error["message"] == "IoTimeoutError"
    assert error["data"]["detail"] == "nothing from /dev/pts/9 within 0.5 s"


def test_numbers_and_nulls_where_tvm_sends_them() -> None:
    seen: list[object] = []
    method = Method("read", {"n": int, "timeout_sec": (int, float, type(None))},
                    lambda n, timeout_sec: seen.append(timeout_sec))
    replies = serve([request_line("read", {"n": 1, "timeout_sec": t}, i)
                     for i, t in enumerate((None, 0, 0.25), start=1)], {"read": method})
    assert [r.get("result", "error") for r in replies] == [None, None, None]
    assert seen == [None, 0, 0.25]
