#!/usr/bin/env python3
"""Writes the protocol test vectors of docs/protocol.md §8.

The bytes come from the specification alone: frame headers are packed with `struct`
and payloads are encoded by Google's protobuf runtime from code that protoc generates
into a temporary directory. No ModelGate implementation is involved, so the vectors
can judge every implementation.

Run: python3 docs/protocol-vectors/generate.py   (needs protoc and `pip install protobuf`)
"""
import importlib
import os
import struct
import subprocess
import sys
import tempfile

from google.protobuf import json_format

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

MAGIC = bytes([0x89, 0x4D, 0x47, 0x57, 0x0D, 0x0A, 0x1A, 0x0A])
HELLO, CALL, MESSAGE, END, CANCEL, WINDOW, PING, PONG, GOAWAY = range(1, 10)
NAMES = {1: "HELLO", 2: "CALL", 3: "MESSAGE", 4: "END", 5: "CANCEL", 6: "WINDOW", 7: "PING", 8: "PONG", 9: "GOAWAY"}
END_STREAM, COMPRESSED = 0x01, 0x02


def load_messages():
    out = tempfile.mkdtemp()
    subprocess.run(
        ["protoc", "-I", os.path.join(ROOT, "proto"), "--python_out", out,
         "modelgate/v1/gateway.proto", "modelgate/v1/wire.proto"],
        check=True)
    sys.path.insert(0, out)
    gateway = importlib.import_module("modelgate.v1.gateway_pb2")
    wire = importlib.import_module("modelgate.v1.wire_pb2")
    return gateway, wire


def frame(ftype, stream, payload=b"", flags=0, length=None):
    if length is None:
        length = len(payload)
    return struct.pack(">IBBI", length, ftype, flags, stream) + payload


def describe(frames):
    parts = []
    for ftype, stream, flags in frames:
        label = NAMES.get(ftype, "0x%02X" % ftype)
        flag_names = []
        if ftype == MESSAGE and flags & END_STREAM:
            flag_names.append("END_STREAM")
        if ftype == MESSAGE and flags & COMPRESSED:
            flag_names.append("COMPRESSED")
        parts.append("%s(%s)" % (label, ",".join([str(stream)] + flag_names)))
    return " ".join(parts)


