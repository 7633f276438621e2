"""The malformed-input vectors sent raw over a socket to the real gateway get their ``# expect:``
answer (docs/protocol.md §8)."""

from __future__ import annotations

import signal
import socket
import struct

import pytest

from modelgate import _framing as fr
from modelgate.v1 import gateway_pb2 as gw
from modelgate.v1 import wire_pb2 as wire

from .conftest import Gateway
from .vectors import Vector, all_vectors

EXPECTING = [v for v in all_vectors() if v.expect and v.direction == "client-to-server"]


class RawConn:
    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(path)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def preface(self) -> wire.Hello:
        self.send(fr.client_preface(agent="raw-test/1"))
        ftype, _, sid, payload = self.read_frame()
        assert (ftype, sid) == (fr.HELLO, 0), f"expected the server HELLO, got type {ftype}"
        return wire.Hello.FromString(payload)

    def read_frame(self) -> tuple[int, int, int, bytes]:
        """The next frame; raises EOFError when the server closes the connection."""
        while len(self.buf) < 10:
            self._fill()
        length, ftype, flags, sid = struct.unpack(">IBBI", self.buf[:10])
        while len(self.buf) < 10 + length:
            self._fill()
        payload = self.buf[10 : 10 + length]
        self.buf = self.buf[10 + length :]
        return ftype, flags, sid, payload

    def _fill(self) -> None:
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            raise EOFError
        self.buf += data

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("v", EXPECTING, ids=lambda v: v.name)
def test_malformed_vector(gateway: Gateway, v: Vector) -> None:
    conn = RawConn(gateway.socket_path)
    try:
        if not v.preface:
            hello = conn.preface()
            assert hello.version == 1
        conn.send(v.data)
        expect = v.expect
        assert expect is not None
        kind, _, want = expect.partition(" ")
        if kind == "close":
            conn.sock.shutdown(socket.SHUT_WR)  # the truncated frame is followed by EOF
            with pytest.raises(EOFError):
                while True:
                    ftype, _, _, _ = conn.read_frame()
                    assert ftype in (fr.GOAWAY, fr.PING), f"unexpected frame type {ftype} before close"
        elif kind == "goaway":
            while True:
                ftype, _, sid, payload = conn.read_frame()
                if ftype == fr.GOAWAY:
                    break
                assert ftype in (fr.HELLO, fr.PING), f"unexpected frame type {ftype} before GOAWAY"
            ga = wire.GoAway.FromString(payload)
            assert wire.GoAwayCode.Name(ga.code) == want, f"got {wire.GoAwayCode.Name(ga.code)}: {ga.reason}"
            with pytest.raises(EOFError):  # and the server closes the connection
                while True:
                    conn.read_frame()
        elif kind == "end":
            frames = v.frames
            assert frames is not None
            stream_id = frames[0].stream_id
            while True:
                ftype, _, sid, payload = conn.read_frame()
                assert ftype != fr.GOAWAY, f"connection error instead of END: {wire.GoAway.FromString(payload)}"
                if ftype == fr.END and sid == stream_id:
                    break
            status = wire.EndStatus.FromString(payload)
            assert gw.StatusCode.Name(status.code) == want, f"got {gw.StatusCode.Name(status.code)}: {status.message}"
            assert status.HasField("error"), "every non-OK END carries an ErrorDetail"
            # The connection stays usable after a stream error.
            conn.send(fr.frame(fr.PING, 0, b"12345678"))
            while True:
                ftype, _, _, payload = conn.read_frame()
                if ftype == fr.PONG:
                    assert payload == b"12345678"
                    break
        else:
            pytest.fail(f"unknown expect {expect!r}")
    finally:
        conn.close()


def test_well_formed_call_roundtrip_raw(gateway: Gateway) -> None:
    """The well-formed request vectors, sent raw, produce a normal answer."""
    vecs = {v.name: v for v in all_vectors()}
    conn = RawConn(gateway.socket_path)
    try:
        conn.preface()
        call = wire.CallHeader(method="/modelgate.v1.Gateway/ChatStream")
        conn.send(fr.frame(fr.CALL, 1, call.SerializeToString()) + vecs["message-chat-request"].data)
        seqs = []
        while True:
            ftype, _, sid, payload = conn.read_frame()
            assert sid == 1
            if ftype == fr.MESSAGE:
                seqs.append(gw.ChatChunk.FromString(payload).sequence)
            elif ftype == fr.END:
                assert wire.EndStatus.FromString(payload).code == gw.OK
                break
        assert seqs == list(range(len(seqs))) and len(seqs) >= 2
        conn.send(vecs["ping"].data)
        assert conn.read_frame() == (fr.PONG, 0, 0, bytes(range(1, 9)))
    finally:
        conn.close()


