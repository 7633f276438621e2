"""The synchronous client against the real gateway binary."""

from __future__ import annotations

import gc
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

import modelgate
from modelgate import errors
from modelgate._core import StreamState
from modelgate.v1 import gateway_pb2 as gw
from modelgate.v1 import wire_pb2 as wire

from .conftest import FakeUpstream, Gateway, mock_text
from .vectors import all_vectors

HI = [{"role": "user", "content": "hi"}]
UNKNOWN_FRAME = next(v.data for v in all_vectors() if v.name == "unknown-frame-type")


@pytest.fixture
def client(gateway: Gateway) -> Iterator[modelgate.Client]:
    with modelgate.Client(gateway.unix_address) as c:
        yield c


def rid(tag: str) -> str:
    return f"py-{tag}-{uuid.uuid4().hex[:12]}"


# -- basics ------------------------------------------------------------------------------


def test_health_and_list_models(client: modelgate.Client) -> None:
    h = client.health()
    assert h.status == gw.SERVING_STATUS_SERVING
    names = {m.name for m in client.list_models()}
    assert "mock" in names


def test_unary_chat_mock(client: modelgate.Client) -> None:
    resp = client.chat(model="mock", messages=[{"role": "user", "content": "hello there big world"}])
    assert isinstance(resp, gw.ChatResponse)
    assert resp.text == mock_text(16)
    assert resp.finish_reason == gw.FINISH_REASON_STOP
    assert resp.usage.source == gw.USAGE_SOURCE_GATEWAY
    assert resp.usage.output_tokens == 16
    assert resp.usage.input_tokens == 4
    assert resp.provider


def test_chat_accepts_messages_params_and_overrides(client: modelgate.Client) -> None:
    msgs: list[modelgate.MessageLike] = [
        gw.Message(role=gw.ROLE_SYSTEM, parts=[gw.ContentPart(text="be brief")]),
        # (Word counts don't depend on whether part boundaries separate words.)
        {"role": "user", "content": [{"type": "text", "text": "one two "}, "three"]},
    ]
    resp = client.chat(
        model="mock",
        messages=msgs,
        temperature=0.0,
        max_tokens=50,
        top_p=1.0,
        seed=7,
        stop=["zzz"],
        metadata={"mock-tokens": "3"},
        request_id=rid("params"),
        timeout=30,
    )
    assert resp.text == mock_text(3)
    assert resp.usage.input_tokens == 5
    assert resp.usage.output_tokens == 3


def test_chat_with_prebuilt_request(client: modelgate.Client) -> None:
    req = modelgate.build_chat_request("mock", HI, temperature=0.0)
    assert req.HasField("temperature")
    assert client.chat(request=req, metadata={"mock-tokens": "2"}).text == mock_text(2)


def test_tcp_address(gateway: Gateway) -> None:
    with modelgate.Client(gateway.tcp_address) as c:
        assert c.chat(model="mock", messages=HI, metadata={"mock-tokens": "4"}).text == mock_text(4)


def test_env_address(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELGATE_ADDRESS", gateway.unix_address)
    with modelgate.Client() as c:
        assert c.address == gateway.unix_address
        assert c.health().status == gw.SERVING_STATUS_SERVING


# -- streaming ---------------------------------------------------------------------------


def check_stream(chunks: list[gw.ChatChunk], n_tokens: int) -> None:
    assert [c.sequence for c in chunks] == list(range(len(chunks)))
    assert "".join(c.text for c in chunks) == mock_text(n_tokens)
    finals = [c for c in chunks if c.final]
    assert len(finals) == 1 and chunks[-1].final
    final = chunks[-1]
    assert final.finish_reason == gw.FINISH_REASON_STOP
    assert final.usage.output_tokens == n_tokens
    assert final.usage.source == gw.USAGE_SOURCE_GATEWAY
    assert final.usage.delivered_chunks == len(chunks) - 1
    assert chunks[0].model and chunks[0].provider


def test_stream_mock(client: modelgate.Client) -> None:
    stream = client.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "20"})
    chunks = list(stream)
    check_stream(chunks, 20)
    assert stream.done
    assert stream.text == mock_text(20)
    assert stream.usage is not None and stream.usage.output_tokens == 20
    assert stream.finish_reason == gw.FINISH_REASON_STOP
    resp = stream.response
    assert resp is not None and resp.text == mock_text(20) and resp.usage.output_tokens == 20


def test_stream_default_tokens_and_collect(client: modelgate.Client) -> None:
    with client.chat_stream(model="mock", messages=HI) as stream:
        first = next(stream)
        assert first.sequence == 0
        resp = stream.collect()
    assert resp.text == mock_text(16)
    assert resp.finish_reason == gw.FINISH_REASON_STOP