def write(name, description, data, direction="client-to-server", frames=None, message=None,
          expect=None, preface=False):
    lines = ["# %s" % description, "# direction: %s" % direction]
    if frames is not None:
        lines.append("# frames: %s" % describe(frames))
    if message is not None:
        lines.append("# message: %s" % message.DESCRIPTOR.full_name)
        lines.append("# json: %s" % json_format.MessageToJson(
            message, indent=None, preserving_proto_field_name=False, sort_keys=True))
    if expect is not None:
        lines.append("# expect: %s" % expect)
    lines.append("# preface: %s" % ("yes" if preface else "no"))
    hexed = data.hex()
    for i in range(0, len(hexed), 64):
        lines.append(" ".join(hexed[j:j + 2] for j in range(i, min(i + 64, len(hexed)), 2)))
    with open(os.path.join(HERE, name + ".hex"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    gw, wire = load_messages()
    for old in os.listdir(HERE):
        if old.endswith(".hex"):
            os.remove(os.path.join(HERE, old))

    client_hello = wire.Hello(version=1, agent="vector-client/1",
                              settings=wire.Settings(initial_window_size=65536))
    preface = MAGIC + frame(HELLO, 0, client_hello.SerializeToString())

    # --- well-formed frames -------------------------------------------------
    write("preface-client", "Client preface: magic then HELLO (version 1, 64 KiB initial window).",
          preface, frames=[(HELLO, 0, 0)], message=client_hello, preface=True)

    server_hello = wire.Hello(version=1, agent="modelgate/0.1.0", settings=wire.Settings(
        max_frame_size=4194304, max_concurrent_streams=100, initial_window_size=262144))
    write("hello-server", "Server HELLO announcing its limits.",
          frame(HELLO, 0, server_hello.SerializeToString()), direction="server-to-client",
          frames=[(HELLO, 0, 0)], message=server_hello)

    call = wire.CallHeader(method="/modelgate.v1.Gateway/ChatStream", timeout_micros=5_000_000,
                           metadata={"tenant": "acme"}, request_id="req-1")
    write("call-chat-stream", "CALL opening stream 1 for ChatStream with a 5 s deadline.",
          frame(CALL, 1, call.SerializeToString()), frames=[(CALL, 1, 0)], message=call)

    request = gw.ChatRequest(model="mock", max_tokens=16, temperature=0.0, messages=[
        gw.Message(role=gw.ROLE_USER, parts=[gw.ContentPart(text="hello")])])
    write("message-chat-request",
          "Request MESSAGE with END_STREAM; temperature is explicitly 0 (present), max_tokens 16.",
          frame(MESSAGE, 1, request.SerializeToString(), flags=END_STREAM),
          frames=[(MESSAGE, 1, END_STREAM)], message=request)

    first = gw.ChatChunk(sequence=0, text="Hello", id="chatcmpl-1", model="mock-1", provider="mock")
    write("message-chat-chunk", "First ChatChunk of stream 1: text plus id, model and provider.",
          frame(MESSAGE, 1, first.SerializeToString()), direction="server-to-client",
          frames=[(MESSAGE, 1, 0)], message=first)

    final = gw.ChatChunk(sequence=2, final=True, finish_reason=gw.FINISH_REASON_STOP,
                         provider_finish_reason="stop",
                         usage=gw.Usage(input_tokens=14, output_tokens=30, total_tokens=44,
                                        source=gw.USAGE_SOURCE_PROVIDER, cost_usd=0.0,
                                        delivered_chunks=2))
    write("message-chat-chunk-final", "Final ChatChunk with finish reason and usage (cost present, 0).",
          frame(MESSAGE, 1, final.SerializeToString()), direction="server-to-client",
          frames=[(MESSAGE, 1, 0)], message=final)

    write("end-ok", "END with status OK: an empty EndStatus, so a zero-length payload.",
          frame(END, 1), direction="server-to-client", frames=[(END, 1, 0)],
          message=wire.EndStatus())

    end_error = wire.EndStatus(code=gw.RESOURCE_EXHAUSTED, message="upstream rate limited",
                               error=gw.ErrorDetail(kind=gw.ERROR_KIND_RATE_LIMITED, retryable=True,
                                                    retry_after_ms=2000, provider="openai",
                                                    upstream_status=429,
                                                    upstream_code="rate_limit_exceeded",
                                                    request_id="req-3"))
    write("end-rate-limited", "END on stream 3: RESOURCE_EXHAUSTED with a typed, retryable error.",
          frame(END, 3, end_error.SerializeToString()), direction="server-to-client",
          frames=[(END, 3, 0)], message=end_error)

    write("cancel", "CANCEL stream 1 (empty payload).", frame(CANCEL, 1), frames=[(CANCEL, 1, 0)])
    write("window", "WINDOW granting stream 1 another 65536 bytes.",
          frame(WINDOW, 1, struct.pack(">I", 65536)), frames=[(WINDOW, 1, 0)])
    write("ping", "PING with 8 opaque bytes.", frame(PING, 0, bytes(range(1, 9))), frames=[(PING, 0, 0)])
    write("pong", "PONG echoing the PING's bytes.", frame(PONG, 0, bytes(range(1, 9))),
          direction="server-to-client", frames=[(PONG, 0, 0)])

    drain = wire.GoAway(last_stream_id=7, code=wire.GOAWAY_NO_ERROR, reason="server shutting down")
    write("goaway-drain", "GOAWAY starting a graceful drain; streams up to 7 complete.",
          frame(GOAWAY, 0, drain.SerializeToString()), direction="server-to-client",
          frames=[(GOAWAY, 0, 0)], message=drain)

    # --- malformed input: what the server must answer -------------------------
    def chat_call(stream, method="/modelgate.v1.Gateway/Chat"):
        return frame(CALL, stream, wire.CallHeader(method=method).SerializeToString())

    def chat_message(stream, req, flags=END_STREAM):
        return frame(MESSAGE, stream, req.SerializeToString(), flags=flags)

    mock_request = gw.ChatRequest(model="mock", messages=[
        gw.Message(role=gw.ROLE_USER, parts=[gw.ContentPart(text="hi")])])

    write("bad-magic", "An HTTP request instead of the magic.",
          b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", expect="goaway GOAWAY_BAD_MAGIC", preface=True)
    write("unsupported-version", "Magic then a HELLO asking for version 99.",
          MAGIC + frame(HELLO, 0, wire.Hello(version=99).SerializeToString()),
          frames=[(HELLO, 0, 0)], expect="goaway GOAWAY_UNSUPPORTED_VERSION", preface=True)
    write("first-frame-not-hello", "Magic then a CALL instead of HELLO.",
          MAGIC + chat_call(1), frames=[(CALL, 1, 0)], expect="goaway GOAWAY_PROTOCOL_ERROR",
          preface=True)
    write("oversized-hello", "Magic then a HELLO header claiming 16 KiB + 1 bytes.",
          MAGIC + frame(HELLO, 0, b"", length=16385), expect="goaway GOAWAY_FRAME_SIZE_ERROR",
          preface=True)
    write("length-ffffffff", "A MESSAGE header whose length is 0xFFFFFFFF; no payload follows.",
          frame(MESSAGE, 1, b"", length=0xFFFFFFFF), expect="goaway GOAWAY_FRAME_SIZE_ERROR")
    write("unknown-frame-type", "A frame of type 0x42.", frame(0x42, 0, b"\x00\x01"),
          frames=[(0x42, 0, 0)], expect="goaway GOAWAY_PROTOCOL_ERROR")
    write("truncated-frame", "A header announcing 100 bytes, then 40 bytes, then EOF.",
          frame(MESSAGE, 1, b"\x00" * 40, length=100), expect="close")
    write("stream-id-zero", "CALL on stream 0.", chat_call(0), frames=[(CALL, 0, 0)],
          expect="goaway GOAWAY_PROTOCOL_ERROR")
    write("stream-id-not-increasing", "CALL 5 then CALL 3.",
          chat_call(5) + chat_message(5, mock_request) + chat_call(3),
          frames=[(CALL, 5, 0), (MESSAGE, 5, END_STREAM), (CALL, 3, 0)],
          expect="goaway GOAWAY_PROTOCOL_ERROR")
    write("message-without-call", "MESSAGE on stream 9, which was never opened.",
          chat_message(9, mock_request), frames=[(MESSAGE, 9, END_STREAM)],
          expect="goaway GOAWAY_PROTOCOL_ERROR")
    write("bad-ping-length", "PING with a 3-byte payload.", frame(PING, 0, b"\x01\x02\x03"),
          frames=[(PING, 0, 0)], expect="goaway GOAWAY_PROTOCOL_ERROR")
    write("window-zero", "WINDOW with a zero increment on an open stream.",
          chat_call(1) + frame(WINDOW, 1, struct.pack(">I", 0)),
          frames=[(CALL, 1, 0), (WINDOW, 1, 0)], expect="goaway GOAWAY_PROTOCOL_ERROR")
    write("invalid-protobuf", "CALL Chat then a MESSAGE whose payload is not a ChatRequest.",
          chat_call(1) + frame(MESSAGE, 1, b"\xff" * 11, flags=END_STREAM),
          frames=[(CALL, 1, 0), (MESSAGE, 1, END_STREAM)], expect="end INVALID_ARGUMENT")
    bad_utf8 = bytearray(mock_request.SerializeToString())
    idx = bad_utf8.index(b"hi")
    bad_utf8[idx:idx + 2] = b"\xc3\x28"
    write("invalid-utf8", "A ChatRequest whose message text is not valid UTF-8.",
          chat_call(1) + frame(MESSAGE, 1, bytes(bad_utf8), flags=END_STREAM),
          frames=[(CALL, 1, 0), (MESSAGE, 1, END_STREAM)], expect="end INVALID_ARGUMENT")
    write("unknown-method", "CALL for a method the service does not have.",
          chat_call(1, "/modelgate.v1.Gateway/Nope") + chat_message(1, mock_request),
          frames=[(CALL, 1, 0), (MESSAGE, 1, END_STREAM)], expect="end UNIMPLEMENTED")
    unknown_model = gw.ChatRequest(model="no-such-model", messages=mock_request.messages)
    write("unknown-model", "Chat for a model the gateway does not serve.",
          chat_call(1) + chat_message(1, unknown_model),
          frames=[(CALL, 1, 0), (MESSAGE, 1, END_STREAM)], message=unknown_model,
          expect="end NOT_FOUND")
    write("compressed-message", "A request MESSAGE with the reserved COMPRESSED flag.",
          chat_call(1) + chat_message(1, mock_request, flags=END_STREAM | COMPRESSED),
          frames=[(CALL, 1, 0), (MESSAGE, 1, END_STREAM | COMPRESSED)], expect="end UNIMPLEMENTED")
    write("request-without-end-stream", "A request MESSAGE without END_STREAM.",
          chat_call(1) + chat_message(1, mock_request, flags=0),
          frames=[(CALL, 1, 0), (MESSAGE, 1, 0)], expect="end INVALID_ARGUMENT")
    print("wrote %d vectors to %s" % (len([f for f in os.listdir(HERE) if f.endswith(".hex")]), HERE))


if __name__ == "__main__":
    main()
