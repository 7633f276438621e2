"""Client-side pieces that need no gateway: addresses, request building, errors."""

from __future__ import annotations

import pickle

import pytest

import modelgate
from modelgate import errors
from modelgate._address import parse_address
from modelgate._requests import build_chat_request, to_message, to_tensor
from modelgate.v1 import gateway_pb2 as gw


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("unix:///tmp/modelgate.sock", "/tmp/modelgate.sock"),
        ("unix:/abs/path.sock", "/abs/path.sock"),
        ("unix:relative/gw.sock", "relative/gw.sock"),
        ("unix:gw.sock", "gw.sock"),
    ],
)
def test_unix_addresses(text: str, path: str) -> None:
    a = parse_address(text)
    assert a.is_unix and a.unix_path == path and str(a) == text


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [("tcp://127.0.0.1:7470", "127.0.0.1", 7470), ("tcp://localhost:1", "localhost", 1), ("tcp://[::1]:80", "::1", 80)],
)
def test_tcp_addresses(text: str, host: str, port: int) -> None:
    a = parse_address(text)
    assert (a.host, a.port, a.is_unix) == (host, port, False)


@pytest.mark.parametrize(
    "bad", ["", "http://x:1", "tcp://nohost", "tcp://:80", "tcp://h:0", "tcp://h:99999", "unix:", "unix://host/x"]
)
def test_bad_addresses(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_address(bad)


def test_default_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELGATE_ADDRESS", raising=False)
    assert parse_address(None).unix_path == "/tmp/modelgate.sock"
    monkeypatch.setenv("MODELGATE_ADDRESS", "tcp://127.0.0.1:9")
    assert parse_address(None).port == 9
    assert modelgate.Client().address == "tcp://127.0.0.1:9"


def test_sampling_params_present_even_when_zero() -> None:
    req = build_chat_request(
        "m",
        [{"role": "user", "content": "x"}],
        temperature=0.0,
        top_p=0.0,
        max_tokens=0,
        seed=0,
        presence_penalty=0.0,
        frequency_penalty=0.0,
        top_k=0,
        parallel_tool_calls=False,
    )
    for name in ("temperature", "top_p", "max_tokens", "seed", "presence_penalty", "frequency_penalty", "top_k", "parallel_tool_calls"):
        assert req.HasField(name), name
    unset = build_chat_request("m", [])
    assert not unset.HasField("temperature") and not unset.HasField("max_tokens")


def test_message_dicts() -> None:
    m = to_message({"role": "user", "content": "hi"})
    assert m == gw.Message(role=gw.ROLE_USER, parts=[gw.ContentPart(text="hi")])
    m = to_message(
        {
            "role": "user",
            "content": [
                "a",
                {"type": "text", "text": "b"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
                {"type": "image", "data": b"\x89PNG", "mime_type": "image/png"},
            ],
            "name": "bob",
        }
    )
    assert [p.WhichOneof("part") for p in m.parts] == ["text", "text", "image_url", "image_data"]
    assert m.parts[2].image_url.detail == "low" and m.parts[3].image_data.mime_type == "image/png"
    assert m.name == "bob"
    a = to_message(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}],
        }
    )
    assert a.role == gw.ROLE_ASSISTANT and a.parts[0].tool_call == gw.ToolCall(id="c1", name="f", arguments_json='{"x":1}')
    t = to_message({"role": "tool", "tool_call_id": "c1", "content": "42"})
    assert t.parts[0].tool_result == gw.ToolResult(tool_call_id="c1", content="42")
    assert to_message({"role": "developer", "content": "x"}).role == gw.ROLE_DEVELOPER
    with pytest.raises(ValueError):
        to_message({"role": "robot", "content": "x"})


def test_tools_choice_format() -> None:
    req = build_chat_request(
        "m",
        [],
        tools=[
            {"type": "function", "function": {"name": "get", "description": "d", "parameters": {"type": "object"}}},
            {"name": "put", "parameters": '{"type":"object"}', "strict": True},
        ],
        tool_choice="required",
        response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object"}, "strict": True}},
        stop="END",
        labels={"team": "a"},
        fallback_models=["b"],
    )
    assert [t.name for t in req.tools] == ["get", "put"]
    assert req.tools[0].parameters_json == '{"type":"object"}' and req.tools[1].strict
    assert req.tool_choice.mode == gw.ToolChoice.MODE_REQUIRED
    assert req.response_format.type == gw.ResponseFormat.TYPE_JSON_SCHEMA
    assert req.response_format.schema_name == "s"
    assert list(req.stop) == ["END"] and dict(req.metadata) == {"team": "a"}
    assert list(req.routing.fallback_models) == ["b"]
    assert build_chat_request("m", [], tool_choice="get").tool_choice.function_name == "get"