def chat_stream_call(sid: int, metadata: dict[str, str]) -> bytes:
    call = wire.CallHeader(method="/modelgate.v1.Gateway/ChatStream", metadata=metadata)
    req = gw.ChatRequest(model="mock", messages=[gw.Message(role=gw.ROLE_USER, parts=[gw.ContentPart(text="hi")])])
    return fr.frame(fr.CALL, sid, call.SerializeToString()) + fr.frame(
        fr.MESSAGE, sid, req.SerializeToString(), fr.END_STREAM
    )


LONG = {"mock-tokens": "100000", "mock-interval-ms": "10"}


def read_until_end(conn: RawConn, sid: int) -> tuple[list[gw.ChatChunk], wire.EndStatus]:
    chunks = []
    while True:
        ftype, _, fsid, payload = conn.read_frame()
        if fsid != sid:
            continue
        if ftype == fr.MESSAGE:
            chunks.append(gw.ChatChunk.FromString(payload))
        elif ftype == fr.END:
            return chunks, wire.EndStatus.FromString(payload)


def test_cancel_answers_final_chunk_then_end_cancelled(gateway: Gateway) -> None:
    """§3 rule 5, which the client relies on to free the stream's slot."""
    conn = RawConn(gateway.socket_path)
    try:
        conn.preface()
        conn.send(chat_stream_call(1, LONG))
        first = [conn.read_frame() for _ in range(2)]
        assert all(f[0] == fr.MESSAGE for f in first)
        conn.send(fr.cancel_frame(1))
        chunks, status = read_until_end(conn, 1)
        assert status.code == gw.CANCELLED and status.error.kind == gw.ERROR_KIND_CANCELLED
        assert chunks and chunks[-1].final, "a cancelled ChatStream ends with its final chunk"
        assert chunks[-1].finish_reason == gw.FINISH_REASON_CANCELLED
        seqs = [gw.ChatChunk.FromString(f[3]).sequence for f in first] + [c.sequence for c in chunks]
        assert seqs == list(range(len(seqs)))
    finally:
        conn.close()


def test_calls_beyond_the_stream_limit_get_resource_exhausted(gateway: Gateway) -> None:
    conn = RawConn(gateway.socket_path)
    try:
        hello = conn.preface()
        limit = hello.settings.max_concurrent_streams or 100
        conn.send(b"".join(chat_stream_call(i, LONG) for i in range(1, limit + 2)))
        while True:
            ftype, _, sid, payload = conn.read_frame()
            if ftype == fr.END:
                break
        status = wire.EndStatus.FromString(payload)
        assert sid == limit + 1
        assert status.code == gw.RESOURCE_EXHAUSTED and status.error.kind == gw.ERROR_KIND_GATEWAY_LIMIT
        assert status.error.retryable
    finally:
        conn.close()


def test_calls_after_goaway_are_refused_shutting_down(own_gateway: Gateway) -> None:
    """A CALL above a graceful GOAWAY's last_stream_id gets END UNAVAILABLE/SHUTTING_DOWN (the
    case the client resends on a new connection)."""
    conn = RawConn(own_gateway.socket_path)
    try:
        conn.preface()
        conn.send(chat_stream_call(1, {"mock-tokens": "50", "mock-interval-ms": "20"}))
        assert conn.read_frame()[0] == fr.MESSAGE
        assert own_gateway.proc is not None
        own_gateway.proc.send_signal(signal.SIGTERM)
        while True:
            ftype, _, sid, payload = conn.read_frame()
            if ftype == fr.GOAWAY:
                break
        ga = wire.GoAway.FromString(payload)
        assert ga.code == wire.GOAWAY_NO_ERROR and ga.last_stream_id == 1
        conn.send(chat_stream_call(2, {}))
        chunks2, status2 = read_until_end(conn, 2)
        assert not chunks2
        assert status2.code == gw.UNAVAILABLE and status2.error.kind == gw.ERROR_KIND_SHUTTING_DOWN
        assert status2.error.retryable
        chunks1, status1 = read_until_end(conn, 1)  # stream 1 still completes
        assert status1.code == gw.OK and chunks1[-1].final
        with pytest.raises(EOFError):
            conn.read_frame()
    finally:
        conn.close()
