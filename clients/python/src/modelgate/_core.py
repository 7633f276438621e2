"""Protocol state shared by the sync and asyncio connections (sans I/O).

:class:`ConnectionCore` turns incoming frames into per-stream events and tracks what the
protocol requires of a client: increasing stream ids, the server's settings, GOAWAY, and the
bytes to return as WINDOW credit. The I/O layers (``_sync.py``, ``aio.py``) own the socket,
the locking (sync) and the waking of waiters; they call :meth:`ConnectionCore.handle_frames`
with decoded frames and :meth:`ConnectionCore.fail_all` when the connection ends.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final

from . import _framing as fr
from .errors import (
    ErrorDetails,
    InternalError,
    ModelGateError,
    UnavailableError,
    error_for_status,
)
from .v1 import gateway_pb2 as gw
from .v1 import wire_pb2 as wire

# Event kinds queued on a stream (the first item of each event tuple).
EV_MESSAGE: Final = fr.MESSAGE
EV_END: Final = fr.END
EV_ERROR: Final = -1  # the connection failed; the payload is a ModelGateError

Event = tuple[int, Any]

_CALL_HEADER_CACHE: dict[str, bytes] = {}


def encode_call_header(
    method: str, timeout: float | None, metadata: dict[str, str] | None, request_id: str | None
) -> bytes:
    """The serialized ``CallHeader``; the common no-option case is cached per method."""
    if not timeout and not metadata and not request_id:
        cached = _CALL_HEADER_CACHE.get(method)
        if cached is None:
            cached = _CALL_HEADER_CACHE[method] = wire.CallHeader(method=method).SerializeToString()
        return cached
    hdr = wire.CallHeader(method=method)
    if timeout:
        hdr.timeout_micros = max(1, int(timeout * 1_000_000))
    if metadata:
        hdr.metadata.update(metadata)
    if request_id:
        hdr.request_id = request_id
    return hdr.SerializeToString()


class StreamState:
    """One call's client-side state. Touched only under the connection's lock (sync) or on the
    event loop (asyncio), except ``cancelled``, which any thread may set."""

    __slots__ = (
        "id",
        "method",
        "events",
        "ended",
        "cancelled",
        "unacked",
        "waiter",
        "received_any",
        "deadline",
        "deadline_hit",
        "unprocessed",
        "timer",
        "__weakref__",
    )

    def __init__(self, method: str, deadline: float | None) -> None:
        self.id = 0
        self.method = method
        self.events: deque[Event] = deque()
        self.ended = False  # END (or a connection failure) has been queued
        self.cancelled = False  # the client sent (or queued) CANCEL
        self.unacked = 0  # MESSAGE bytes handed to the application, not yet returned as WINDOW
        self.waiter: Any = None  # I/O layer's wake-up handle
        self.received_any = False
        self.deadline = deadline
        self.deadline_hit = False
        self.unprocessed = False  # the server provably never processed the call (retry-safe)
        self.timer: Any = None  # asyncio deadline timer


class RetryOnNewConnection(Exception):
    """Internal: the call was certainly not processed; send it again on a fresh connection."""


class ConnectionCore:
    """Frame handling for one client connection."""

    def __init__(self, address: str, *, initial_window_size: int, max_frame_size: int) -> None:
        self.address = address
        self.streams: dict[int, StreamState] = {}
        self.next_stream_id = 1
        self.highest_opened = 0
        self.decoder = fr.FrameDecoder(max_frame_size)
        self.window = initial_window_size
        self.window_threshold = max(1, initial_window_size // 2)
        # Server settings; defaults until its HELLO arrives (§4.1).
        self.server_max_frame_size = fr.DEFAULT_MAX_FRAME_SIZE
        self.server_max_streams = fr.DEFAULT_MAX_CONCURRENT_STREAMS
        self.server_agent = ""
        self.hello_received = False
        self.goaway: wire.GoAway | None = None
        self.closed: ModelGateError | None = None  # why the connection is unusable, once it is
        # New calls may be opened here: not closed, no GOAWAY, stream ids left.
        self.usable = True

    # -- state ---------------------------------------------------------------------------

    def has_slot(self) -> bool:
        return len(self.streams) < self.server_max_streams

    def allocate(self, st: StreamState) -> int:
        """Registers a stream under the next id. The caller sends its CALL before any other
        stream's CALL (ids must increase on the wire)."""
        sid = self.next_stream_id
        self.next_stream_id = sid + 1
        if sid >= fr.MAX_STREAM_ID:
            self.usable = False  # ids exhausted: the next call opens a new connection
        self.highest_opened = sid
        st.id = sid
        self.streams[sid] = st
        return sid

    def forget(self, st: StreamState) -> None:
        self.streams.pop(st.id, None)

    # -- incoming ------------------------------------------------------------------------

    def handle_frames(
        self, frames: list[tuple[int, int, int, bytes]], woken: list[StreamState], replies: list[bytes]
    ) -> bool:
        """Applies decoded frames. Streams that got events are appended to ``woken`` (possibly
        more than once); frames to send back (PONG) to ``replies``. Returns True when a stream
        ended (a concurrency slot freed). Raises :class:`ProtocolError` on a connection error.
        """
        freed = False
        streams = self.streams
        for ftype, flags, sid, payload in frames:
            if ftype == fr.MESSAGE:
                st = streams.get(sid)
                if st is None:
                    self._unknown_stream(sid, ftype)
                    continue
                if st.cancelled:
                    continue
                st.received_any = True
                st.events.append((EV_MESSAGE, payload))
                woken.append(st)
            elif ftype == fr.END:
                st = streams.pop(sid, None)
                if st is None:
                    self._unknown_stream(sid, ftype)
                    continue
                st.ended = True
                st.events.append((EV_END, payload))
                woken.append(st)
                freed = True
            elif sid != 0 and ftype == fr.WINDOW:
                fr.parse_window(payload)  # credit for our request direction; one message never waits
                if sid > self.highest_opened:
                    raise fr.ProtocolError(f"WINDOW for stream {sid}, which was never opened")
            elif ftype == fr.PING and sid == 0:
                if len(payload) != 8:
                    raise fr.ProtocolError(f"PING payload of {len(payload)} bytes")
                replies.append(fr.frame(fr.PONG, 0, payload))
            elif ftype == fr.PONG and sid == 0:
                if len(payload) != 8:
                    raise fr.ProtocolError(f"PONG payload of {len(payload)} bytes")
            elif ftype == fr.GOAWAY and sid == 0:
                freed |= self._handle_goaway(payload, woken)
            elif ftype == fr.HELLO and sid == 0:
                self._handle_hello(payload)
            else:
                name = fr.FRAME_NAMES.get(ftype, f"0x{ftype:02X}")
                raise fr.ProtocolError(f"unexpected {name} frame on stream {sid} from the server")
        return freed

    def receive(self, data: bytes, woken: list[StreamState], replies: list[bytes]) -> bool:
        """Decodes ``data`` and applies its frames, like ``handle_frames(decoder.feed(data))``
        but with MESSAGE and END for open streams handled inline (the hot path)."""
        dec = self.decoder
        if dec.buffered:
            return self.handle_frames(dec.feed(data), woken, replies)
        n = len(data)
        pos = 0
        limit = dec.max_frame_size
        streams = self.streams
        freed = False
        unpack = fr.unpack_header_from
        while n - pos >= 10:
            length, ftype, flags, sid = unpack(data, pos)
            if length > limit:
                raise fr.ProtocolError(
                    f"frame of {length} bytes exceeds max_frame_size {limit}", wire.GOAWAY_FRAME_SIZE_ERROR
                )
            end = pos + 10 + length
            if end > n:
                break
            payload = data[pos + 10 : end]
            pos = end
            if ftype == 3:  # MESSAGE
                st = streams.get(sid)
                if st is not None:
                    if not st.cancelled:
                        st.received_any = True
                        st.events.append((EV_MESSAGE, payload))
                        woken.append(st)
                    continue
            elif ftype == 4:  # END
                st = streams.pop(sid, None)
                if st is not None:
                    st.ended = True
                    st.events.append((EV_END, payload))
                    woken.append(st)
                    freed = True
                    continue
            if self.handle_frames([(ftype, flags, sid, payload)], woken, replies):
                freed = True
        if pos < n:
            dec.feed(data[pos:])  # keeps the partial frame
        return freed

    def _unknown_stream(self, sid: int, ftype: int) -> None:
        # Frames for a stream we forgot (ended locally) are dropped; an id we never opened is
        # a server bug.
        if sid == 0 or sid > self.highest_opened:
            raise fr.ProtocolError(f"{fr.FRAME_NAMES[ftype]} for stream {sid}, which was never opened")

    def _handle_hello(self, payload: bytes) -> None:
        try:
            hello = wire.Hello.FromString(payload)
        except Exception as exc:  # noqa: BLE001 - any decode failure is a protocol error
            raise fr.ProtocolError(f"undecodable server HELLO: {exc}") from None
        if hello.version != fr.PROTOCOL_VERSION:
            raise fr.ProtocolError(f"server speaks protocol version {hello.version}, not 1")
        s = hello.settings
        self.server_max_frame_size = s.max_frame_size or fr.DEFAULT_MAX_FRAME_SIZE
        self.server_max_streams = s.max_concurrent_streams or fr.DEFAULT_MAX_CONCURRENT_STREAMS
        self.server_agent = hello.agent
        self.hello_received = True

    def _handle_goaway(self, payload: bytes, woken: list[StreamState]) -> bool:
        try:
            ga = wire.GoAway.FromString(payload)
        except Exception as exc:  # noqa: BLE001
            raise fr.ProtocolError(f"undecodable GOAWAY: {exc}") from None
        self.goaway = ga
        self.usable = False
        if ga.code == wire.GOAWAY_NO_ERROR:
            # Graceful drain: streams up to last_stream_id complete; the server answers later
            # ones with END UNAVAILABLE/SHUTTING_DOWN, which the call layer retries elsewhere.
            return False
        name = wire.GoAwayCode.Name(ga.code) if ga.code in _GOAWAY_CODES else str(ga.code)
        reason = f": {ga.reason}" if ga.reason else ""
        self.fail_all(
            UnavailableError(
                f"gateway {self.address} closed the connection ({name}{reason})",
                ErrorDetails(retryable=True),
            ),
            woken,
        )
        return True

    def fail_all(self, exc: ModelGateError, woken: list[StreamState]) -> None:
        """Marks the connection closed and fails every open stream with ``exc`` (each stream gets
        its own copy so tracebacks don't mix)."""
        if self.closed is None:
            self.closed = exc
        self.usable = False
        streams = list(self.streams.values())
        self.streams.clear()
        last = self.goaway.last_stream_id if self.goaway is not None else None
        for st in streams:
            if last is not None and st.id > last:
                st.unprocessed = True
            st.ended = True
            st.events.append((EV_ERROR, _per_stream_error(exc, st)))
            woken.append(st)

    # -- consumption ---------------------------------------------------------------------

    def consumed(self, st: StreamState, n: int) -> bytes | None:
        """Records that ``n`` MESSAGE bytes reached the application; returns a WINDOW frame to
        send once half the window has been consumed."""
        total = st.unacked + n
        if total >= self.window_threshold and not st.ended and not st.cancelled:
            st.unacked = 0
            return fr.window_frame(st.id, total)
        st.unacked = total
        return None