def test_100_concurrent_streams_on_one_connection(client: modelgate.Client) -> None:
    client.connect()
    conn = client._conn
    barrier = threading.Barrier(100)
    results: list[list[gw.ChatChunk]] = [[] for _ in range(100)]
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(30)
            stream = client.chat_stream(
                model="mock", messages=HI, metadata={"mock-tokens": "12", "mock-interval-ms": "5"}
            )
            results[i] = list(stream)
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures[:3]
    for chunks in results:
        check_stream(chunks, 12)
    assert client._conn is conn  # all on the one connection
    assert conn is not None and conn.next_stream_id > 100


def test_more_streams_than_the_gateway_allows_wait_for_a_slot(client: modelgate.Client) -> None:
    """150 concurrent streams with the gateway's default limit of 100: the client queues the
    excess until slots free up instead of failing them with RESOURCE_EXHAUSTED."""
    client.connect()
    assert client._conn is not None and client._conn.server_max_streams == 100
    failures: list[BaseException] = []
    done: list[int] = []

    def run() -> None:
        try:
            chunks = list(
                client.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "10", "mock-interval-ms": "10"})
            )
            check_stream(chunks, 10)
            done.append(1)
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(150)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures[:3]
    assert len(done) == 150


def test_many_threads_unary(client: modelgate.Client) -> None:
    out: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        for _ in range(20):
            text = client.chat(model="mock", messages=HI, metadata={"mock-tokens": "5"}).text
            with lock:
                out.append(text)

    threads = [threading.Thread(target=run) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert out == [mock_text(5)] * 320


def test_slow_consumer_does_not_stall_other_streams(gateway: Gateway) -> None:
    window = 1024
    with modelgate.Client(gateway.unix_address, window_size=window) as client:
        slow = client.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "3000"})
        first = next(slow)
        assert first.sequence == 0
        # Another stream and unary calls on the same connection complete while `slow` is unread.
        for _ in range(3):
            other = list(client.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "200"}))
            check_stream(other, 200)
            assert client.chat(model="mock", messages=HI, metadata={"mock-tokens": "2"}).text == mock_text(2)
        assert slow._conn is client._conn
        # What the client buffered for the unread stream is bounded by its window
        # (plus one message, since credit may go negative by one message).
        held = [*slow._st.events, *slow._buf]  # queued on the connection + taken by the stream
        buffered = sum(len(ev[1]) for ev in held if ev[0] == modelgate._framing.MESSAGE)
        assert 0 < buffered <= window + 256
        # Consuming it returns credit; the whole stream arrives intact.
        rest = list(slow)
        check_stream([first, *rest], 3000)


# -- deadlines ---------------------------------------------------------------------------


def test_deadline_unary(client: modelgate.Client) -> None:
    start = time.monotonic()
    with pytest.raises(modelgate.DeadlineExceededError) as info:
        client.chat(model="mock", messages=HI, metadata={"mock-first-token-ms": "60000"}, timeout=0.3)
    assert time.monotonic() - start < 30  # did not wait for the reply
    assert info.value.code == gw.DEADLINE_EXCEEDED
    # The connection is still fine.
    assert client.chat(model="mock", messages=HI, metadata={"mock-tokens": "1"}).text == mock_text(1)


def test_deadline_stream(client: modelgate.Client) -> None:
    stream = client.chat_stream(
        model="mock", messages=HI, metadata={"mock-tokens": "100000", "mock-interval-ms": "10"}, timeout=0.5
    )
    got = 0
    with pytest.raises(modelgate.DeadlineExceededError):
        for _ in stream:
            got += 1
    assert stream.done and stream.response is None


def test_client_default_timeout(gateway: Gateway) -> None:
    with modelgate.Client(gateway.unix_address, timeout=0.3) as c:
        with pytest.raises(modelgate.DeadlineExceededError):
            c.chat(model="mock", messages=HI, metadata={"mock-first-token-ms": "60000"})


# -- errors ------------------------------------------------------------------------------

STATUS_NAMES = [n for n in gw.StatusCode.keys() if n != "OK"]


@pytest.mark.parametrize("name", STATUS_NAMES)
def test_mock_error_maps_to_exception(client: modelgate.Client, name: str) -> None:
    code = gw.StatusCode.Value(name)
    cls = errors.exception_class(code)
    assert cls.code_name == name
    with pytest.raises(modelgate.ModelGateError) as info:
        client.chat(model="mock", messages=HI, metadata={"mock-error": name})
    err = info.value
    assert type(err) is cls, f"{name}: got {type(err).__name__}: {err}"
    assert err.code == code and err.code_name == name
    assert isinstance(err.details, modelgate.ErrorDetails)


