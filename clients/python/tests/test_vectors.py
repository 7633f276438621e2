"""The protocol vectors of docs/protocol-vectors, checked against the client's codec."""

from __future__ import annotations

import json
import struct

import pytest
from google.protobuf import json_format, symbol_database
from google.protobuf.message import Message

from modelgate import _framing as fr
from modelgate._core import ConnectionCore, StreamState, end_status_error
from modelgate.errors import ResourceExhaustedError
from modelgate.v1 import gateway_pb2, wire_pb2  # noqa: F401  (registers the message types)

from .vectors import Vector, all_vectors

VECTORS = all_vectors()
BY_NAME = {v.name: v for v in VECTORS}
FLAG_BITS = {"END_STREAM": fr.END_STREAM, "COMPRESSED": fr.COMPRESSED}
NAME_TO_TYPE = {name: code for code, name in fr.FRAME_NAMES.items()}


def test_vectors_present() -> None:
    assert len(VECTORS) >= 30
    for name in ("preface-client", "hello-server", "call-chat-stream", "end-rate-limited", "goaway-drain"):
        assert name in BY_NAME


def split_frames(v: Vector) -> tuple[bytes, list[tuple[int, int, int, bytes]], bytes]:
    """(magic-or-empty, complete frames, trailing bytes) of a vector."""
    data = v.data
    magic = b""
    if v.preface and data.startswith(fr.MAGIC):
        magic, data = data[:8], data[8:]
    dec = fr.FrameDecoder(max_frame_size=2**32 - 1)
    frames = dec.feed(data)
    rest = data[len(data) - dec.buffered :] if dec.buffered else b""
    return magic, frames, rest


def message_class(full_name: str) -> type[Message]:
    cls = symbol_database.Default().GetSymbol(full_name)
    assert issubclass(cls, Message)
    return cls


FRAMED = [v for v in VECTORS if v.frames is not None]


@pytest.mark.parametrize("v", FRAMED, ids=lambda v: v.name)
def test_frame_headers_match(v: Vector) -> None:
    magic, frames, rest = split_frames(v)
    expected = v.frames
    assert expected is not None
    assert rest == b"", f"{v.name}: trailing partial frame"
    assert len(frames) == len(expected)
    for (ftype, flags, sid, payload), exp in zip(frames, expected):
        want_type = exp.type_code if exp.type_code is not None else NAME_TO_TYPE[exp.type_name]
        assert ftype == want_type
        assert sid == exp.stream_id
        want_flags = 0
        for f in exp.flags:
            want_flags |= FLAG_BITS[f]
        assert flags == want_flags


@pytest.mark.parametrize("v", [v for v in VECTORS if "message" in v.headers], ids=lambda v: v.name)
def test_payload_matches_json(v: Vector) -> None:
    _, frames, _ = split_frames(v)
    cls = message_class(v.headers["message"])
    payload = frames[-1][3]
    msg = cls.FromString(payload)
    got = json_format.MessageToDict(msg)
    assert got == json.loads(v.headers["json"])
    # Round trip: the JSON parsed into a message serializes to the same payload bytes.
    rebuilt = json_format.Parse(v.headers["json"], cls())
    assert rebuilt.SerializeToString(deterministic=True) == payload


def reencode(frames: list[tuple[int, int, int, bytes]]) -> bytes:
    return b"".join(fr.frame(t, sid, payload, flags) for t, flags, sid, payload in frames)


WELL_FORMED = [v for v in FRAMED if v.expect is None]


@pytest.mark.parametrize("v", WELL_FORMED, ids=lambda v: v.name)
def test_reencode_well_formed(v: Vector) -> None:
    magic, frames, _ = split_frames(v)
    assert magic + reencode(frames) == v.data


def test_client_preface_encoder() -> None:
    v = BY_NAME["preface-client"]
    assert fr.client_preface(initial_window_size=65536, max_frame_size=0, agent="vector-client/1") == v.data


def test_call_and_request_encoder() -> None:
    from modelgate._core import encode_call_header
    from modelgate._requests import build_chat_request

    hdr = encode_call_header("/modelgate.v1.Gateway/ChatStream", 5.0, {"tenant": "acme"}, "req-1")
    assert fr.frame(fr.CALL, 1, hdr) == BY_NAME["call-chat-stream"].data
    req = build_chat_request("mock", [{"role": "user", "content": "hello"}], temperature=0.0, max_tokens=16)
    both = fr.call_frames(1, hdr, req.SerializeToString())
    _, frames, _ = split_frames(BY_NAME["message-chat-request"])
    assert both.endswith(BY_NAME["message-chat-request"].data)
    assert frames[0][3] == req.SerializeToString()


