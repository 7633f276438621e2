"""The synchronous client."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

from google.protobuf.message import DecodeError
from google.protobuf.message import Message as _PbMessage

from . import _framing as fr
from ._address import Address, parse_address
from ._core import (
    EV_END,
    EV_ERROR,
    EV_MESSAGE,
    Event,
    RetryOnNewConnection,
    StreamState,
    encode_call_header,
    end_status_error,
    retry_safe,
)
from ._requests import (
    MessageLike,
    ResponseFormatLike,
    TensorLike,
    ToolChoiceLike,
    ToolLike,
    chat_request_bytes,
    to_tensor,
)
from ._results import EmbedResult, StreamAccumulator, StreamResults, decode_response, sequence_error
from ._sync import SyncConnection, connect
from .errors import (
    CancelledError,
    DeadlineExceededError,
    InternalError,
    ModelGateError,
    UnavailableError,
)
from .v1 import gateway_pb2 as gw

_chunk_from_bytes = gw.ChatChunk.FromString

__all__ = ["Client", "ChatStream"]

M = TypeVar("M", bound=_PbMessage)

SERVICE = "/modelgate.v1.Gateway/"
M_CHAT = SERVICE + "Chat"
M_CHAT_STREAM = SERVICE + "ChatStream"
M_EMBED = SERVICE + "Embed"
M_PREDICT = SERVICE + "Predict"
M_LIST_MODELS = SERVICE + "ListModels"
M_HEALTH = SERVICE + "Health"

_monotonic = time.monotonic


def _deadline_error(timeout: float | None) -> DeadlineExceededError:
    return DeadlineExceededError(f"deadline of {timeout:g}s exceeded" if timeout else "deadline exceeded")


class _CallOptions:
    """Per-call options resolved against the client defaults."""

    __slots__ = ("timeout", "metadata", "request_id")

    def __init__(self, timeout: float | None, metadata: dict[str, str] | None, request_id: str | None) -> None:
        self.timeout = timeout
        self.metadata = metadata
        self.request_id = request_id


class _BaseClient:
    """Argument handling shared by :class:`Client` and :class:`AsyncClient`."""

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
        if not 0 < window_size <= fr.MAX_WINDOW:
            raise ValueError("window_size must be in 1 .. 2**31-1")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive (None means no deadline)")
        self._address: Address = parse_address(address)
        self._timeout = timeout
        self._metadata = dict(metadata) if metadata else None
        self._connect_timeout = connect_timeout
        self._default_options = _CallOptions(timeout, self._metadata, None)
        self._window_size = window_size
        self._max_frame_size = max_frame_size

    @property
    def address(self) -> str:
        """The gateway address this client talks to."""
        return self._address.text

    def _options(
        self, timeout: float | None, metadata: Mapping[str, str] | None, request_id: str | None
    ) -> _CallOptions:
        if timeout is None and metadata is None and request_id is None:
            return self._default_options  # immutable in practice: never modified after creation
        if timeout is None:
            timeout = self._timeout
        elif timeout <= 0:
            raise ValueError("timeout must be positive (None means no deadline)")
        md: dict[str, str] | None
        if self._metadata:
            md = dict(self._metadata)
            if metadata:
                md.update(metadata)
        else:
            md = dict(metadata) if metadata else None
        return _CallOptions(timeout, md, request_id)

    @staticmethod
    def _embed_request(
        model: str,
        inputs: str | Sequence[str],
        dimensions: int | None,
        input_type: str | None,
        user: str | None,
        tenant: str | None,
        labels: Mapping[str, str] | None,
    ) -> bytes:
        req = gw.EmbedRequest(model=model, inputs=[inputs] if isinstance(inputs, str) else inputs)
        if dimensions is not None:
            req.dimensions = dimensions
        if input_type:
            req.input_type = input_type
        if user:
            req.user = user
        if tenant:
            req.tenant = tenant
        if labels:
            req.metadata.update(labels)
        return req.SerializeToString()

    @staticmethod
    def _predict_request(
        model: str,
        inputs: Sequence[TensorLike],
        outputs: Sequence[str] | None,
        parameters: Mapping[str, Any] | None,
        version: str | None,
        id: str | None,
        tenant: str | None,
    ) -> bytes:
        req = gw.PredictRequest(model=model, inputs=[to_tensor(t) for t in inputs])
        if outputs:
            req.outputs.extend(outputs)
        if parameters:
            req.parameters.update({k: v if isinstance(v, str) else str(v) for k, v in parameters.items()})
        if version:
            req.version = version
        if id:
            req.id = id
        if tenant:
            req.tenant = tenant
        return req.SerializeToString()


class Client(_BaseClient):
    """A blocking ModelGate client.

    One client holds one connection (opened lazily on the first call) over which any number of
    calls run concurrently; share it between threads freely. After the gateway restarts, the
    next call transparently uses a new connection; calls that were in flight when a connection
    died fail with :class:`~modelgate.UnavailableError` and are never resent silently (unless
    the gateway provably did not process them, e.g. they were refused by a draining gateway).

    Args:
        address: ``unix:///abs/path``, ``unix:relative``, ``unix:/abs`` or ``tcp://host:port``;
            default ``$MODELGATE_ADDRESS``, else ``unix:///tmp/modelgate.sock``.
        timeout: default per-call deadline in seconds (``None``: no deadline).
        metadata: call metadata sent with every call (per-call ``metadata=`` adds to it).
        connect_timeout: bound on connecting plus the protocol handshake.
        window_size: per-stream flow-control window for responses, in bytes.
        max_frame_size: largest frame the client accepts from the gateway.

    Use it as a context manager, or call :meth:`close`.
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
        self._conn: SyncConnection | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection; calls still in flight fail with ``CancelledError``."""
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __del__(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None and conn.idle():
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - best effort at interpreter teardown
                pass

    def connect(self) -> None:
        """Connects now instead of on the first call (raises ``UnavailableError`` if nothing
        listens)."""
        self._connection(None)

    def _connection(self, deadline: float | None) -> SyncConnection:
        conn = self._conn
        if conn is not None and conn.usable:
            return conn
        with self._lock:
            if self._closed:
                raise UnavailableError(f"the client for {self._address} is closed")
            conn = self._conn
            if conn is not None and conn.usable:
                return conn
            old = conn
            timeout = self._connect_timeout
            if deadline is not None:
                remaining = deadline - _monotonic()
                if remaining <= 0:
                    raise DeadlineExceededError("deadline exceeded before connecting")
                timeout = min(timeout, remaining)
            self._conn = None
            conn = connect(
                self._address,
                timeout=timeout,
                initial_window_size=self._window_size,
                max_frame_size=self._max_frame_size,
            )
            self._conn = conn
        if old is not None and old.closed is not None:
            old.close()
        return conn

    # -- generic calls -------------------------------------------------------------------

    def _open(self, method: str, request: bytes, opts: _CallOptions, deadline: float | None) -> tuple[SyncConnection, StreamState]:
        header = encode_call_header(method, opts.timeout, opts.metadata, opts.request_id)
        for _ in range(3):
            conn = self._connection(deadline)
            st = StreamState(method, deadline)
            try:
                conn.open_stream(st, header, request)
            except RetryOnNewConnection:
                continue
            return conn, st
        raise UnavailableError(f"no usable connection to {self._address}")

    def _unary(self, method: str, request: bytes, response_type: type[M], opts: _CallOptions) -> M:
        timeout = opts.timeout
        deadline = _monotonic() + timeout if timeout else None
        attempts = 2
        while True:
            attempts -= 1
            conn = self._conn
            st = StreamState(method, deadline)
            if conn is not None and conn.usable and attempts:
                header = encode_call_header(method, opts.timeout, opts.metadata, opts.request_id)
                try:
                    conn.open_stream(st, header, request)
                except RetryOnNewConnection:
                    conn, st = self._open(method, request, opts, deadline)
            else:
                conn, st = self._open(method, request, opts, deadline)
            try:
                events = conn.finish(st)
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
                        opts = _CallOptions(max(1e-6, deadline - _monotonic()), opts.metadata, opts.request_id)
                    continue
                if err.code == gw.CANCELLED and deadline is not None and _monotonic() >= deadline:
                    raise _deadline_error(timeout) from err
                raise err
            if payload is None:
                raise InternalError(f"{method} ended OK without a response message")
            return decode_response(response_type, payload, st)

    def call(
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
        return self._unary(
            method, request.SerializeToString(), response_type, self._options(timeout, metadata, request_id)
        )

    # -- API -----------------------------------------------------------------------------

    def chat(
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
        """One chat completion, returned whole.

        ``messages`` are dicts (``{"role": "user", "content": "hi"}``) or ``Message`` objects.
        Sampling parameters left at ``None`` are unset (provider default); ``temperature=0.0``
        is sent as present. ``metadata`` is the call's metadata (e.g. ``{"mock-tokens": "4"}``);
        ``labels`` are the request's usage labels. ``timeout`` (seconds) is sent as the call
        deadline and enforced locally (``DeadlineExceededError``).
        """
        body = chat_request_bytes(
            model, messages, request, tools, tool_choice, response_format, temperature, top_p, max_tokens, seed, presence_penalty, frequency_penalty, top_k, parallel_tool_calls, stop, user, tenant, priority, labels, cache, fallback_models, prefer_provider
        )  # fmt: skip
        return self._unary(M_CHAT, body, gw.ChatResponse, self._options(timeout, metadata, request_id))

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
    ) -> ChatStream:
        """Starts a streamed chat completion (the CALL is sent before this returns) and returns
        a :class:`ChatStream` that yields ``ChatChunk``s as they arrive. Same arguments as
        :meth:`chat`; ``timeout`` bounds the whole stream.

        Leaving the ``for`` loop early, :meth:`ChatStream.close`, leaving its ``with`` block or
        garbage-collecting it cancels the call on the gateway (and upstream).
        """
        body = chat_request_bytes(
            model, messages, request, tools, tool_choice, response_format, temperature, top_p, max_tokens, seed, presence_penalty, frequency_penalty, top_k, parallel_tool_calls, stop, user, tenant, priority, labels, cache, fallback_models, prefer_provider
        )  # fmt: skip
        return ChatStream(self, body, self._options(timeout, metadata, request_id))

    def embed(
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
        resp = self._unary(M_EMBED, body, gw.EmbedResponse, self._options(timeout, metadata, request_id))
        return EmbedResult.from_proto(resp)

    def predict(
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
        """Inference on a predictive model. Tensors are ``Tensor`` messages or dicts like
        ``{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [[1, 2, 3]]}``."""
        body = self._predict_request(model, inputs, outputs, parameters, version, id, tenant)
        return self._unary(M_PREDICT, body, gw.PredictResponse, self._options(timeout, metadata, request_id))

    def list_models(
        self, *, timeout: float | None = None, metadata: Mapping[str, str] | None = None
    ) -> list[gw.ModelInfo]:
        """The models the gateway serves."""
        resp = self._unary(M_LIST_MODELS, b"", gw.ListModelsResponse, self._options(timeout, metadata, None))
        return list(resp.models)

    def health(
        self, service: str = "", *, timeout: float | None = None, metadata: Mapping[str, str] | None = None
    ) -> gw.HealthResponse:
        """The gateway's serving status, version and uptime."""
        body = gw.HealthRequest(service=service).SerializeToString() if service else b""
        return self._unary(M_HEALTH, body, gw.HealthResponse, self._options(timeout, metadata, None))


