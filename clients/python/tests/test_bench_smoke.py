"""Runs the benchmark script in --smoke mode so it cannot rot."""

from __future__ import annotations

import subprocess
import sys

from .conftest import REPO, Gateway


def test_bench_smoke(gateway: Gateway) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "python" / "bench.py"), "--smoke", "--address", gateway.unix_address],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Unary `Chat` round trip" in proc.stdout
    assert "tokens/s" in proc.stdout


def test_example_runs(gateway: Gateway) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / "python" / "stream_chat.py"), "hello", "there"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"MODELGATE_ADDRESS": gateway.unix_address, "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("The quick brown fox")