def test_control_frame_encoders() -> None:
    assert fr.cancel_frame(1) == BY_NAME["cancel"].data
    assert fr.window_frame(1, 65536) == BY_NAME["window"].data
    assert fr.parse_window(BY_NAME["window"].data[10:]) == 65536


def test_split_feeding_every_boundary() -> None:
    """Server-to-client vectors decode identically however the bytes are split."""
    stream = b"".join(v.data for v in VECTORS if v.direction == "server-to-client")
    whole = fr.FrameDecoder().feed(stream)
    for cut in range(1, len(stream)):
        dec = fr.FrameDecoder()
        got = dec.feed(stream[:cut]) + dec.feed(stream[cut:])
        assert got == whole
    dec = fr.FrameDecoder()
    got = []
    for i in range(len(stream)):
        got += dec.feed(stream[i : i + 1])
    assert got == whole


def test_oversized_length_rejected_before_payload() -> None:
    dec = fr.FrameDecoder()
    with pytest.raises(fr.ProtocolError) as info:
        dec.feed(BY_NAME["length-ffffffff"].data)
    assert info.value.goaway_code == wire_pb2.GOAWAY_FRAME_SIZE_ERROR


def core_with_stream(sid: int) -> tuple[ConnectionCore, StreamState]:
    core = ConnectionCore("test", initial_window_size=65536, max_frame_size=fr.DEFAULT_MAX_FRAME_SIZE)
    st = StreamState("/modelgate.v1.Gateway/ChatStream", None)
    while core.next_stream_id < sid:
        core.allocate(StreamState("x", None))
    core.allocate(st)
    return core, st


def test_client_core_applies_server_vectors() -> None:
    core, st = core_with_stream(1)
    woken: list[StreamState] = []
    replies: list[bytes] = []
    for name in ("hello-server", "message-chat-chunk", "message-chat-chunk-final", "end-ok"):
        frames = fr.FrameDecoder().feed(BY_NAME[name].data)
        core.handle_frames(frames, woken, replies)
    assert core.hello_received and core.server_max_streams == 100
    kinds = [e[0] for e in st.events]
    assert kinds == [fr.MESSAGE, fr.MESSAGE, fr.END]
    assert st.ended and 1 not in core.streams
    assert end_status_error(st.events[-1][1], st) is None


def test_end_rate_limited_maps_to_exception() -> None:
    core, st = core_with_stream(3)
    woken: list[StreamState] = []
    core.handle_frames(fr.FrameDecoder().feed(BY_NAME["end-rate-limited"].data), woken, [])
    err = end_status_error(st.events[-1][1], st)
    assert isinstance(err, ResourceExhaustedError)
    assert err.code == 8 and err.message == "upstream rate limited"
    d = err.details
    assert (d.kind, d.retryable, d.retry_after, d.provider, d.upstream_status, d.upstream_code, d.request_id) == (
        "RATE_LIMITED",
        True,
        2.0,
        "openai",
        429,
        "rate_limit_exceeded",
        "req-3",
    )


def test_goaway_drain_and_ping() -> None:
    core, st = core_with_stream(9)
    replies: list[bytes] = []
    core.handle_frames(fr.FrameDecoder().feed(BY_NAME["goaway-drain"].data), [], replies)
    assert core.goaway is not None and core.goaway.last_stream_id == 7
    assert core.closed is None and not core.usable  # drain: no new calls here
    core.handle_frames(fr.FrameDecoder().feed(BY_NAME["ping"].data), [], replies)
    assert replies == [BY_NAME["pong"].data]
    # Connection lost after the drain: stream 9 > last_stream_id 7 was never processed.
    core.fail_all(ResourceExhaustedError("x"), [])
    assert st.unprocessed


def test_window_accounting_returns_credit_at_half() -> None:
    core, st = core_with_stream(1)
    assert core.consumed(st, 30000) is None
    frame = core.consumed(st, 3000)
    assert frame == fr.window_frame(1, 33000)
    assert st.unacked == 0


def test_header_struct_layout() -> None:
    assert fr.pack_header(0x11223344, 3, 1, 0x55667788) == struct.pack(">IBBI", 0x11223344, 3, 1, 0x55667788)
