"""Gateway restarts, graceful drains and crashes, each with a gateway of its own."""

from __future__ import annotations

import asyncio
import signal
import threading
import time

import pytest

import modelgate
import modelgate._sync
from modelgate.v1 import gateway_pb2 as gw

from .conftest import Gateway, mock_text
from .test_gateway_sync import HI, check_stream

SLOW_MOCK = {"mock-tokens": "100000", "mock-interval-ms": "10"}


def test_restart_next_call_uses_new_connection(own_gateway: Gateway) -> None:
    with modelgate.Client(own_gateway.unix_address) as c:
        assert c.chat(model="mock", messages=HI, metadata={"mock-tokens": "2"}).text == mock_text(2)
        first = c._conn
        own_gateway.restart()
        assert c.chat(model="mock", messages=HI, metadata={"mock-tokens": "3"}).text == mock_text(3)
        assert c._conn is not first
        # And again, with a stream this time.
        own_gateway.restart()
        check_stream(list(c.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "5"})), 5)


def test_restart_tcp(own_gateway: Gateway) -> None:
    with modelgate.Client(own_gateway.tcp_address) as c:
        c.health()
        port = own_gateway.tcp_port
        first = c._conn
        own_gateway.restart(keep_tcp_port=True)
        assert own_gateway.tcp_port == port
        assert c.health().status == gw.SERVING_STATUS_SERVING
        assert c._conn is not first


def test_async_restart(own_gateway: Gateway) -> None:
    async def main() -> None:
        async with modelgate.AsyncClient(own_gateway.unix_address) as c:
            await c.health()
            first = c._conn
            await asyncio.get_running_loop().run_in_executor(None, own_gateway.restart)
            assert (await c.chat(model="mock", messages=HI, metadata={"mock-tokens": "2"})).text == mock_text(2)
            assert c._conn is not first

    asyncio.run(main())


def test_down_then_unavailable_then_back(own_gateway: Gateway) -> None:
    with modelgate.Client(own_gateway.unix_address) as c:
        c.health()
        own_gateway.stop()
        with pytest.raises(modelgate.UnavailableError):
            c.health()
        own_gateway.start()
        assert c.health().status == gw.SERVING_STATUS_SERVING


def test_crash_mid_stream_is_unavailable_never_success(own_gateway: Gateway) -> None:
    with modelgate.Client(own_gateway.unix_address) as c:
        stream = c.chat_stream(model="mock", messages=HI, metadata=SLOW_MOCK, timeout=60)
        next(stream)
        own_gateway.stop(signal.SIGKILL)
        with pytest.raises(modelgate.UnavailableError) as info:
            for _ in stream:
                pass
        assert info.value.details.retryable is False  # output had reached the caller
        assert stream.response is None


def test_async_crash_mid_stream(own_gateway: Gateway) -> None:
    async def main() -> None:
        async with modelgate.AsyncClient(own_gateway.unix_address) as c:
            stream = c.chat_stream(model="mock", messages=HI, metadata=SLOW_MOCK, timeout=60)
            await stream.__anext__()
            own_gateway.stop(signal.SIGKILL)
            with pytest.raises(modelgate.UnavailableError):
                async for _ in stream:
                    pass

    asyncio.run(main())


def test_crash_mid_unary_is_unavailable(own_gateway: Gateway) -> None:
    with modelgate.Client(own_gateway.unix_address) as c:
        c.health()
        timer = threading.Timer(0.3, own_gateway.stop, args=(signal.SIGKILL,))
        timer.start()
        try:
            with pytest.raises(modelgate.UnavailableError):
                c.chat(model="mock", messages=HI, metadata={"mock-first-token-ms": "60000"}, timeout=60)
        finally:
            timer.join()


def test_graceful_drain_lets_open_stream_finish(own_gateway: Gateway) -> None:
    """SIGTERM: GOAWAY(NO_ERROR); the stream in flight completes; new calls are refused or
    fail UNAVAILABLE (nothing listens any more)."""
    with modelgate.Client(own_gateway.unix_address) as c:
        stream = c.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "60", "mock-interval-ms": "20"})
        chunks = [next(stream)]
        proc = own_gateway.proc
        assert proc is not None
        proc.send_signal(signal.SIGTERM)
        chunks += list(stream)
        check_stream(chunks, 60)
        with pytest.raises(modelgate.UnavailableError):
            c.chat(model="mock", messages=HI)
        assert proc.wait(30) == 0


def test_async_graceful_drain(own_gateway: Gateway) -> None:
    async def main() -> None:
        async with modelgate.AsyncClient(own_gateway.unix_address) as c:
            stream = c.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "60", "mock-interval-ms": "20"})
            chunks = [await stream.__anext__()]
            proc = own_gateway.proc
            assert proc is not None
            proc.send_signal(signal.SIGTERM)
            chunks += [x async for x in stream]
            check_stream(chunks, 60)

    asyncio.run(main())


@pytest.mark.parametrize("idle_check", [True, False], ids=["idle-check", "forced-onto-draining-connection"])
def test_rolling_restart_during_drain(own_gateway: Gateway, monkeypatch: pytest.MonkeyPatch, idle_check: bool) -> None:
    """Old gateway drains a stream while a new one serves the same socket path: the stream
    finishes on the old connection, a new call lands on a new connection. Without the idle
    check the new call first goes to the draining connection, is refused (SHUTTING_DOWN, above
    the GOAWAY's last stream id) and is resent transparently."""
    if not idle_check:
        monkeypatch.setattr(modelgate._sync, "_IDLE_CHECK_AFTER", 1e9)
    with modelgate.Client(own_gateway.unix_address) as c:
        stream = c.chat_stream(model="mock", messages=HI, metadata={"mock-tokens": "60", "mock-interval-ms": "20"})
        chunks = [next(stream)]
        old_conn = c._conn
        old = own_gateway.proc
        assert old is not None
        old.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # the GOAWAY is now waiting, unread, on the old connection
        own_gateway.proc = None
        own_gateway.start()  # same socket path
        try:
            resp = c.chat(model="mock", messages=HI, metadata={"mock-tokens": "2"}, timeout=30)
            assert resp.text == mock_text(2)
            assert c._conn is not old_conn and old_conn is not None
            # Forced: the call went out as stream 2 on the draining connection first.
            assert old_conn.highest_opened == (1 if idle_check else 2)
            chunks += list(stream)
            check_stream(chunks, 60)
            assert old.wait(30) == 0
            # The new gateway keeps serving once the old one has exited.
            assert c.chat(model="mock", messages=HI, metadata={"mock-tokens": "1"}).text == mock_text(1)
        finally:
            if old.poll() is None:
                old.kill()