@pytest.mark.parametrize("name", ["RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL"])
def test_mock_error_in_stream_after_output(client: modelgate.Client, name: str) -> None:
    stream = client.chat_stream(
        model="mock", messages=HI, metadata={"mock-error": name, "mock-error-after": "3", "mock-tokens": "10"}
    )
    chunks: list[gw.ChatChunk] = []
    with pytest.raises(errors.exception_class(gw.StatusCode.Value(name))) as info:
        for c in stream:
            chunks.append(c)
    assert "".join(c.text for c in chunks) == mock_text(10)[: len("The quick brown ")]
    assert [c.sequence for c in chunks] == list(range(len(chunks)))
    assert chunks and chunks[-1].final, "a stream that reached the provider ends with a final chunk"
    assert info.value.details.retryable is False  # output already reached the caller
    assert stream.response is None


def test_retry_after(client: modelgate.Client) -> None:
    with pytest.raises(modelgate.ResourceExhaustedError) as info:
        client.chat(
            model="mock",
            messages=HI,
            metadata={"mock-error": "RESOURCE_EXHAUSTED", "mock-retry-after-ms": "1500"},
            request_id="py-retry-after",
        )
    assert info.value.details.retry_after == pytest.approx(1.5)
    assert info.value.request_id


def test_unknown_model(client: modelgate.Client) -> None:
    with pytest.raises(modelgate.NotFoundError) as info:
        client.chat(model="no-such-model", messages=HI)
    assert info.value.details.kind == "UNKNOWN_MODEL"
    with pytest.raises(modelgate.NotFoundError):
        list(client.chat_stream(model="no-such-model", messages=HI))


@pytest.mark.parametrize(
    "metadata",
    [
        {"Bad-Key": "x"},
        {"mg-reserved": "x"},
        {"k": "tab\there"},
        {"big": "x" * 9000},
    ],
)
def test_invalid_metadata(client: modelgate.Client, metadata: dict[str, str]) -> None:
    with pytest.raises(modelgate.InvalidArgumentError):
        client.chat(model="mock", messages=HI, metadata=metadata)


def test_unknown_method(client: modelgate.Client) -> None:
    with pytest.raises(modelgate.UnimplementedError):
        client.call("/modelgate.v1.Gateway/Nope", gw.HealthRequest(), gw.HealthResponse)


def test_predict_unknown_model(client: modelgate.Client) -> None:
    with pytest.raises(modelgate.NotFoundError):
        client.predict("no-such-model", [{"name": "x", "datatype": "FP32", "data": [[1.0, 2.0]]}])


def test_nothing_listening_unix(tmp_path: object) -> None:
    addr = "unix:///tmp/modelgate-py-nothing-here/gw.sock"
    with modelgate.Client(addr) as c:
        with pytest.raises(modelgate.UnavailableError) as info:
            c.chat(model="mock", messages=HI)
    assert addr in str(info.value)


def test_nothing_listening_tcp() -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with modelgate.Client(f"tcp://127.0.0.1:{port}") as c:
        with pytest.raises(modelgate.UnavailableError) as info:
            c.health()
    assert f"127.0.0.1:{port}" in str(info.value)


def test_goaway_protocol_error_fails_open_streams(gateway: Gateway) -> None:
    with modelgate.Client(gateway.unix_address) as c:
        stream = c.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "100000", "mock-interval-ms": "10"}, timeout=60)
        next(stream)
        conn = c._conn
        assert conn is not None
        conn.send(UNKNOWN_FRAME)  # a frame of type 0x42: the gateway answers GOAWAY_PROTOCOL_ERROR
        with pytest.raises(modelgate.UnavailableError) as info:
            for _ in stream:
                pass
        assert "GOAWAY_PROTOCOL_ERROR" in str(info.value)
        # The next call transparently uses a new connection.
        assert c.chat(model="mock", messages=HI, metadata={"mock-tokens": "2"}).text == mock_text(2)
        assert c._conn is not conn


def test_closing_client_fails_inflight_calls(gateway: Gateway) -> None:
    c = modelgate.Client(gateway.unix_address)
    stream = c.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "100000", "mock-interval-ms": "10"}, timeout=60)
    next(stream)
    c.close()
    with pytest.raises(modelgate.CancelledError):
        for _ in stream:
            pass
    with pytest.raises(modelgate.UnavailableError):
        c.health()


# -- cancellation (observed at the fake upstream) ----------------------------------------


def open_slow(client: modelgate.Client, request_id: str) -> modelgate.ChatStream:
    return client.chat_stream(model="fake-slow", messages=HI, request_id=request_id, timeout=60)


def test_break_sends_cancel(client: modelgate.Client, upstream: FakeUpstream) -> None:
    request_id = rid("break")
    stream = open_slow(client, request_id)
    n = 0
    for chunk in stream:
        n += 1
        if n == 3:
            break
    assert stream.done
    upstream.wait_outcome(request_id, {"client_closed"})


