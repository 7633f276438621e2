"""The asyncio client.

One :class:`asyncio.Protocol` per connection decodes frames in ``data_received`` and wakes the
task waiting on each stream through a future; there is no extra reader task. Sending is
``transport.write`` (non-blocking), so cancelling a call, returning WINDOW credit or answering a
PING never awaits.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import deque
from collections.abc import AsyncIterator, Generator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from google.protobuf.message import DecodeError
from google.protobuf.message import Message as _PbMessage

from . import _framing as fr
from ._address import Address
from ._core import (
    EV_END,
    EV_ERROR,
    EV_MESSAGE,
    ConnectionCore,
    Event,
    RetryOnNewConnection,
    StreamState,
    connection_lost_error,
    encode_call_header,
    end_status_error,
    protocol_error,
    retry_safe,
)
from ._requests import (
    MessageLike,
    ResponseFormatLike,
    TensorLike,
    ToolChoiceLike,
    ToolLike,
    chat_request_bytes,
)
from ._results import EmbedResult, StreamAccumulator, StreamResults, decode_response, sequence_error
from .client import (
    M_CHAT,
    M_CHAT_STREAM,
    M_EMBED,
    M_HEALTH,
    M_LIST_MODELS,
    M_PREDICT,
    _BaseClient,
    _CallOptions,
    _deadline_error,
)
from .errors import (
    CancelledError,
    DeadlineExceededError,
    ErrorDetails,
    InternalError,
    ModelGateError,
    ResourceExhaustedError,
    UnavailableError,
)
from .v1 import gateway_pb2 as gw
from .v1 import wire_pb2 as wire

_chunk_from_bytes = gw.ChatChunk.FromString

__all__ = ["AsyncClient", "AsyncChatStream"]

M = TypeVar("M", bound=_PbMessage)


class _AsyncConnection(asyncio.Protocol, ConnectionCore):
    def __init__(self, address: Address, loop: asyncio.AbstractEventLoop, *, initial_window_size: int, max_frame_size: int) -> None:
        ConnectionCore.__init__(
            self, str(address), initial_window_size=initial_window_size, max_frame_size=max_frame_size
        )
        self.loop = loop
        self.loop_thread = threading.get_ident()
        self.transport: asyncio.Transport | None = None
        self.hello: asyncio.Future[None] = loop.create_future()
        self.slot_waiters: list[asyncio.Future[None]] = []
        self._paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._max_frame_size = max_frame_size

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(fr.client_preface(initial_window_size=self.window, max_frame_size=self._max_frame_size))

    def data_received(self, data: bytes) -> None:
        woken: list[StreamState] = []
        replies: list[bytes] = []
        try:
            freed = self.receive(data, woken, replies)
        except fr.ProtocolError as exc:
            self.fail_all(protocol_error(self.address, exc), woken)
            freed = True
        if replies and self.transport is not None:
            self.transport.write(b"".join(replies))
        self._wake(woken, freed)
        if self.closed is None and self.goaway is not None and not self.streams:
            self.fail_all(connection_lost_error(self.address), woken)  # drained
        if self.closed is not None:
            self._settle_hello()
            if self.transport is not None:
                self.transport.close()
        elif self.hello_received and not self.hello.done():
            self.hello.set_result(None)

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        woken: list[StreamState] = []
        self.fail_all(connection_lost_error(self.address, exc), woken)
        self._wake(woken, True)
        self._settle_hello()
        for fut in self._drain_waiters:
            if not fut.done():
                fut.set_result(None)
        self._drain_waiters.clear()

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        for fut in self._drain_waiters:
            if not fut.done():
                fut.set_result(None)
        self._drain_waiters.clear()

    # -- helpers -------------------------------------------------------------------------

    def _settle_hello(self) -> None:
        if not self.hello.done():
            self.hello.set_result(None)  # the waiter inspects self.closed

    def _wake(self, woken: list[StreamState], slot_freed: bool) -> None:
        for st in woken:
            fut = st.waiter
            if fut is not None and not fut.done():
                fut.set_result(None)
        if slot_freed and self.slot_waiters:
            waiters, self.slot_waiters = self.slot_waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def handshake(self, timeout: float | None) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(self.hello), timeout)
        except asyncio.TimeoutError:
            raise UnavailableError(
                f"gateway at {self.address} did not answer the protocol preface in time",
                ErrorDetails(retryable=True),
            ) from None
        if self.closed is not None or not self.hello_received:
            if self.goaway is not None:
                name = wire.GoAwayCode.Name(self.goaway.code)
                raise UnavailableError(
                    f"gateway at {self.address} refused the connection ({name}: {self.goaway.reason})",
                    ErrorDetails(retryable=self.goaway.code == wire.GOAWAY_CONNECTION_LIMIT),
                )
            raise self.closed or connection_lost_error(self.address)

    def try_open(self, st: StreamState, call_header: bytes, request: bytes) -> bool:
        """Opens the stream without waiting when a slot is free and the transport accepts
        writes; False when the caller must use :meth:`open_stream`."""
        transport = self.transport
        if (
            self._paused
            or len(self.streams) >= self.server_max_streams
            or not self.usable
            or transport is None
            or transport.is_closing()
        ):
            return False
        limit = self.server_max_frame_size
        if len(request) > limit or len(call_header) > limit:
            return False
        sid = self.allocate(st)
        transport.write(fr.call_frames(sid, call_header, request))
        if st.deadline is not None:
            st.timer = self.loop.call_at(st.deadline, self._deadline_hit, st)
        return True

    async def finish(self, st: StreamState) -> list[Event] | None:
        """Waits until the stream has ended; returns all its events (a unary call's MESSAGE
        and END together), or None when its deadline passed first."""
        while not st.ended:
            if st.deadline_hit:
                return None
            fut: asyncio.Future[None] = self.loop.create_future()
            st.waiter = fut
            try:
                await fut
            finally:
                st.waiter = None
        _stop_timer(st)
        events = list(st.events)
        st.events.clear()
        return events

    async def open_stream(self, st: StreamState, call_header: bytes, request: bytes) -> None:
        limit = self.server_max_frame_size
        if len(request) > limit or len(call_header) > limit:
            raise ResourceExhaustedError(
                f"request of {len(request)} bytes exceeds the gateway's max_frame_size {limit}",
                ErrorDetails(kind="GATEWAY_LIMIT"),
            )
        while not self.has_slot() and self.usable:
            fut: asyncio.Future[None] = self.loop.create_future()
            self.slot_waiters.append(fut)
            timeout = None if st.deadline is None else st.deadline - self.loop.time()
            if timeout is not None and timeout <= 0:
                raise DeadlineExceededError("deadline exceeded while waiting for a free stream slot")
            try:
                await asyncio.wait_for(fut, timeout)
            except asyncio.TimeoutError:
                raise DeadlineExceededError("deadline exceeded while waiting for a free stream slot") from None
        if not self.usable or self.transport is None or self.transport.is_closing():
            raise RetryOnNewConnection()
        sid = self.allocate(st)
        self.transport.write(fr.call_frames(sid, call_header, request))
        if st.deadline is not None:
            st.timer = self.loop.call_at(st.deadline, self._deadline_hit, st)
        if self._paused:
            fut = self.loop.create_future()
            self._drain_waiters.append(fut)
            await fut

    def _deadline_hit(self, st: StreamState) -> None:
        st.deadline_hit = True
        fut = st.waiter
        if fut is not None and not fut.done():
            fut.set_result(None)

    def cancel(self, st: StreamState) -> None:
        """Sends CANCEL (idempotent); callable from any thread and from finalizers."""
        if st.cancelled:
            return
        st.cancelled = True
        _stop_timer(st)
        if st.ended or not st.id:
            return
        if threading.get_ident() == self.loop_thread:
            self.write(fr.cancel_frame(st.id))
        else:
            try:
                self.loop.call_soon_threadsafe(self.write, fr.cancel_frame(st.id))
            except RuntimeError:
                pass  # loop closed

    async def next_events(self, st: StreamState) -> list[Event] | None:
        """Waits for the stream's queued events and takes them all; None when its deadline
        passed first. Credit is returned with :meth:`consumed_bytes`."""
        events = st.events
        while not events:
            if st.deadline_hit:
                return None
            if st.ended:
                return [(EV_ERROR, self.closed or connection_lost_error(self.address))]
            fut: asyncio.Future[None] = self.loop.create_future()
            st.waiter = fut
            try:
                await fut
            finally:
                st.waiter = None
        batch = list(events)
        events.clear()
        if st.ended:
            _stop_timer(st)
        return batch

    def consumed_bytes(self, st: StreamState, n: int) -> None:
        """``n`` MESSAGE bytes of ``st`` reached the application: return credit when due."""
        window = self.consumed(st, n)
        if window is not None:
            self.write(window)

    def close(self) -> None:
        woken: list[StreamState] = []
        self.fail_all(CancelledError("the client was closed"), woken)
        self._wake(woken, True)
        if self.transport is not None:
            self.transport.close()


def _stop_timer(st: StreamState) -> None:
    timer = st.timer
    if timer is not None:
        st.timer = None
        timer.cancel()


async def _connect(
    address: Address, *, timeout: float | None, initial_window_size: int, max_frame_size: int
) -> _AsyncConnection:
    loop = asyncio.get_running_loop()

    def factory() -> _AsyncConnection:
        return _AsyncConnection(address, loop, initial_window_size=initial_window_size, max_frame_size=max_frame_size)

    try:
        if address.unix_path is not None:
            coro = loop.create_unix_connection(factory, address.unix_path)
        else:
            assert address.host is not None
            coro = loop.create_connection(factory, address.host, address.port)
        transport, conn = await asyncio.wait_for(coro, timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        why = "timed out" if isinstance(exc, asyncio.TimeoutError) else (exc.strerror or str(exc))
        raise UnavailableError(
            f"cannot connect to the gateway at {address}: {why}", ErrorDetails(retryable=True)
        ) from exc
    if address.unix_path is None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        await conn.handshake(timeout)
    except BaseException:
        transport.close()
        raise
    return conn


class AsyncClient(_BaseClient):
    """The asyncio ModelGate client; same API as :class:`~modelgate.Client` with ``await``.

    One connection (opened lazily) multiplexes every concurrent call of every task. The client
    belongs to the event loop it first connects on. Cancelling the task that awaits a call
    sends CANCEL for it; ``asyncio.CancelledError`` propagates unchanged.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
        connect_timeout: float = 10.0,
        window_size: int = fr.DEFAULT_INITIAL_WINDOW_SIZE,
        max_frame_size: int = fr.DEFAULT_MAX_FRAME_SIZE,
    ) -> None:
        super().__init__(
            address,
            timeout=timeout,
            metadata=metadata,
            connect_timeout=connect_timeout,
            window_size=window_size,
            max_frame_size=max_frame_size,
        )
        self._conn: _AsyncConnection | None = None
        self._connect_lock: asyncio.Lock | None = None
        self._closed = False

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the connection; calls still in flight fail with ``CancelledError``."""
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    async def connect(self) -> None:
        """Connects now instead of on the first call."""
        await self._connection(None)

    async def _connection(self, deadline: float | None) -> _AsyncConnection:
        conn = self._conn
        if conn is not None and conn.usable:
            return conn
        if self._closed:
            raise UnavailableError(f"the client for {self._address} is closed")
        loop = asyncio.get_running_loop()
        if conn is not None and conn.loop is not loop:
            raise RuntimeError("this AsyncClient is bound to another event loop")
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:
            conn = self._conn
            if conn is not None and conn.usable:
                return conn
            timeout = self._connect_timeout
            if deadline is not None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise DeadlineExceededError("deadline exceeded before connecting")
                timeout = min(timeout, remaining)
            conn = await _connect(
                self._address,
                timeout=timeout,
                initial_window_size=self._window_size,
                max_frame_size=self._max_frame_size,
            )
            old, self._conn = self._conn, conn
        if old is not None and old.closed is not None:
            old.close()
        return conn

    async def _open(
        self, method: str, request: bytes, opts: _CallOptions, deadline: float | None
    ) -> tuple[_AsyncConnection, StreamState]:
        header = encode_call_header(method, opts.timeout, opts.metadata, opts.request_id)
        conn = self._conn
        if conn is not None and conn.usable:
            st = StreamState(method, deadline)
            if conn.try_open(st, header, request):
                return conn, st
        for _ in range(3):
            conn = await self._connection(deadline)
            st = StreamState(method, deadline)
            try:
                await conn.open_stream(st, header, request)
            except RetryOnNewConnection:
                continue
            return conn, st
        raise UnavailableError(f"no usable connection to {self._address}")

    async def _unary(self, method: str, request: bytes, response_type: type[M], opts: _CallOptions) -> M:
        timeout = opts.timeout
        deadline = asyncio.get_running_loop().time() + timeout if timeout else None
        attempts = 2
        while True:
            attempts -= 1
            conn, st = await self._open(method, request, opts, deadline)
            try:
                events = await conn.finish(st)
            except BaseException:
                conn.cancel(st)
                raise
            if events is None:
                conn.cancel(st)
                raise _deadline_error(timeout)
            payload: bytes | None = None
            err: ModelGateError | None = None
            for kind, value in events:
                if kind == EV_MESSAGE:
                    if payload is not None:
                        err = InternalError(f"{method} answered with more than one message")
                        break
                    payload = value
                elif kind == EV_END:
                    err = end_status_error(value, st)
                else:
                    err = value
            if err is not None:
                if attempts > 0 and retry_safe(conn, st, err):
                    if deadline is not None:
                        remaining = deadline - asyncio.get_running_loop().time()
                        opts = _CallOptions(max(1e-6, remaining), opts.metadata, opts.request_id)
                    continue
                if (
                    err.code == gw.CANCELLED
                    and deadline is not None
                    and asyncio.get_running_loop().time() >= deadline
                ):
                    raise _deadline_error(timeout) from err
                raise err
            if payload is None:
                raise InternalError(f"{method} ended OK without a response message")
            return decode_response(response_type, payload, st)

    async def call(
        self,
        method: str,
        request: _PbMessage,
        response_type: type[M],
        *,
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> M:
        """Calls a unary method by its path, e.g. ``"/modelgate.v1.Gateway/Health"``."""
        return await self._unary(
            method, request.SerializeToString(), response_type, self._options(timeout, metadata, request_id)
        )

    async def chat(
        self,
        model: str | None = None,
        messages: Iterable[MessageLike] | None = None,
        *,
        request: gw.ChatRequest | None = None,
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
        request_id: str | None = None,
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
    ) -> gw.ChatResponse:
        """One chat completion, returned whole. See :meth:`modelgate.Client.chat`."""
        body = chat_request_bytes(
            model, messages, request, tools, tool_choice, response_format, temperature, top_p, max_tokens, seed, presence_penalty, frequency_penalty, top_k, parallel_tool_calls, stop, user, tenant, priority, labels, cache, fallback_models, prefer_provider
        )  # fmt: skip
        return await self._unary(M_CHAT, body, gw.ChatResponse, self._options(timeout, metadata, request_id))

    def chat_stream(
        self,
        model: str | None = None,
        messages: Iterable[MessageLike] | None = None,
        *,
        request: gw.ChatRequest | None = None,
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
        request_id: str | None = None,
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
    ) -> AsyncChatStream:
        """A streamed chat completion: ``async for chunk in client.chat_stream(...)``.

        The call starts on the first iteration (or ``async with`` / ``await``). Leaving the loop
        early, :meth:`AsyncChatStream.close`, garbage collection or cancelling the task sends
        CANCEL.
        """
        body = chat_request_bytes(
            model, messages, request, tools, tool_choice, response_format, temperature, top_p, max_tokens, seed, presence_penalty, frequency_penalty, top_k, parallel_tool_calls, stop, user, tenant, priority, labels, cache, fallback_models, prefer_provider
        )  # fmt: skip
        return AsyncChatStream(self, body, self._options(timeout, metadata, request_id))

    async def embed(
        self,
        model: str,
        inputs: str | Sequence[str],
        *,
        dimensions: int | None = None,
        input_type: str | None = None,
        user: str | None = None,
        tenant: str | None = None,
        labels: Mapping[str, str] | None = None,
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> EmbedResult:
        """Embeddings for one text or a batch; ``result.vectors[i]`` is a ``list[float]``."""
        body = self._embed_request(model, inputs, dimensions, input_type, user, tenant, labels)
        resp = await self._unary(M_EMBED, body, gw.EmbedResponse, self._options(timeout, metadata, request_id))
        return EmbedResult.from_proto(resp)

    async def predict(
        self,
        model: str,
        inputs: Sequence[TensorLike],
        *,
        outputs: Sequence[str] | None = None,
        parameters: Mapping[str, Any] | None = None,
        version: str | None = None,
        id: str | None = None,
        tenant: str | None = None,
        timeout: float | None = None,
        metadata: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> gw.PredictResponse:
        """Inference on a predictive model; see :meth:`modelgate.Client.predict`."""
        body = self._predict_request(model, inputs, outputs, parameters, version, id, tenant)
        return await self._unary(M_PREDICT, body, gw.PredictResponse, self._options(timeout, metadata, request_id))

    async def list_models(
        self, *, timeout: float | None = None, metadata: Mapping[str, str] | None = None
    ) -> list[gw.ModelInfo]:
        """The models the gateway serves."""
        resp = await self._unary(M_LIST_MODELS, b"", gw.ListModelsResponse, self._options(timeout, metadata, None))
        return list(resp.models)

    async def health(
        self, service: str = "", *, timeout: float | None = None, metadata: Mapping[str, str] | None = None
    ) -> gw.HealthResponse:
        """The gateway's serving status, version and uptime."""
        body = gw.HealthRequest(service=service).SerializeToString() if service else b""
        return await self._unary(M_HEALTH, body, gw.HealthResponse, self._options(timeout, metadata, None))


