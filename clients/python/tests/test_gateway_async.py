"""The asyncio client against the real gateway binary (each test runs its own event loop)."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

import modelgate
from modelgate import errors
from modelgate._core import StreamState
from modelgate.v1 import gateway_pb2 as gw
from modelgate.v1 import wire_pb2 as wire

from .conftest import FakeUpstream, Gateway, mock_text
from .test_gateway_sync import HI, STATUS_NAMES, check_stream

T = TypeVar("T")


def run(gateway: Gateway, body: Callable[[modelgate.AsyncClient], Awaitable[T]], **kwargs: object) -> T:
    async def main() -> T:
        async with modelgate.AsyncClient(gateway.unix_address, **kwargs) as client:  # type: ignore[arg-type]
            return await body(client)

    return asyncio.run(main())


def rid(tag: str) -> str:
    return f"py-async-{tag}-{uuid.uuid4().hex[:12]}"


def test_async_unary_and_discovery(gateway: Gateway) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        assert (await c.health()).status == gw.SERVING_STATUS_SERVING
        assert "mock" in {m.name for m in await c.list_models()}
        resp = await c.chat(model="mock", messages=[{"role": "user", "content": "a b c"}], temperature=0.0)
        assert resp.text == mock_text(16)
        assert resp.usage.input_tokens == 3 and resp.usage.output_tokens == 16

    run(gateway, body)


def test_async_tcp(gateway: Gateway) -> None:
    async def main() -> None:
        async with modelgate.AsyncClient(gateway.tcp_address) as c:
            assert (await c.chat(model="mock", messages=HI, metadata={"mock-tokens": "3"})).text == mock_text(3)

    asyncio.run(main())


def test_async_stream(gateway: Gateway) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        stream = c.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "20"})
        chunks = [chunk async for chunk in stream]
        check_stream(chunks, 20)
        assert stream.response is not None and stream.response.text == mock_text(20)
        assert stream.usage is not None and stream.usage.output_tokens == 20
        async with c.chat_stream(model="mock", messages=HI) as s2:
            resp = await s2.collect()
        assert resp.text == mock_text(16)
        s3 = await c.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "2"})
        assert (await s3.collect()).text == mock_text(2)

    run(gateway, body)


def test_async_100_concurrent_streams_on_one_connection(gateway: Gateway) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        await c.connect()
        conn = c._conn

        async def one() -> list[gw.ChatChunk]:
            stream = c.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "12", "mock-interval-ms": "5"})
            return [chunk async for chunk in stream]

        results = await asyncio.gather(*(one() for _ in range(100)))
        for chunks in results:
            check_stream(chunks, 12)
        assert c._conn is conn and conn is not None and conn.next_stream_id > 100

    run(gateway, body)


def test_async_more_streams_than_the_gateway_allows(gateway: Gateway) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        async def one() -> list[gw.ChatChunk]:
            stream = c.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "10", "mock-interval-ms": "10"})
            return [chunk async for chunk in stream]

        results = await asyncio.gather(*(one() for _ in range(150)))
        for chunks in results:
            check_stream(chunks, 10)
        unary = await asyncio.gather(
            *(c.chat(model="mock", messages=HI, metadata={"mock-tokens": "2", "mock-first-token-ms": "20"}) for _ in range(150))
        )
        assert all(r.text == mock_text(2) for r in unary)

    run(gateway, body)


def test_async_slow_consumer_does_not_stall(gateway: Gateway) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        slow = c.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "3000"})
        first = await slow.__anext__()
        for _ in range(3):
            other = [x async for x in c.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "200"})]
            check_stream(other, 200)
        await asyncio.sleep(0.2)
        assert slow._st is not None
        held = [*slow._st.events, *slow._buf]
        buffered = sum(len(ev[1]) for ev in held if ev[0] == modelgate._framing.MESSAGE)
        assert 0 < buffered <= 1024 + 256
        rest = [x async for x in slow]
        check_stream([first, *rest], 3000)

    run(gateway, body, window_size=1024)


def test_async_deadline(gateway: Gateway) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        with pytest.raises(modelgate.DeadlineExceededError):
            await c.chat(model="mock", messages=HI, metadata={"mock-first-token-ms": "60000"}, timeout=0.3)
        with pytest.raises(modelgate.DeadlineExceededError):
            async for _ in c.chat_stream(
                model="mock", messages=HI, metadata={"mock-tokens": "100000", "mock-interval-ms": "10"}, timeout=0.5
            ):
                pass
        assert (await c.chat(model="mock", messages=HI, metadata={"mock-tokens": "1"})).text == mock_text(1)

    run(gateway, body)


@pytest.mark.parametrize("name", STATUS_NAMES)
def test_async_mock_error(gateway: Gateway, name: str) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        cls = errors.exception_class(gw.StatusCode.Value(name))
        with pytest.raises(modelgate.ModelGateError) as info:
            await c.chat(model="mock", messages=HI, metadata={"mock-error": name})
        assert type(info.value) is cls
        with pytest.raises(cls):
            async for _ in c.chat_stream(model="mock", messages=HI, metadata={"mock-error": name}):
                pass

    run(gateway, body)


def test_async_unknown_model_and_invalid_argument(gateway: Gateway) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        with pytest.raises(modelgate.NotFoundError):
            await c.chat(model="no-such-model", messages=HI)
        with pytest.raises(modelgate.InvalidArgumentError):
            await c.chat(model="mock", messages=HI, metadata={"Bad-Key": "x"})

    run(gateway, body)


def test_async_nothing_listening() -> None:
    async def main() -> None:
        addr = "unix:///tmp/modelgate-py-nothing-here/gw.sock"
        async with modelgate.AsyncClient(addr) as c:
            with pytest.raises(modelgate.UnavailableError) as info:
                await c.health()
        assert addr in str(info.value)

    asyncio.run(main())


def test_async_task_cancellation_is_not_swallowed(gateway: Gateway) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        task = asyncio.create_task(c.chat(model="mock", messages=HI, metadata={"mock-first-token-ms": "60000"}))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not issubclass(modelgate.CancelledError, asyncio.CancelledError)
        assert (await c.chat(model="mock", messages=HI, metadata={"mock-tokens": "1"})).text == mock_text(1)

    run(gateway, body)


def test_async_break_sends_cancel(gateway: Gateway, upstream: FakeUpstream) -> None:
    request_id = rid("break")

    async def body(c: modelgate.AsyncClient) -> None:
        n = 0
        async for _ in c.chat_stream(model="fake-slow", messages=HI, request_id=request_id, timeout=60):
            n += 1
            if n == 3:
                break
        await asyncio.sleep(0)

    run(gateway, body)
    upstream.wait_outcome(request_id, {"client_closed"})


def test_async_task_cancel_sends_cancel(gateway: Gateway, upstream: FakeUpstream) -> None:
    request_id = rid("task")

    async def body(c: modelgate.AsyncClient) -> None:
        started = asyncio.Event()

        async def consume() -> None:
            async for _ in c.chat_stream(model="fake-slow", messages=HI, request_id=request_id, timeout=60):
                started.set()

        task = asyncio.create_task(consume())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Keep the connection open until the gateway has seen the CANCEL.
        await asyncio.get_running_loop().run_in_executor(
            None, upstream.wait_outcome, request_id, {"client_closed"}
        )

    run(gateway, body)


def test_async_gc_sends_cancel(gateway: Gateway, upstream: FakeUpstream) -> None:
    request_id = rid("gc")

    async def body(c: modelgate.AsyncClient) -> None:
        stream = c.chat_stream(model="fake-slow", messages=HI, request_id=request_id, timeout=60)
        await stream.__anext__()
        del stream
        gc.collect()
        await asyncio.get_running_loop().run_in_executor(
            None, upstream.wait_outcome, request_id, {"client_closed"}
        )

    run(gateway, body)


def test_async_embed(gateway: Gateway, upstream: FakeUpstream) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        result = await c.embed("fake-embed", ["x", "y", "z"])
        assert len(result.vectors) == 3
        assert result.vectors[2] == pytest.approx([3 * 0.001 * (j + 1) for j in range(8)], rel=1e-5)

    run(gateway, body)


# -- cancellation observed at the gateway (mock model) -----------------------------------

LONG_MOCK = {"mock-tokens": "100000", "mock-interval-ms": "10"}


async def wait_cancelled_end(c: modelgate.AsyncClient, st: StreamState, timeout: float = 20.0) -> None:
    conn = c._conn
    assert conn is not None
    deadline = asyncio.get_running_loop().time() + timeout
    while st.id in conn.streams:
        assert asyncio.get_running_loop().time() < deadline, "the gateway did not end the cancelled stream"
        await asyncio.sleep(0.01)
    ends = [ev for ev in st.events if ev[0] == modelgate._framing.END]
    assert ends and wire.EndStatus.FromString(ends[-1][1]).code == gw.CANCELLED


def test_async_break_cancels_at_gateway(gateway: Gateway) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        stream = c.chat_stream(model="mock", messages=HI, metadata=LONG_MOCK, timeout=60)
        n = 0
        async for _ in stream:
            n += 1
            if n == 3:
                break
        assert stream.done and stream._st is not None
        await wait_cancelled_end(c, stream._st)

    run(gateway, body)


def test_async_task_cancel_cancels_at_gateway(gateway: Gateway) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        stream = c.chat_stream(model="mock", messages=HI, metadata=LONG_MOCK, timeout=60)
        started = asyncio.Event()

        async def consume() -> None:
            async for _ in stream:
                started.set()

        task = asyncio.create_task(consume())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert stream._st is not None
        await wait_cancelled_end(c, stream._st)

    run(gateway, body)


def test_async_unary_task_cancel_cancels_at_gateway(gateway: Gateway) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        await c.connect()
        conn = c._conn
        assert conn is not None
        task = asyncio.create_task(c.chat(model="mock", messages=HI, metadata={"mock-first-token-ms": "60000"}))
        await asyncio.sleep(0.2)
        (st,) = conn.streams.values()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_cancelled_end(c, st)

    run(gateway, body)


def test_async_gc_cancels_at_gateway(gateway: Gateway) -> None:
    async def body(c: modelgate.AsyncClient) -> None:
        stream = c.chat_stream(model="mock", messages=HI, metadata=LONG_MOCK, timeout=60)
        await stream.__anext__()
        st = stream._st
        assert st is not None
        del stream
        gc.collect()
        await wait_cancelled_end(c, st)

    run(gateway, body)