def test_tensors() -> None:
    t = to_tensor({"name": "x", "datatype": "FP32", "data": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]})
    assert list(t.shape) == [2, 3] and list(t.data.fp32s) == [1, 2, 3, 4, 5, 6]
    assert t.datatype == gw.DATA_TYPE_FP32
    t = to_tensor({"name": "s", "datatype": "BYTES", "data": ["a", b"b"]})
    assert list(t.data.bytes_values) == [b"a", b"b"] and list(t.shape) == [2]
    t = to_tensor({"name": "h", "datatype": "FP16", "shape": [1], "data": b"\x00<"})
    assert t.data.raw == b"\x00<"


def test_error_hierarchy() -> None:
    seen = set()
    for name in gw.StatusCode.keys():
        code = gw.StatusCode.Value(name)
        if code == gw.OK:
            continue
        cls = errors.exception_class(code)
        assert issubclass(cls, modelgate.ModelGateError) and cls.code == code and cls.code_name == name
        seen.add(cls)
        err = errors.error_for_status(code, "boom", modelgate.ErrorDetails(kind="X", retry_after=1.5))
        assert type(err) is cls and err.code == code and err.message == "boom"
        assert "boom" in str(err) and name in str(err)
    assert len(seen) == 16
    import asyncio

    assert not issubclass(modelgate.CancelledError, asyncio.CancelledError)
    unknown = errors.error_for_status(99, "odd")
    assert isinstance(unknown, modelgate.UnknownError) and unknown.code == 99


def test_error_details_from_proto() -> None:
    d = modelgate.ErrorDetails.from_proto(
        gw.ErrorDetail(kind=gw.ERROR_KIND_RATE_LIMITED, retryable=True, retry_after_ms=250, provider="p", upstream_status=429)
    )
    assert (d.kind, d.retryable, d.retry_after, d.provider, d.upstream_status) == ("RATE_LIMITED", True, 0.25, "p", 429)
    assert modelgate.ErrorDetails.from_proto(gw.ErrorDetail()).retry_after is None


def test_errors_pickle() -> None:
    err = modelgate.ResourceExhaustedError("slow down", modelgate.ErrorDetails(kind="RATE_LIMITED", retry_after=2.0))
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is modelgate.ResourceExhaustedError and back.details == err.details


def test_cost_usd() -> None:
    assert modelgate.cost_usd(gw.Usage()) is None
    assert modelgate.cost_usd(gw.Usage(cost_usd=0.0)) == 0.0
    assert modelgate.cost_usd(None) is None


def test_timeout_must_be_positive() -> None:
    c = modelgate.Client("unix:///nonexistent")
    with pytest.raises(ValueError):
        c.chat(model="m", messages=[], timeout=0)
    with pytest.raises(TypeError):
        c.chat(model="m")


def test_fast_request_encoding_is_byte_identical() -> None:
    """The hand-encoded fast path for plain {"role", "content"} messages produces exactly what
    protobuf's SerializeToString() produces, with and without other parameters."""
    import random
    import string

    from modelgate._requests import chat_request_bytes

    names = [
        "tools", "tool_choice", "response_format", "temperature", "top_p", "max_tokens", "seed",
        "presence_penalty", "frequency_penalty", "top_k", "parallel_tool_calls", "stop", "user",
        "tenant", "priority", "labels", "cache", "fallback_models", "prefer_provider",
    ]  # fmt: skip
    roles = ["system", "user", "assistant", "tool", "developer"]
    rnd = random.Random(7)

    def text() -> str:
        n = rnd.choice([0, 1, 5, 127, 128, 300, 16383, 16384])
        return "".join(rnd.choice(string.ascii_letters + " éß€\x00😀") for _ in range(n))

    for _ in range(400):
        msgs: list[modelgate.MessageLike] = [
            {"role": rnd.choice(roles), "content": text()} for _ in range(rnd.randint(0, 3))
        ]
        model = text()[:40]
        params: list[object] = [None] * len(names)
        if rnd.random() < 0.5:
            params[3] = rnd.choice([0.0, 0.5])
            params[5] = rnd.choice([None, 0, 16])
            params[11] = rnd.choice([None, "x", ["a", "b"]])
            params[15] = rnd.choice([None, {"k": "v"}])
        fast = chat_request_bytes(model, msgs, None, *params)
        kwargs = {k: v for k, v in zip(names, params) if v is not None}
        assert fast == build_chat_request(model, msgs, **kwargs).SerializeToString()  # type: ignore[arg-type]
    # Anything else takes the protobuf path.
    odd = [{"role": "user", "content": "x", "name": "bob"}]
    assert chat_request_bytes("m", odd, None) == build_chat_request("m", odd).SerializeToString()