class AsyncChatStream(StreamResults):
    """A streamed chat completion for asyncio: ``async for chunk in stream``.

    Same accessors as :class:`~modelgate.ChatStream` (``text``, ``usage``, ``response``,
    ``finish_reason``, ``collect()``).
    """

    def __init__(self, client: AsyncClient, request: bytes, opts: _CallOptions) -> None:
        self._client = client
        self._request = request
        self._opts = opts
        self._timeout = opts.timeout
        self._deadline: float | None = None
        self._acc = StreamAccumulator()
        self._buf: deque[Event] = deque()  # events taken from the connection, not yet returned
        self._started = False
        self._done = False
        self._cancelled = False
        self._error: ModelGateError | None = None
        self._retries = 1
        self._conn: _AsyncConnection | None = None
        self._st: StreamState | None = None

    async def start(self) -> AsyncChatStream:
        """Sends the CALL now (iteration does it implicitly)."""
        if not self._started:
            self._started = True
            if self._opts.timeout:
                self._deadline = asyncio.get_running_loop().time() + self._opts.timeout
            self._conn, self._st = await self._client._open(M_CHAT_STREAM, self._request, self._opts, self._deadline)
        return self

    def __await__(self) -> Generator[Any, None, AsyncChatStream]:
        return self.start().__await__()

    def __aiter__(self) -> AsyncIterator[gw.ChatChunk]:
        return _AsyncChunkIterator(self)

    async def __anext__(self) -> gw.ChatChunk:
        buf = self._buf
        if buf and not self._done:  # fast path: a chunk already taken from the connection
            kind, payload = buf[0]
            if kind == EV_MESSAGE:
                buf.popleft()
                return self._chunk(payload)
        if self._done:
            if self._cancelled:
                raise CancelledError("the stream was cancelled by the client")
            raise StopAsyncIteration
        try:
            if not self._started:
                await self.start()
            while True:
                conn, st = self._conn, self._st
                assert conn is not None and st is not None
                if not buf:
                    events = await conn.next_events(st)
                    if events is None:
                        self._fail(_deadline_error(self._timeout), cancel=True)
                    buf.extend(events)  # type: ignore[arg-type]
                kind, payload = buf.popleft()
                if kind == EV_MESSAGE:
                    return self._chunk(payload)
                err = end_status_error(payload, st) if kind == EV_END else payload
                _stop_timer(st)
                if err is None:
                    self._done = True
                    raise StopAsyncIteration
                if self._retries > 0 and retry_safe(conn, st, err):
                    self._retries -= 1
                    opts = self._opts
                    if self._deadline is not None:
                        remaining = self._deadline - asyncio.get_running_loop().time()
                        opts = _CallOptions(max(1e-6, remaining), opts.metadata, opts.request_id)
                    buf.clear()
                    self._conn, self._st = await self._client._open(M_CHAT_STREAM, self._request, opts, self._deadline)
                    continue
                if (
                    err.code == gw.CANCELLED
                    and self._deadline is not None
                    and asyncio.get_running_loop().time() >= self._deadline
                ):
                    err = _deadline_error(self._timeout)
                self._fail(err, cancel=False)
        except (StopAsyncIteration, ModelGateError):
            raise
        except BaseException:
            # Task cancellation (asyncio.CancelledError) and the like: abandon the call.
            self.close_nowait()
            raise

    def _chunk(self, payload: bytes) -> gw.ChatChunk:
        """Decodes one chunk, checks its sequence and returns its bytes' credit (hot path)."""
        st = self._st
        conn = self._conn
        assert st is not None and conn is not None
        try:
            chunk = _chunk_from_bytes(payload)
        except (DecodeError, ValueError):
            chunk = decode_response(gw.ChatChunk, payload, st)  # raises InternalError
        acc = self._acc
        if chunk.sequence != acc.next_sequence:
            self._fail(sequence_error(chunk, acc.next_sequence, st), cancel=True)
        acc.next_sequence += 1
        acc.chunks.append(chunk)
        if chunk.final:
            acc.final = chunk
        unacked = st.unacked + len(payload)
        if unacked >= conn.window_threshold:
            conn.consumed_bytes(st, len(payload))
        else:
            st.unacked = unacked
        return chunk

    def _fail(self, err: ModelGateError, *, cancel: bool) -> None:
        self._done = True
        self._error = err
        if cancel and self._conn is not None and self._st is not None:
            self._conn.cancel(self._st)
        raise err

    def close_nowait(self) -> None:
        """Cancels the call if it is still running (sends CANCEL without awaiting)."""
        if not self._done:
            self._done = True
            self._cancelled = True
            if self._conn is not None and self._st is not None:
                self._conn.cancel(self._st)

    async def close(self) -> None:
        """Cancels the call if it is still running; idempotent."""
        self.close_nowait()

    cancel = close_nowait

    async def __aenter__(self) -> AsyncChatStream:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close_nowait()

    def __del__(self) -> None:
        if not getattr(self, "_done", True):
            self.close_nowait()

    async def collect(self) -> gw.ChatResponse:
        """Reads the rest of the stream and returns the assembled response."""
        async for _ in self:
            pass
        if self._error is not None:
            raise self._error
        if self._cancelled:
            raise CancelledError("the stream was cancelled by the client")
        return self._acc.response()


class _AsyncChunkIterator:
    """The iterator ``async for`` uses; dropping it while the stream still runs (leaving the
    loop early) cancels the call."""

    __slots__ = ("_stream",)

    def __init__(self, stream: AsyncChatStream) -> None:
        self._stream = stream

    def __aiter__(self) -> _AsyncChunkIterator:
        return self

    async def __anext__(self) -> gw.ChatChunk:
        return await self._stream.__anext__()

    def __del__(self) -> None:
        stream = self._stream
        if stream._started and not stream._done:
            stream.close_nowait()