_GOAWAY_CODES = frozenset(wire.GoAwayCode.values())


def _per_stream_error(exc: ModelGateError, st: StreamState) -> ModelGateError:
    details = exc.details
    if st.received_any and details.retryable:
        details = ErrorDetails(**{**_details_dict(details), "retryable": False})
    return type(exc)(exc.message, details, code=exc.code)


def _details_dict(d: ErrorDetails) -> dict[str, Any]:
    return {f: getattr(d, f) for f in ErrorDetails.__dataclass_fields__}


def connection_lost_error(address: str, cause: BaseException | None = None) -> UnavailableError:
    why = f": {cause}" if cause is not None and str(cause) else ""
    return UnavailableError(
        f"connection to {address} closed before the call ended{why}", ErrorDetails(retryable=True)
    )


def protocol_error(address: str, exc: fr.ProtocolError) -> InternalError:
    return InternalError(f"protocol error on the connection to {address}: {exc}")


def end_status_error(payload: bytes, st: StreamState) -> ModelGateError | None:
    """None for an OK END, else the exception for its status."""
    if not payload:
        return None
    try:
        status = wire.EndStatus.FromString(payload)
    except Exception as exc:  # noqa: BLE001
        return InternalError(f"undecodable END status on stream {st.id}: {exc}")
    if status.code == gw.OK:
        return None
    details = ErrorDetails.from_proto(status.error) if status.HasField("error") else ErrorDetails()
    trailers = dict(status.trailers) if status.trailers else None
    return error_for_status(status.code, status.message, details, trailers)


def retry_safe(core: ConnectionCore, st: StreamState, exc: ModelGateError) -> bool:
    """True when the call provably never ran and nothing reached the caller, so the client
    may send it again on a new connection: it failed with the connection above a GOAWAY's
    ``last_stream_id``, or the draining gateway refused it (UNAVAILABLE/SHUTTING_DOWN)."""
    if st.received_any:
        return False
    if st.unprocessed:
        return True
    ga = core.goaway
    return (
        exc.code == gw.UNAVAILABLE
        and exc.details.kind == "SHUTTING_DOWN"
        and ga is not None
        and st.id > ga.last_stream_id
    )