class ChatStream(StreamResults):
    """A streamed chat completion: iterate it for ``ChatChunk``s.

    After the stream is complete, :attr:`response` is the assembled ``ChatResponse`` and
    :attr:`usage` its usage. :meth:`collect` reads whatever is left and returns the response.
    """

    def __init__(self, client: Client, request: bytes, opts: _CallOptions) -> None:
        self._client = client
        self._request = request
        self._opts = opts
        self._timeout = opts.timeout
        self._deadline = _monotonic() + opts.timeout if opts.timeout else None
        self._acc = StreamAccumulator()
        self._done = True  # until the CALL is out (a failed open leaves nothing to cancel)
        self._buf: deque[Event] = deque()  # events taken from the connection, not yet returned
        self._cancelled = False
        self._error: ModelGateError | None = None
        self._retries = 1
        self._conn, self._st = client._open(M_CHAT_STREAM, request, opts, self._deadline)
        self._done = False

    # -- iteration -----------------------------------------------------------------------

    def __iter__(self) -> Iterator[gw.ChatChunk]:
        return self._iterate()

    def _iterate(self) -> Iterator[gw.ChatChunk]:
        """The ``for`` loop's iterator: chunks already taken from the connection are decoded
        inline (the hot path); leaving the loop early closes it, which cancels the call."""
        buf = self._buf
        acc = self._acc
        chunks = acc.chunks
        try:
            while True:
                st = self._st
                threshold = self._conn.window_threshold
                while buf and not self._done:
                    kind, payload = buf[0]
                    if kind != EV_MESSAGE:
                        break
                    buf.popleft()
                    try:
                        chunk = _chunk_from_bytes(payload)
                    except (DecodeError, ValueError):
                        chunk = decode_response(gw.ChatChunk, payload, st)  # raises InternalError
                    if chunk.sequence != acc.next_sequence:
                        self._fail(sequence_error(chunk, acc.next_sequence, st), cancel=True)
                    acc.next_sequence += 1
                    chunks.append(chunk)
                    if chunk.final:
                        acc.final = chunk
                    unacked = st.unacked + len(payload)
                    if unacked >= threshold:
                        self._conn.consumed_bytes(st, len(payload))
                    else:
                        st.unacked = unacked
                    yield chunk
                try:
                    chunk = self.__next__()
                except StopIteration:
                    return
                yield chunk
        finally:
            if not self._done:  # left the loop early (break, exception, garbage collection)
                self.close()

    def __next__(self) -> gw.ChatChunk:
        buf = self._buf
        if buf:  # fast path: a chunk already taken from the connection
            kind, payload = buf.popleft()
            if kind == EV_MESSAGE and not self._done:
                return self._chunk(payload)
            buf.appendleft((kind, payload))
        if self._done:
            if self._cancelled:
                raise CancelledError("the stream was cancelled by the client")
            raise StopIteration
        try:
            while True:
                if not buf:
                    events = self._conn.next_events(self._st)
                    if events is None:
                        self._fail(_deadline_error(self._timeout), cancel=True)
                    buf.extend(events)  # type: ignore[arg-type]
                kind, payload = buf.popleft()
                if kind == EV_MESSAGE:
                    return self._chunk(payload)
                err = end_status_error(payload, self._st) if kind == EV_END else payload
                if err is None:
                    self._done = True
                    raise StopIteration
                if self._retries > 0 and retry_safe(self._conn, self._st, err):
                    self._retries -= 1
                    opts = self._opts
                    if self._deadline is not None:
                        opts = _CallOptions(max(1e-6, self._deadline - _monotonic()), opts.metadata, opts.request_id)
                    buf.clear()
                    self._conn, self._st = self._client._open(M_CHAT_STREAM, self._request, opts, self._deadline)
                    continue
                if err.code == gw.CANCELLED and self._deadline is not None and _monotonic() >= self._deadline:
                    err = _deadline_error(self._timeout)
                self._fail(err, cancel=False)
        except (StopIteration, ModelGateError):
            raise
        except BaseException:
            # KeyboardInterrupt and the like: the call is abandoned.
            self.close()
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
        if cancel:
            self._conn.cancel(self._st)
        raise err

    # -- control -------------------------------------------------------------------------

    def close(self) -> None:
        """Cancels the call if it is still running (sends CANCEL); idempotent."""
        if not self._done:
            self._done = True
            self._cancelled = True
            self._conn.cancel(self._st)

    cancel = close

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_done", True):
            self._done = True
            self._conn.cancel(self._st)

    def collect(self) -> gw.ChatResponse:
        """Reads the rest of the stream and returns the assembled response."""
        for _ in self:
            pass
        if self._error is not None:
            raise self._error
        if self._cancelled:
            raise CancelledError("the stream was cancelled by the client")
        return self._acc.response()
