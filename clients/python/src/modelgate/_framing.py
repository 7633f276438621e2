"""Frame layer of the native protocol (docs/protocol.md §2): constants, encoders, and an
incremental decoder. Pure functions and data; no I/O.

A frame is a 10-byte header ``length:u32 type:u8 flags:u8 stream:u32`` (big-endian) followed by
``length`` payload bytes.
"""

from __future__ import annotations

import struct
from typing import Final

from ._version import AGENT
from .v1 import wire_pb2 as _wire

MAGIC: Final = b"\x89MGW\r\n\x1a\n"
HEADER_SIZE: Final = 10
PROTOCOL_VERSION: Final = 1

HELLO: Final = 0x01
CALL: Final = 0x02
MESSAGE: Final = 0x03
END: Final = 0x04
CANCEL: Final = 0x05
WINDOW: Final = 0x06
PING: Final = 0x07
PONG: Final = 0x08
GOAWAY: Final = 0x09

FRAME_NAMES: Final = {
    HELLO: "HELLO",
    CALL: "CALL",
    MESSAGE: "MESSAGE",
    END: "END",
    CANCEL: "CANCEL",
    WINDOW: "WINDOW",
    PING: "PING",
    PONG: "PONG",
    GOAWAY: "GOAWAY",
}

# MESSAGE flags.
END_STREAM: Final = 0x01
COMPRESSED: Final = 0x02

# Settings defaults (§4.1).
DEFAULT_MAX_FRAME_SIZE: Final = 4 * 1024 * 1024
DEFAULT_MAX_CONCURRENT_STREAMS: Final = 100
DEFAULT_INITIAL_WINDOW_SIZE: Final = 256 * 1024
MAX_CLIENT_HELLO: Final = 16 * 1024
MAX_WINDOW: Final = 2**31 - 1
MAX_STREAM_ID: Final = 2**31 - 1

_HEADER = struct.Struct(">IBBI")
_U32 = struct.Struct(">I")
pack_header = _HEADER.pack
pack_header_into = _HEADER.pack_into
unpack_header_from = _HEADER.unpack_from


class ProtocolError(Exception):
    """The peer broke a framing rule. ``goaway_code`` names the GOAWAY code it corresponds to."""

    def __init__(self, message: str, goaway_code: int = _wire.GOAWAY_PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.goaway_code = goaway_code


def frame(ftype: int, stream_id: int, payload: bytes = b"", flags: int = 0) -> bytes:
    """One encoded frame."""
    return _HEADER.pack(len(payload), ftype, flags, stream_id) + payload


def client_preface(
    *,
    initial_window_size: int = DEFAULT_INITIAL_WINDOW_SIZE,
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    agent: str = AGENT,
) -> bytes:
    """The magic followed by the client's HELLO frame."""
    hello = _wire.Hello(
        version=PROTOCOL_VERSION,
        agent=agent,
        settings=_wire.Settings(max_frame_size=max_frame_size, initial_window_size=initial_window_size),
    ).SerializeToString()
    if len(hello) > MAX_CLIENT_HELLO:
        raise ValueError("client HELLO exceeds 16 KiB")
    return MAGIC + frame(HELLO, 0, hello)


def call_frames(stream_id: int, call_header: bytes, request: bytes) -> bytes:
    """CALL followed by the single request MESSAGE (END_STREAM), as one buffer."""
    n_call = len(call_header)
    return b"".join(
        (
            _HEADER.pack(n_call, CALL, 0, stream_id),
            call_header,
            _HEADER.pack(len(request), MESSAGE, END_STREAM, stream_id),
            request,
        )
    )


def cancel_frame(stream_id: int) -> bytes:
    return _HEADER.pack(0, CANCEL, 0, stream_id)


def window_frame(stream_id: int, increment: int) -> bytes:
    return _HEADER.pack(4, WINDOW, 0, stream_id) + _U32.pack(increment)


def parse_window(payload: bytes) -> int:
    if len(payload) != 4:
        raise ProtocolError(f"WINDOW payload of {len(payload)} bytes")
    inc: int = _U32.unpack(payload)[0]
    if inc == 0 or inc > MAX_WINDOW:
        raise ProtocolError(f"WINDOW increment {inc}")
    return inc


class FrameDecoder:
    """Incremental frame decoder.

    Feed it bytes with :meth:`feed`; it returns the complete frames as
    ``(type, flags, stream_id, payload)`` tuples and keeps any partial frame for the next call.
    The announced length is checked against ``max_frame_size`` before any payload is buffered.
    """

    __slots__ = ("max_frame_size", "_pending", "_need")

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self.max_frame_size = max_frame_size
        self._pending: bytearray | None = None
        self._need = 0  # total bytes of the partial frame in _pending, when its header is known

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame waiting for more input."""
        return len(self._pending) if self._pending is not None else 0

    @property
    def wanted(self) -> int:
        """How many more bytes complete the pending frame (0 when unknown or nothing pending)."""
        if self._pending is None or not self._need:
            return 0
        return self._need - len(self._pending)

    def feed(self, data: bytes) -> list[tuple[int, int, int, bytes]]:
        out: list[tuple[int, int, int, bytes]] = []
        pending = self._pending
        if pending is not None:
            pending += data
            if self._need and len(pending) < self._need:
                return out
            buf: bytes = bytes(pending)
            self._pending = None
            self._need = 0
        else:
            buf = data
        n = len(buf)
        pos = 0
        limit = self.max_frame_size
        unpack = _HEADER.unpack_from
        while n - pos >= HEADER_SIZE:
            length, ftype, flags, sid = unpack(buf, pos)
            if length > limit:
                raise ProtocolError(
                    f"frame of {length} bytes exceeds max_frame_size {limit}", _wire.GOAWAY_FRAME_SIZE_ERROR
                )
            end = pos + HEADER_SIZE + length
            if end > n:
                self._need = HEADER_SIZE + length
                break
            out.append((ftype, flags, sid, buf[pos + HEADER_SIZE : end]))
            pos = end
        if pos < n:
            self._pending = bytearray(buf[pos:]) if pos else bytearray(buf)
        return out
