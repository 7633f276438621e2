"""Processes under test: start, stop, and their accounting from /proc (CPU time, RSS).

The figures are always of a process tree (the process and its descendants), so a proxy that
forks workers is measured whole; ModelGate is one process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            out += [int(c) for c in text.split()]
    except OSError:
        pass
    return out


def tree(pid: int) -> list[int]:
    """The pid and all its descendants."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo += _children(p)
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes (all threads), in seconds."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat(5))
    return total / TICKS


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError):
            continue
    return total * PAGE / 2**20


@dataclass
class Service:
    """A started process tree: the gateway, the proxy or the fake upstream."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    startup_s: float = 0.0
    peak_rss: float = 0.0
    _sampler: threading.Thread | None = field(default=None, repr=False)
    _sampling: bool = False

    @property
    def pids(self) -> list[int]:
        return tree(self.proc.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pids)

    def rss(self) -> float:
        return rss_mib(self.pids)

    def sample_rss(self, interval: float = 0.1) -> None:
        """Tracks the peak RSS in the background until ``stop_sampling``."""
        self.peak_rss = self.rss()
        self._sampling = True

        def loop() -> None:
            while self._sampling:
                self.peak_rss = max(self.peak_rss, self.rss())
                time.sleep(interval)

        self._sampler = threading.Thread(target=loop, daemon=True)
        self._sampler.start()

    def stop_sampling(self) -> float:
        self._sampling = False
        if self._sampler is not None:
            self._sampler.join()
        return self.peak_rss

    def settle(self, limit_s: float = 30.0, busy: float = 0.05) -> float:
        """Waits until the tree uses under ``busy`` of a core over 0.5 s; returns the seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < limit_s:
            before = self.cpu()
            time.sleep(0.5)
            if self.cpu() - before < busy * 0.5 + 1 / TICKS:
                break
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                for pid in reversed(self.pids):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.wait(5)


def start(name: str, argv: list[str], log: Path, env: dict[str, str] | None = None) -> Service:
    handle = log.open("wb")
    proc = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return Service(name, proc, log)


def wait_until_served(service: Service, probe: Callable[[], bool], started: float, limit_s: float) -> float:
    """Calls ``probe`` until it succeeds; returns seconds since ``started`` (a monotonic time)."""
    while True:
        if service.proc.poll() is not None:
            raise RuntimeError(f"{service.name} exited during start-up; see {service.log}")
        try:
            if probe():
                return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > limit_s:
            raise RuntimeError(f"{service.name} did not serve a request within {limit_s:.0f} s; see {service.log}")
        time.sleep(0.002)