def test_close_sends_cancel(client: modelgate.Client, upstream: FakeUpstream) -> None:
    request_id = rid("close")
    with open_slow(client, request_id) as stream:
        next(stream)
    upstream.wait_outcome(request_id, {"client_closed"})


def test_gc_sends_cancel(client: modelgate.Client, upstream: FakeUpstream) -> None:
    request_id = rid("gc")
    stream = open_slow(client, request_id)
    next(stream)
    del stream
    gc.collect()
    upstream.wait_outcome(request_id, {"client_closed"})
    # The connection keeps working.
    assert client.chat(model="mock", messages=HI, metadata={"mock-tokens": "1"}).text == mock_text(1)


def test_deadline_cancels_upstream(client: modelgate.Client, upstream: FakeUpstream) -> None:
    request_id = rid("deadline")
    with pytest.raises(modelgate.DeadlineExceededError):
        for _ in client.chat_stream(model="fake-slow", messages=HI, request_id=request_id, timeout=0.5):
            pass
    upstream.wait_outcome(request_id, {"client_closed"})


def test_fake_upstream_chat_and_request_id(client: modelgate.Client, upstream: FakeUpstream) -> None:
    request_id = rid("fake")
    resp = client.chat(model="fake-chat", messages=HI, request_id=request_id)
    assert resp.text == "".join(f"tok{i} " for i in range(1, 9))  # token i is "tok{i} ", i = 1..N
    event = upstream.wait_outcome(request_id, {"completed"})
    assert event["request_id"] == request_id


def test_embed(client: modelgate.Client, upstream: FakeUpstream) -> None:
    result = client.embed("fake-embed", ["a b", "c"])
    assert len(result.vectors) == 2
    for i, vec in enumerate(result.vectors):
        assert isinstance(vec, list) and len(vec) == 8
        assert vec == pytest.approx([(i + 1) * 0.001 * (j + 1) for j in range(8)], rel=1e-5)
    single = client.embed("fake-embed", "just one", dimensions=4)
    assert len(single) == 1 and len(single[0]) == 4


# -- cancellation (observed at the gateway, mock model) ----------------------------------
#
# A 100000-token mock stream at 10 ms per token would run for 1000 s. After the client leaves
# it, the gateway must end it with END CANCELLED (and free its slot) right away.

LONG_MOCK = {"mock-tokens": "100000", "mock-interval-ms": "10"}


def wait_cancelled_end(
    client: modelgate.Client, st: StreamState, timeout: float = 20.0, codes: tuple[int, ...] = (gw.CANCELLED,)
) -> None:
    """Keeps the connection read (health calls) until the gateway's END for ``st`` arrived."""
    conn = client._conn
    assert conn is not None
    deadline = time.monotonic() + timeout
    while st.id in conn.streams:
        assert time.monotonic() < deadline, "the gateway did not end the cancelled stream"
        client.health()
        time.sleep(0.01)
    ends = [ev for ev in st.events if ev[0] == modelgate._framing.END]
    assert ends, "stream left without END"
    status = wire.EndStatus.FromString(ends[-1][1])
    assert status.code in codes, status


def test_break_cancels_at_gateway(client: modelgate.Client) -> None:
    stream = client.chat_stream(model="mock", messages=HI, metadata=LONG_MOCK, timeout=60)
    st = stream._st
    for i, _ in enumerate(stream):
        if i == 2:
            break
    assert stream.done and st.cancelled
    wait_cancelled_end(client, st)


def test_close_cancels_at_gateway(client: modelgate.Client) -> None:
    with client.chat_stream(model="mock", messages=HI, metadata=LONG_MOCK, timeout=60) as stream:
        next(stream)
        st = stream._st
    wait_cancelled_end(client, st)
    with pytest.raises(modelgate.CancelledError):
        next(stream)


def test_gc_cancels_at_gateway(client: modelgate.Client) -> None:
    stream = client.chat_stream(model="mock", messages=HI, metadata=LONG_MOCK, timeout=60)
    next(stream)
    st = stream._st
    del stream
    gc.collect()
    wait_cancelled_end(client, st)


def test_unary_deadline_cancels_at_gateway(client: modelgate.Client) -> None:
    client.connect()
    conn = client._conn
    assert conn is not None
    before = conn.next_stream_id
    with pytest.raises(modelgate.DeadlineExceededError):
        client.chat(model="mock", messages=HI, metadata={"mock-first-token-ms": "60000"}, timeout=0.2)
    st = next((s for sid, s in conn.streams.items() if sid >= before), None)
    if st is not None:  # END not read yet: keep reading until it comes
        # The gateway's own deadline may fire first: either status ends the call.
        wait_cancelled_end(client, st, codes=(gw.CANCELLED, gw.DEADLINE_EXCEEDED))
