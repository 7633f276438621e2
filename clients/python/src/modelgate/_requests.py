"""Builds request messages from Pythonic arguments (plain dicts, strings, or generated messages)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypedDict, Union, cast

from .v1 import gateway_pb2 as gw

__all__ = [
    "MessageDict",
    "MessageLike",
    "PartLike",
    "ToolLike",
    "ToolChoiceLike",
    "ResponseFormatLike",
    "TensorLike",
    "build_chat_request",
    "to_message",
    "to_tensor",
]

RoleName = Literal["system", "user", "assistant", "tool", "developer"]


class MessageDict(TypedDict, total=False):
    """A chat message as a plain dict, in the familiar OpenAI shape.

    ``content`` is a string or a list of parts; a part is a string, a ``ContentPart``, or a dict
    such as ``{"type": "text", "text": ...}``, ``{"type": "image_url", "image_url": {"url": ...}}``,
    ``{"type": "image", "data": b"...", "mime_type": "image/png"}``,
    ``{"type": "tool_call", "id": ..., "name": ..., "arguments": ...}`` or
    ``{"type": "tool_result", "tool_call_id": ..., "content": ...}``.
    """

    role: RoleName | str
    content: str | Sequence[Any] | None
    name: str
    tool_call_id: str
    tool_calls: Sequence[Mapping[str, Any]]


PartLike = Union[str, gw.ContentPart, Mapping[str, Any]]
MessageLike = Union[gw.Message, MessageDict, Mapping[str, Any]]
ToolLike = Union[gw.Tool, Mapping[str, Any]]
ToolChoiceLike = Union[gw.ToolChoice, str, Mapping[str, Any]]
ResponseFormatLike = Union[gw.ResponseFormat, str, Mapping[str, Any]]
TensorLike = Union[gw.Tensor, Mapping[str, Any]]

_ROLES: dict[str, gw.Role] = {
    "system": gw.ROLE_SYSTEM,
    "user": gw.ROLE_USER,
    "assistant": gw.ROLE_ASSISTANT,
    "tool": gw.ROLE_TOOL,
    "developer": gw.ROLE_DEVELOPER,
}


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _role(value: Any) -> gw.Role:
    if isinstance(value, int):
        return cast(gw.Role, value)
    if isinstance(value, str):
        role = _ROLES.get(value.lower())
        if role is not None:
            return role
        try:
            return cast(gw.Role, gw.Role.Value(value.upper()))
        except ValueError:
            pass
    raise ValueError(f"unknown message role {value!r} (expected one of {', '.join(_ROLES)})")


def _tool_call(d: Mapping[str, Any]) -> gw.ToolCall:
    fn = d.get("function")
    if isinstance(fn, Mapping):  # OpenAI: {"id", "type": "function", "function": {"name", "arguments"}}
        return gw.ToolCall(id=d.get("id", ""), name=fn.get("name", ""), arguments_json=_json_text(fn.get("arguments")))
    args = d.get("arguments", d.get("arguments_json"))
    return gw.ToolCall(id=d.get("id", ""), name=d.get("name", ""), arguments_json=_json_text(args))


def _part(p: PartLike) -> gw.ContentPart:
    if isinstance(p, str):
        return gw.ContentPart(text=p)
    if isinstance(p, gw.ContentPart):
        return p
    if not isinstance(p, Mapping):
        raise TypeError(f"content part must be a str, dict or ContentPart, not {type(p).__name__}")
    kind = p.get("type")
    if kind is None:
        # Infer from the keys: {"text": ...}, {"image_url": ...}, {"data": ...}, ...
        for key in ("text", "image_url", "image_data", "tool_call", "tool_result"):
            if key in p:
                kind = key
                break
        else:
            if "data" in p:
                kind = "image"
    if kind in ("text", "input_text"):
        return gw.ContentPart(text=p["text"])
    if kind == "image_url":
        url = p.get("image_url", p.get("url"))
        if isinstance(url, Mapping):
            return gw.ContentPart(image_url=gw.ImageUrl(url=url.get("url", ""), detail=url.get("detail", "")))
        return gw.ContentPart(image_url=gw.ImageUrl(url=url or "", detail=p.get("detail", "")))
    if kind in ("image", "image_data"):
        src = p.get("image_data", p)
        if isinstance(src, gw.ImageData):
            return gw.ContentPart(image_data=src)
        return gw.ContentPart(image_data=gw.ImageData(data=bytes(src["data"]), mime_type=src.get("mime_type", "")))
    if kind == "tool_call":
        src = p.get("tool_call", p)
        if isinstance(src, gw.ToolCall):
            return gw.ContentPart(tool_call=src)
        return gw.ContentPart(tool_call=_tool_call(src))
    if kind == "tool_result":
        src = p.get("tool_result", p)
        if isinstance(src, gw.ToolResult):
            return gw.ContentPart(tool_result=src)
        return gw.ContentPart(
            tool_result=gw.ToolResult(
                tool_call_id=src.get("tool_call_id", ""),
                content=_json_text(src.get("content")),
                is_error=bool(src.get("is_error", False)),
            )
        )
    raise ValueError(f"unsupported content part {dict(p)!r}")


def _fill_message(m: gw.Message, src: Mapping[str, Any]) -> None:
    role_value = src.get("role", "user")
    role = _ROLES.get(role_value) if type(role_value) is str else None
    m.role = role if role is not None else _role(role_value)
    content = src.get("content")
    tool_call_id = src.get("tool_call_id") or ""
    if content is None:
        pass
    elif type(content) is str:
        if tool_call_id and m.role == gw.ROLE_TOOL:
            result = m.parts.add().tool_result
            result.tool_call_id = tool_call_id
            result.content = content
            tool_call_id = ""
        else:
            m.parts.add().text = content
    elif isinstance(content, (str, bytes, Mapping)):
        raise TypeError("message content must be a str or a list of parts")
    else:
        parts = m.parts
        for p in content:
            if type(p) is str:
                parts.add().text = p
            else:
                parts.append(_part(p))
    calls = src.get("tool_calls")
    if calls:
        for c in calls:
            m.parts.add().tool_call.CopyFrom(c if isinstance(c, gw.ToolCall) else _tool_call(c))
    name = src.get("name")
    if name:
        m.name = name
    if tool_call_id:
        m.tool_call_id = tool_call_id


def to_message(m: MessageLike) -> gw.Message:
    """Converts a dict (``{"role": "user", "content": "hi"}``) or a ``Message`` to a ``Message``."""
    if isinstance(m, gw.Message):
        return m
    if not isinstance(m, Mapping):
        raise TypeError(f"message must be a dict or modelgate.Message, not {type(m).__name__}")
    msg = gw.Message()
    _fill_message(msg, m)
    return msg


def _add_messages(req: gw.ChatRequest, messages: Iterable[MessageLike]) -> None:
    if isinstance(messages, (str, bytes, Mapping)):
        raise TypeError("messages must be a list of dicts or Message objects")
    out = req.messages
    for m in messages:
        if isinstance(m, gw.Message):
            out.append(m)
        elif isinstance(m, Mapping):
            _fill_message(out.add(), m)
        else:
            raise TypeError(f"message must be a dict or modelgate.Message, not {type(m).__name__}")


def _tool(t: ToolLike) -> gw.Tool:
    if isinstance(t, gw.Tool):
        return t
    fn = t.get("function") if t.get("type") == "function" else None
    src: Mapping[str, Any] = fn if isinstance(fn, Mapping) else t
    params = src.get("parameters", src.get("parameters_json"))
    return gw.Tool(
        name=src["name"],
        description=src.get("description", "") or "",
        parameters_json=_json_text(params),
        strict=bool(src.get("strict", False)),
    )


_TOOL_MODES = {"auto": gw.ToolChoice.MODE_AUTO, "none": gw.ToolChoice.MODE_NONE, "required": gw.ToolChoice.MODE_REQUIRED}


def _tool_choice(c: ToolChoiceLike) -> gw.ToolChoice:
    if isinstance(c, gw.ToolChoice):
        return c
    if isinstance(c, str):
        mode = _TOOL_MODES.get(c)
        return gw.ToolChoice(mode=mode) if mode is not None else gw.ToolChoice(function_name=c)
    fn = c.get("function")
    if isinstance(fn, Mapping):
        return gw.ToolChoice(function_name=fn["name"])
    if "name" in c or "function_name" in c:
        return gw.ToolChoice(function_name=c.get("name", c.get("function_name", "")))
    return _tool_choice(str(c.get("mode", c.get("type", "auto"))))


def _response_format(f: ResponseFormatLike) -> gw.ResponseFormat:
    if isinstance(f, gw.ResponseFormat):
        return f
    if isinstance(f, str):
        f = {"type": f}
    kind = f.get("type", "text")
    if kind == "text":
        return gw.ResponseFormat(type=gw.ResponseFormat.TYPE_TEXT)
    if kind == "json_object":
        return gw.ResponseFormat(type=gw.ResponseFormat.TYPE_JSON_OBJECT)
    if kind == "json_schema":
        js = f.get("json_schema", f)
        return gw.ResponseFormat(
            type=gw.ResponseFormat.TYPE_JSON_SCHEMA,
            schema_name=js.get("name", js.get("schema_name", "")) or "",
            schema_json=_json_text(js.get("schema", js.get("schema_json"))),
            strict=bool(js.get("strict", False)),
        )
    raise ValueError(f"unknown response_format type {kind!r}")


def build_chat_request(
    model: str,
    messages: Iterable[MessageLike],
    *,
    tools: Iterable[ToolLike] | None = None,
    tool_choice: ToolChoiceLike | None = None,
    response_format: ResponseFormatLike | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
    presence_penalty: float | None = None,
    frequency_penalty: float | None = None,
    top_k: int | None = None,
    parallel_tool_calls: bool | None = None,
    stop: str | Sequence[str] | None = None,
    user: str | None = None,
    tenant: str | None = None,
    priority: int | None = None,
    labels: Mapping[str, str] | None = None,
    cache: gw.CacheHint | Mapping[str, Any] | None = None,
    fallback_models: Sequence[str] | None = None,
    prefer_provider: str | None = None,
) -> gw.ChatRequest:
    """Builds a ``ChatRequest``. ``None`` leaves a parameter unset (provider default); any other
    value, including ``0``/``0.0``/``False``, is sent as present."""
    req = gw.ChatRequest(model=model)
    _add_messages(req, messages)
    _apply_params(
        req, tools, tool_choice, response_format, temperature, top_p, max_tokens, seed, presence_penalty,
        frequency_penalty, top_k, parallel_tool_calls, stop, user, tenant, priority, labels, cache,
        fallback_models, prefer_provider,
    )  # fmt: skip
    return req


def chat_request_bytes(
    model: str | None,
    messages: Iterable[MessageLike] | None,
    request: gw.ChatRequest | None,
    *params: Any,
) -> bytes:
    """The serialized request for ``chat``/``chat_stream``: ``params`` are the optional
    arguments of :func:`build_chat_request`, positionally (hot path: no keyword dict)."""
    if request is not None:
        if model is not None or messages is not None or params.count(None) != len(params):
            raise TypeError("pass either request= or model/messages/parameters, not both")
        return request.SerializeToString()
    if model is None or messages is None:
        raise TypeError("chat needs model= and messages= (or request=)")
    head = _encode_simple_head(model, messages)
    if head is not None:
        # model (field 1) and messages (field 2) come first in canonical field order, so the
        # remaining fields' serialization appended to them equals SerializeToString() exactly.
        if params.count(None) == len(params):
            return head
        rest = gw.ChatRequest()
        _apply_params(rest, *params)
        return head + rest.SerializeToString()
    req = gw.ChatRequest(model=model)
    _add_messages(req, messages)
    if params.count(None) != len(params):
        _apply_params(req, *params)
    return req.SerializeToString()


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _BYTE[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_BYTE = [bytes((i,)) for i in range(256)]
_ROLE_PREFIX = {name: b"\x08" + _BYTE[int(role)] for name, role in _ROLES.items()}


def _encode_simple_head(model: str, messages: Iterable[MessageLike]) -> bytes | None:
    """Hand-encodes fields 1-2 of a ChatRequest when every message is a plain
    ``{"role": <known role>, "content": <str>}`` dict (the hot path); None otherwise."""
    if type(messages) is not list:
        return None
    try:
        model_b = model.encode()
        parts = [b"\x0a", _varint(len(model_b)), model_b] if model_b else []  # proto3 omits ""
        for m in messages:
            if type(m) is not dict or len(m) != 2:
                return None
            content = m.get("content")
            prefix = _ROLE_PREFIX.get(m.get("role"))  # type: ignore[arg-type]
            if prefix is None or type(content) is not str:
                return None
            text = content.encode()
            # Message{role, parts: [ContentPart{text}]}
            part_len = 1 + len(_varint(len(text))) + len(text)
            body_len = 2 + 1 + len(_varint(part_len)) + part_len
            if prefix == b"\x08\x00":  # ROLE_UNSPECIFIED is not written
                return None
            parts += (
                b"\x12",
                _varint(body_len),
                prefix,
                b"\x12",
                _varint(part_len),
                b"\x0a",
                _varint(len(text)),
                text,
            )
    except (UnicodeEncodeError, AttributeError, TypeError):
        return None  # let the protobuf path report it
    return b"".join(parts)


def _apply_params(
    req: gw.ChatRequest,
    tools: Iterable[ToolLike] | None,
    tool_choice: ToolChoiceLike | None,
    response_format: ResponseFormatLike | None,
    temperature: float | None,
    top_p: float | None,
    max_tokens: int | None,
    seed: int | None,
    presence_penalty: float | None,
    frequency_penalty: float | None,
    top_k: int | None,
    parallel_tool_calls: bool | None,
    stop: str | Sequence[str] | None,
    user: str | None,
    tenant: str | None,
    priority: int | None,
    labels: Mapping[str, str] | None,
    cache: gw.CacheHint | Mapping[str, Any] | None,
    fallback_models: Sequence[str] | None,
    prefer_provider: str | None,
) -> None:
    if tools is not None:
        req.tools.extend(_tool(t) for t in tools)
    if tool_choice is not None:
        req.tool_choice.CopyFrom(_tool_choice(tool_choice))
    if response_format is not None:
        req.response_format.CopyFrom(_response_format(response_format))
    if temperature is not None:
        req.temperature = temperature
    if top_p is not None:
        req.top_p = top_p
    if max_tokens is not None:
        req.max_tokens = max_tokens
    if seed is not None:
        req.seed = seed
    if presence_penalty is not None:
        req.presence_penalty = presence_penalty
    if frequency_penalty is not None:
        req.frequency_penalty = frequency_penalty
    if top_k is not None:
        req.top_k = top_k
    if parallel_tool_calls is not None:
        req.parallel_tool_calls = parallel_tool_calls
    if stop is not None:
        req.stop.extend([stop] if isinstance(stop, str) else stop)
    if user:
        req.user = user
    if tenant:
        req.tenant = tenant
    if priority:
        req.priority = priority
    if labels:
        req.metadata.update(labels)
    if cache is not None:
        req.cache.CopyFrom(cache if isinstance(cache, gw.CacheHint) else gw.CacheHint(**cache))
    if fallback_models:
        req.routing.fallback_models.extend(fallback_models)
    if prefer_provider:
        req.routing.prefer_provider = prefer_provider


# Open Inference Protocol datatypes → the TensorData field holding them.
_DATATYPE_FIELD: dict[int, str] = {
    gw.DATA_TYPE_BOOL: "bools",
    gw.DATA_TYPE_INT8: "ints",
    gw.DATA_TYPE_INT16: "ints",
    gw.DATA_TYPE_INT32: "ints",
    gw.DATA_TYPE_INT64: "int64s",
    gw.DATA_TYPE_UINT8: "uints",
    gw.DATA_TYPE_UINT16: "uints",
    gw.DATA_TYPE_UINT32: "uints",
    gw.DATA_TYPE_UINT64: "uint64s",
    gw.DATA_TYPE_FP32: "fp32s",
    gw.DATA_TYPE_FP64: "fp64s",
    gw.DATA_TYPE_BYTES: "bytes_values",
    gw.DATA_TYPE_FP16: "raw",
    gw.DATA_TYPE_BF16: "raw",
}


def _datatype(value: Any) -> gw.DataType:
    if isinstance(value, int):
        return cast(gw.DataType, value)
    name = str(value).upper()
    if not name.startswith("DATA_TYPE_"):
        name = "DATA_TYPE_" + name
    return cast(gw.DataType, gw.DataType.Value(name))


def _flatten(data: Any) -> list[Any]:
    if isinstance(data, (list, tuple)):
        out: list[Any] = []
        for item in data:
            if isinstance(item, (list, tuple)):
                out.extend(_flatten(item))
            else:
                out.append(item)
        return out
    tolist = getattr(data, "tolist", None)  # numpy arrays, without importing numpy
    if tolist is not None:
        return _flatten(tolist())
    return [data]


def _shape_of(data: Any) -> list[int]:
    shape = getattr(data, "shape", None)
    if shape is not None:
        return [int(d) for d in shape]
    dims: list[int] = []
    while isinstance(data, (list, tuple)):
        dims.append(len(data))
        if not data:
            break
        data = data[0]
    return dims


def to_tensor(t: TensorLike) -> gw.Tensor:
    """Converts ``{"name", "datatype": "FP32", "shape": [...], "data": nested list | raw bytes}``
    (or a ``Tensor``) to a ``Tensor``; ``shape`` defaults to the nesting of ``data``."""
    if isinstance(t, gw.Tensor):
        return t
    dtype = _datatype(t.get("datatype", "FP32"))
    data = t.get("data")
    shape = t.get("shape")
    tensor = gw.Tensor(name=t.get("name", ""), datatype=dtype)
    if isinstance(data, gw.TensorData):
        tensor.data.CopyFrom(data)
    elif isinstance(data, (bytes, bytearray, memoryview)) and dtype != gw.DATA_TYPE_BYTES:
        tensor.data.raw = bytes(data)
    elif data is not None:
        field = _DATATYPE_FIELD.get(dtype)
        if field is None or field == "raw":
            raise ValueError(f"give {gw.DataType.Name(dtype)} tensor data as raw little-endian bytes")
        values = _flatten(data)
        if field == "bytes_values":
            values = [v.encode() if isinstance(v, str) else bytes(v) for v in values]
        getattr(tensor.data, field).extend(values)
    tensor.shape.extend(shape if shape is not None else _shape_of(data))
    return tensor
