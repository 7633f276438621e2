"""Fixtures that run the real ``modelgate`` binary (and ``modelgate-fake-upstream``).

Binaries come from ``$MODELGATE_BIN`` / ``$MODELGATE_FAKE_UPSTREAM_BIN``, defaulting to
``<repo>/.build/debug/...``. Tests that need a missing binary are skipped, unless
``MODELGATE_REQUIRE_SERVER=1`` (set by run-tests.sh), which turns the skip into a failure.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
GATEWAY_BIN = Path(os.environ.get("MODELGATE_BIN") or REPO / ".build" / "debug" / "modelgate")
FAKE_UPSTREAM_BIN = Path(
    os.environ.get("MODELGATE_FAKE_UPSTREAM_BIN") or REPO / ".build" / "debug" / "modelgate-fake-upstream"
)
FIXTURES = REPO / "Tests" / "Fixtures" / "upstream"
REQUIRE = os.environ.get("MODELGATE_REQUIRE_SERVER") == "1"

# Never route the fake upstream's control calls through an HTTP proxy from the environment.
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Upstream scenario (fake-upstream model name) of the slow streaming model used for cancel tests.
SLOW_SCENARIO = "tokens=100000;pace_ms=10"


def _need(binary: Path, what: str) -> None:
    if binary.is_file() and os.access(binary, os.X_OK):
        return
    msg = f"{what} binary not found at {binary} (build it with swift build, or set the env variable)"
    if REQUIRE:
        pytest.fail(msg)
    pytest.skip(msg)


def _read_ready_line(proc: subprocess.Popen[str], prefix: str, timeout: float, log: Path) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            proc.kill()
            raise RuntimeError(f"no '{prefix}' line within {timeout}s; log:\n{log.read_text()[-4000:]}")
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if not ready:
            continue
        line = proc.stdout.readline()
        if not line:
            proc.wait(5)
            raise RuntimeError(
                f"process exited ({proc.returncode}) before printing '{prefix}'; log:\n{log.read_text()[-4000:]}"
            )
        if line.startswith(prefix):
            # Keep draining stdout so the child never blocks on a full pipe.
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
            return line.strip()


class FakeUpstream:
    def __init__(self, workdir: Path) -> None:
        self.log = workdir / "fake-upstream.log"
        self.proc = subprocess.Popen(
            [str(FAKE_UPSTREAM_BIN), "--host", "127.0.0.1", "--port", "0", "--fixtures", str(FIXTURES)],
            stdout=subprocess.PIPE,
            stderr=self.log.open("w"),
            text=True,
        )
        line = _read_ready_line(self.proc, "fake-upstream listening", 30, self.log)
        self.url = line.split()[-1]

    def events(self, request_id: str | None = None) -> list[dict[str, Any]]:
        url = self.url + "/_fake/events"
        if request_id:
            url += "?request_id=" + urllib.parse.quote(request_id)
        with _LOOPBACK.open(url, timeout=10) as resp:
            data = json.loads(resp.read())
        events = data["events"] if isinstance(data, dict) and "events" in data else data
        assert isinstance(events, list)
        return events

    def wait_outcome(self, request_id: str, outcomes: set[str], timeout: float = 15.0) -> dict[str, Any]:
        """Polls until the request with this X-Request-Id reaches one of ``outcomes``."""
        deadline = time.monotonic() + timeout
        last: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            last = [e for e in self.events(request_id) if e.get("request_id") == request_id]
            for e in last:
                if e.get("outcome") in outcomes:
                    return e
            time.sleep(0.05)
        raise AssertionError(f"request {request_id}: no outcome in {outcomes} within {timeout}s; events: {last}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Gateway:
    """One ``modelgate serve`` process on a temp Unix socket and an ephemeral TCP port."""

    def __init__(self, workdir: Path, *, fake_upstream_url: str | None = None, socket_path: str | None = None) -> None:
        self.workdir = workdir
        self.fixed_tcp_port = 0
        self.socket_path = socket_path or str(workdir / "gw.sock")
        self.fake_upstream_url = fake_upstream_url
        self.config = workdir / "modelgate.yaml"
        self.config.write_text(self._config_text())
        self.log = workdir / "gateway.log"
        self.proc: subprocess.Popen[str] | None = None
        self.tcp_port = 0
        self.upstream_unsupported: str | None = None
        self.start()

    def _config_text(self) -> str:
        lines = [
            "listeners:",
            "  unix:",
            f"    path: {self.socket_path}",
            "  tcp:",
            "    host: 127.0.0.1",
            f"    port: {self.fixed_tcp_port}",
            "shutdown:",
            "  drain_timeout_ms: 10000",
        ]
        if self.fake_upstream_url:
            lines += [
                "providers:",
                "  fake:",
                "    kind: openai",
                f"    base_url: {self.fake_upstream_url}/v1",
            ]
        lines += [
            "models:",
            "  mock:",
            "    provider: mock",
            "    mock:",
            "      tokens: 16",
            "      interval_ms: 0",
        ]
        if self.fake_upstream_url:
            lines += [
                "  fake-slow:",
                "    provider: fake",
                f'    upstream_model: "{SLOW_SCENARIO}"',
                "  fake-chat:",
                "    provider: fake",
                '    upstream_model: "tokens=8"',
                "  fake-embed:",
                "    provider: fake",
                '    upstream_model: "text-embedding-3-small"',
                "    kind: embedding",
            ]
        return "\n".join(lines) + "\n"

    @property
    def unix_address(self) -> str:
        return "unix://" + self.socket_path

    @property
    def tcp_address(self) -> str:
        return f"tcp://127.0.0.1:{self.tcp_port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(GATEWAY_BIN), "serve", "--config", str(self.config)],
            stdout=subprocess.PIPE,
            stderr=self.log.open("a"),
            text=True,
        )
        line = _read_ready_line(self.proc, "modelgate serving", 60, self.log)
        for part in line.split()[2:]:
            if part.startswith("tcp://"):
                self.tcp_port = int(part.rsplit(":", 1)[1])
            elif part.startswith("unix://"):
                assert part[len("unix://"):] == self.socket_path, line

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        proc = self.proc
        if proc is None:
            return 0
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.proc = None
        return proc.returncode

    def restart(self, *, keep_tcp_port: bool = False) -> None:
        """Stops (SIGTERM, drain) and starts again on the same Unix socket path; with
        ``keep_tcp_port``, also on the same TCP port."""
        self.stop()
        if keep_tcp_port:
            self.fixed_tcp_port = self.tcp_port
            self.config.write_text(self._config_text())
        self.start()


def _short_tmpdir() -> Path:
    # Unix socket paths are limited to 108 bytes; pytest's tmp_path can be longer.
    return Path(tempfile.mkdtemp(prefix="mgpy-", dir="/tmp"))


@pytest.fixture(scope="session")
def fake_upstream() -> Iterator[FakeUpstream | None]:
    if not (FAKE_UPSTREAM_BIN.is_file() and os.access(FAKE_UPSTREAM_BIN, os.X_OK)):
        yield None
        return
    workdir = _short_tmpdir()
    fu = FakeUpstream(workdir)
    yield fu
    fu.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def gateway(fake_upstream: FakeUpstream | None) -> Iterator[Gateway]:
    """A gateway shared by the whole session (mock model, plus fake-upstream models when that
    binary exists)."""
    _need(GATEWAY_BIN, "modelgate")
    workdir = _short_tmpdir()
    try:
        gw = Gateway(workdir, fake_upstream_url=fake_upstream.url if fake_upstream else None)
    except RuntimeError as exc:
        if fake_upstream is None or "is not available" not in str(exc):
            raise
        # This gateway build cannot use an OpenAI-compatible provider yet: run the mock-only
        # tests and skip those that need the fake upstream, saying why.
        gw = Gateway(workdir)
        gw.upstream_unsupported = str(exc).strip().splitlines()[-1]
    yield gw
    gw.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def own_gateway() -> Iterator[Gateway]:
    """A gateway for one test (restart, drain and kill tests)."""
    _need(GATEWAY_BIN, "modelgate")
    workdir = _short_tmpdir()
    gw = Gateway(workdir)
    yield gw
    gw.stop(signal.SIGKILL)
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def upstream(fake_upstream: FakeUpstream | None, gateway: Gateway) -> FakeUpstream:
    if fake_upstream is None:
        _need(FAKE_UPSTREAM_BIN, "modelgate-fake-upstream")
    assert fake_upstream is not None
    if gateway.upstream_unsupported:
        pytest.skip(f"the gateway refused a config with an openai provider: {gateway.upstream_unsupported}")
    return fake_upstream


WORDS = "The quick brown fox jumps over the lazy dog.".split()


def mock_text(n: int) -> str:
    """The documented text of the built-in mock model for ``n`` tokens."""
    return " ".join(WORDS[i % len(WORDS)] for i in range(n))
