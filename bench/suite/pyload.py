#!/usr/bin/env python3
"""Python load generator for the suite: the official ``openai`` SDK (for a direct call to the
fake upstream or a call through LiteLLM) or the ``modelgate`` client (through ModelGate).

One caller uses the synchronous client in a loop; more callers are asyncio tasks sharing one
async client (``AsyncOpenAI``'s connection pool, or ``modelgate.AsyncClient``'s one multiplexed
connection), as an application would write it. Prints one JSON object, the same keys as
``modelgate-bench measure``.

    pyload.py --client openai --target http://127.0.0.1:8000/v1 --model tokens=16 --callers 1
    pyload.py --client modelgate --target unix:///tmp/gw.sock --model bench-stream --streaming
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

LEVELS = [0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 0.999]
MESSAGES = [{"role": "user", "content": "hello there"}]
MAX_WARM_UP_S = 0.5  # as modelgate-bench: a fifth of the measured time, at most 0.5 s

# (total seconds, first-token seconds, tokens) of one call
Timing = tuple[float, float, int]


def openai_calls(args: argparse.Namespace) -> tuple[Callable[[], Timing], Callable[[], Awaitable[Timing]]]:
    import openai
    from openai.types.chat import ChatCompletionMessageParam

    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello there"}]
    common: dict[str, Any] = {"base_url": args.target, "api_key": args.bearer or "unused", "max_retries": 0, "timeout": 120}
    sync_client = openai.OpenAI(**common)
    async_client = openai.AsyncOpenAI(**common)

    def one() -> Timing:
        t0 = time.perf_counter()
        if not args.streaming:
            sync_client.chat.completions.create(model=args.model, messages=messages)
            t = time.perf_counter() - t0
            return t, t, 1
        first, tokens = 0.0, 0
        stream = sync_client.chat.completions.create(
            model=args.model, messages=messages, stream=True, stream_options={"include_usage": True})
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                tokens += 1
                if tokens == 1:
                    first = time.perf_counter() - t0
        return time.perf_counter() - t0, first, tokens

    async def one_async() -> Timing:
        t0 = time.perf_counter()
        if not args.streaming:
            await async_client.chat.completions.create(model=args.model, messages=messages)
            t = time.perf_counter() - t0
            return t, t, 1
        first, tokens = 0.0, 0
        stream = await async_client.chat.completions.create(
            model=args.model, messages=messages, stream=True, stream_options={"include_usage": True})
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                tokens += 1
                if tokens == 1:
                    first = time.perf_counter() - t0
        return time.perf_counter() - t0, first, tokens

    return one, one_async


def modelgate_calls(args: argparse.Namespace) -> tuple[Callable[[], Timing], Callable[[], Awaitable[Timing]]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python" / "src"))
    import modelgate

    sync_client = modelgate.Client(args.target)
    async_client: list[modelgate.AsyncClient] = []  # made inside the running loop

    def one() -> Timing:
        t0 = time.perf_counter()
        if not args.streaming:
            sync_client.chat(model=args.model, messages=MESSAGES)
            t = time.perf_counter() - t0
            return t, t, 1
        first, tokens = 0.0, 0
        for chunk in sync_client.chat_stream(model=args.model, messages=MESSAGES):
            if chunk.text:
                tokens += 1
                if tokens == 1:
                    first = time.perf_counter() - t0
        return time.perf_counter() - t0, first, tokens

    async def one_async() -> Timing:
        if not async_client:
            async_client.append(modelgate.AsyncClient(args.target))
        client = async_client[0]
        t0 = time.perf_counter()
        if not args.streaming:
            await client.chat(model=args.model, messages=MESSAGES)
            t = time.perf_counter() - t0
            return t, t, 1
        first, tokens = 0.0, 0
        async for chunk in client.chat_stream(model=args.model, messages=MESSAGES):
            if chunk.text:
                tokens += 1
                if tokens == 1:
                    first = time.perf_counter() - t0
        return time.perf_counter() - t0, first, tokens

    return one, one_async


def run_sync(one: Callable[[], Timing], seconds: float) -> tuple[list[Timing], int, int]:
    timings: list[Timing] = []
    calls = errors = 0
    start = time.perf_counter() + min(MAX_WARM_UP_S, seconds / 5)
    deadline = start + seconds
    while time.perf_counter() < deadline:
        try:
            timing = one()
        except Exception as error:  # noqa: BLE001 - any failure is counted, the first is shown
            errors += 1
            if errors == 1:
                print(f"pyload: {type(error).__name__}: {error}", file=sys.stderr)
            break
        calls += 1
        if time.perf_counter() > start:
            timings.append(timing)
    return timings, calls, errors


async def run_async(one: Callable[[], Awaitable[Timing]], callers: int, seconds: float) -> tuple[list[Timing], int, int]:
    timings: list[Timing] = []
    counts = [0, 0]  # calls, errors
    start = time.perf_counter() + min(MAX_WARM_UP_S, seconds / 5)
    deadline = start + seconds
    await one()  # opens the client inside the loop before the callers start

    async def caller() -> None:
        while time.perf_counter() < deadline:
            try:
                timing = await one()
            except Exception as error:  # noqa: BLE001
                counts[1] += 1
                if counts[1] == 1:
                    print(f"pyload: {type(error).__name__}: {error}", file=sys.stderr)
                return
            counts[0] += 1
            if time.perf_counter() > start:
                timings.append(timing)

    await asyncio.gather(*(caller() for _ in range(callers)))
    return timings, counts[0] + 1, counts[1]


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int((len(s) - 1) * p + 0.5))] * 1000 if s else -1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--client", choices=("openai", "modelgate"), required=True)
    ap.add_argument("--target", required=True, help="base URL (openai) or gateway address (modelgate)")
    ap.add_argument("--model", required=True)
    ap.add_argument("--bearer", help="API key sent by the openai SDK")
    ap.add_argument("--streaming", action="store_true")
    ap.add_argument("--callers", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()

    one, one_async = (openai_calls if args.client == "openai" else modelgate_calls)(args)
    if args.callers == 1:
        timings, calls, errors = run_sync(one, args.seconds)
    else:
        timings, calls, errors = asyncio.run(run_async(one_async, args.callers, args.seconds))
    totals = [t[0] for t in timings]
    firsts = [t[1] for t in timings]
    tokens = sum(t[2] for t in timings)
    print(
        json.dumps(
            {
                "calls": len(timings),
                "all_calls": calls,
                "errors": errors,
                "seconds": args.seconds,
                "requests_per_second": len(timings) / args.seconds,
                "tokens": tokens,
                "tokens_per_second": tokens / args.seconds,
                "percentile_levels": LEVELS,
                "latency_ms": [percentile(totals, p) for p in LEVELS],
                "first_token_ms": [percentile(firsts, p) for p in LEVELS],
            },
            sort_keys=True,
        )
    )
    if not timings:
        sys.exit(1)


if __name__ == "__main__":
    main()
