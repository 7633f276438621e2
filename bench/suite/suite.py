#!/usr/bin/env python3
"""The comparison suite: ModelGate beside LiteLLM's proxy and a direct call, same fake upstream.

Starts the fake upstream, ModelGate and (when its venv exists) LiteLLM once each, measures their
start-up, then runs every workload with every system interleaved (A B C A B C …, ``--reps``
times) through the load generators:

* ``modelgate-bench measure``: closed-loop raw HTTP or native-protocol callers (one thread and
  connection each) — the same generator for direct, ModelGate and LiteLLM;
* ``pyload.py``: the ``openai`` SDK (direct, LiteLLM) and the ``modelgate`` Python client;
* ``goload``: the Go client (when it is built);
* ``modelgate-bench paced``: thousands of concurrent paced streams on one event loop.

Around each run it reads the CPU time and samples the RSS of the system under test (the
gateway process alone; LiteLLM's whole process tree). The Markdown tables replace the generated
block of ``--output``; the plot goes to ``--plot``. Run it through ``bench/run.sh``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import procs
import report

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO / "clients" / "python" / "src"))
import modelgate  # noqa: E402

MASTER_KEY = "sk-modelgate-bench"


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str  # unary | stream | paced
    callers: int = 1  # concurrent callers, or streams for paced


@dataclass(frozen=True)
class System:
    name: str
    family: str  # which generator: raw | python | go | paced
    via: str  # direct | modelgate | litellm | mock (ModelGate's built-in model)


@dataclass
class Scenarios:
    unary: str = "tokens=16"
    stream: str = "tokens=256"
    paced_tokens: int = 100
    first_ms: int = 200
    pace_ms: int = 20

    @property
    def paced(self) -> str:
        return f"first_ms={self.first_ms};pace_ms={self.pace_ms};tokens={self.paced_tokens}"

    def for_kind(self, kind: str) -> str:
        return {"unary": self.unary, "stream": self.stream, "paced": self.paced}[kind]


@dataclass
class Env:
    """Everything started for the run, and where it listens."""

    work: Path
    bins: Path
    scenarios: Scenarios
    upstream: procs.Service
    upstream_port: int
    gateway: procs.Service
    unix: str
    tcp_port: int
    litellm: procs.Service | None = None
    litellm_port: int = 0
    py_modelgate: str = sys.executable
    py_openai: str | None = None
    goload: Path | None = None
    startup: dict[str, list[float]] = field(default_factory=dict)
    rest_rss: dict[str, float] = field(default_factory=dict)


# -- starting the systems ---------------------------------------------------------------------


def start_upstream(work: Path, bins: Path) -> tuple[procs.Service, int]:
    port = procs.free_port()
    fixtures = REPO / "Tests" / "Fixtures" / "upstream"
    # Two event-loop threads: 10,000 paced streams are more than one thread writes on time.
    service = procs.start(
        "fake upstream",
        [str(bins / "modelgate-fake-upstream"), "--port", str(port), "--fixtures", str(fixtures), "--threads", "2"],
        work / "upstream.log",
    )
    started = time.monotonic()
    procs.wait_until_served(service, lambda: _http_ok(port, "tokens=1", None), started, 30)
    return service, port


def write_gateway_config(env_work: Path, upstream_port: int, scenarios: Scenarios, unix: str, tcp_port: int) -> Path:
    config = env_work / "modelgate.yaml"
    config.write_text(
        f"""listeners:
  unix: {{ path: {unix} }}
  tcp: {{ host: 127.0.0.1, port: {tcp_port} }}
limits:
  max_concurrent_streams: 20000
  max_connections: 4096
providers:
  fake:
    kind: openai
    base_url: http://127.0.0.1:{upstream_port}/v1
    timeouts: {{ connect_ms: 30000 }}  # as the paced generator's own connect timeout
models:
  mock: {{ provider: mock }}
  bench-unary: {{ provider: fake, upstream_model: "{scenarios.unary}" }}
  bench-stream: {{ provider: fake, upstream_model: "{scenarios.stream}" }}
  bench-paced: {{ provider: fake, upstream_model: "{scenarios.paced}" }}
"""
    )
    return config


def start_gateway(work: Path, bins: Path, config: Path, unix: str, tag: str) -> procs.Service:
    Path(unix).unlink(missing_ok=True)
    started = time.monotonic()
    service = procs.start(
        "ModelGate", [str(bins / "modelgate"), "serve", "--config", str(config), "--log-level", "warning"],
        work / f"gateway-{tag}.log",
    )

    def probe() -> bool:
        try:
            with modelgate.Client("unix://" + unix, timeout=5) as client:
                client.chat(model="bench-unary", messages=[{"role": "user", "content": "hi"}])
            return True
        except modelgate.ModelGateError:
            return False

    service.startup_s = procs.wait_until_served(service, probe, started, 60)
    return service


def write_litellm_config(work: Path, upstream_port: int, scenarios: Scenarios) -> Path:
    """LiteLLM as a production user runs it: no database, no callbacks, no retries, logs off
    (the environment in ``litellm_env``), a master key."""
    config = work / "litellm.yaml"
    models = "".join(
        f"""  - model_name: bench-{kind}
    litellm_params:
      model: "openai/{scenarios.for_kind(kind)}"
      api_base: http://127.0.0.1:{upstream_port}/v1
      api_key: unused
"""
        for kind in ("unary", "stream", "paced")
    )
    config.write_text(
        f"""model_list:
{models}litellm_settings:
  num_retries: 0
  request_timeout: 120
  set_verbose: false
  callbacks: []
  cache: false
general_settings:
  master_key: {MASTER_KEY}
  disable_spend_logs: true
  disable_error_logs: true
"""
    )
    return config


def litellm_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "DATABASE_URL", "REDIS_"))}
    env.update(LITELLM_LOG="ERROR", LITELLM_MODE="PRODUCTION", LITELLM_LOCAL_MODEL_COST_MAP="True")
    return env


def start_litellm(work: Path, venv: Path, config: Path, port: int, tag: str) -> procs.Service:
    started = time.monotonic()
    service = procs.start(
        "LiteLLM",
        [str(venv / "bin" / "litellm"), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
         "--num_workers", "1"],
        work / f"litellm-{tag}.log",
        env=litellm_env(),
    )
    service.startup_s = procs.wait_until_served(service, lambda: _http_ok(port, "bench-unary", MASTER_KEY), started, 180)
    return service


def _http_ok(port: int, model: str, bearer: str | None) -> bool:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError):
        return False


# -- the plan ---------------------------------------------------------------------------------


def systems_for(workload: Workload, env: Env) -> list[System]:
    out: list[System] = []
    if workload.kind == "paced":
        out += [System("direct", "paced", "direct"), System("ModelGate UDS", "paced", "modelgate")]
        if env.litellm is not None:
            out.append(System("LiteLLM", "paced", "litellm"))
        return out
    out += [
        System("direct", "raw", "direct"),
        System("ModelGate UDS", "raw", "modelgate"),
        System("ModelGate TCP", "raw", "modelgate"),
        System("ModelGate mock model, UDS", "raw", "mock"),
    ]
    if env.litellm is not None:
        out.append(System("LiteLLM", "raw", "litellm"))
    if env.py_openai is not None:
        out.append(System("direct, openai SDK", "python", "direct"))
        if env.litellm is not None:
            out.append(System("LiteLLM, openai SDK", "python", "litellm"))
    out += [System("ModelGate UDS, Python client", "python", "modelgate"),
            System("ModelGate TCP, Python client", "python", "modelgate")]
    if env.goload is not None:
        out += [System("direct, Go net/http", "go", "direct"),
                System("ModelGate UDS, Go client", "go", "modelgate"),
                System("ModelGate TCP, Go client", "go", "modelgate")]
    return out


def command_for(system: System, workload: Workload, env: Env, seconds: float, paced: dict[str, float]) -> list[str]:
    kind = workload.kind
    scenario = env.scenarios.for_kind(kind)
    model = {"direct": scenario, "modelgate": f"bench-{kind}", "litellm": f"bench-{kind}", "mock": "mock"}[system.via]
    http_port = env.litellm_port if system.via == "litellm" else env.upstream_port
    native = f"tcp://127.0.0.1:{env.tcp_port}" if "TCP" in system.name else f"unix://{env.unix}"
    bearer = ["--bearer", MASTER_KEY] if system.via == "litellm" else []
    bench = str(env.bins / "modelgate-bench")
    streaming = ["--streaming"] if kind == "stream" else []
    if system.family == "paced":
        target = f"http://127.0.0.1:{http_port}" if system.via != "modelgate" else native
        return [bench, "paced", "--target", target, "--model", model, *bearer, "--streams", str(workload.callers),
                "--tokens", str(env.scenarios.paced_tokens), "--first-ms", str(env.scenarios.first_ms),
                "--pace-ms", str(env.scenarios.pace_ms), "--ramp", str(paced["ramp"]), "--timeout", str(paced["timeout"])]
    if system.family == "raw":
        target = f"http://127.0.0.1:{http_port}" if system.via in ("direct", "litellm") else native
        tokens = "16" if kind == "unary" else "256"
        metadata = ["--metadata", f"mock-tokens={tokens}"] if system.via == "mock" else []
        return [bench, "measure", "--target", target, "--model", model, *bearer, *metadata, *streaming,
                "--callers", str(workload.callers), "--seconds", str(seconds)]
    if system.family == "python":
        if system.via == "modelgate":
            python, client, target = env.py_modelgate, "modelgate", native
        else:
            assert env.py_openai is not None
            python, client, target = env.py_openai, "openai", f"http://127.0.0.1:{http_port}/v1"
        return [python, str(HERE / "pyload.py"), "--client", client, "--target", target, "--model", model, *bearer,
                *streaming, "--callers", str(workload.callers), "--seconds", str(seconds)]
    assert env.goload is not None
    target = f"http://127.0.0.1:{http_port}/v1" if system.via == "direct" else native
    go_stream = ["-streaming"] if kind == "stream" else []
    return [str(env.goload), "-target", target, "-model", model, *go_stream, "-callers", str(workload.callers),
            "-seconds", str(seconds)]


def measure(system: System, workload: Workload, env: Env, seconds: float, paced: dict[str, float]) -> dict[str, Any]:
    """One run of one system: the generator's figures plus the CPU and peak RSS of the system
    under test (``None`` for a direct call) and the fake upstream's CPU."""
    under_test = {"modelgate": env.gateway, "mock": env.gateway, "litellm": env.litellm}.get(system.via)
    argv = command_for(system, workload, env, seconds, paced)
    if under_test is not None:
        under_test.sample_rss()
    cpu_before = under_test.cpu() if under_test else 0.0
    upstream_before = env.upstream.cpu()
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + paced["timeout"] + 120)
    cpu = under_test.cpu() - cpu_before if under_test else None
    peak = under_test.stop_sampling() if under_test else None
    upstream_cpu = env.upstream.cpu() - upstream_before
    figures: dict[str, Any] = {}
    if completed.stdout.strip():
        figures = json.loads(completed.stdout.strip().splitlines()[-1])
    if completed.returncode != 0 or not figures:
        figures["failure"] = (completed.stderr.strip().splitlines() or [f"exit {completed.returncode}"])[-1][:300]
    return {"workload": workload.name, "system": system.name, "family": system.family, "via": system.via,
            "figures": figures, "cpu_s": cpu, "upstream_cpu_s": upstream_cpu, "peak_rss_mib": peak}


# -- main -------------------------------------------------------------------------------------


def versions(env: Env, venv: Path | None) -> dict[str, str]:
    def first_line(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    swift = first_line(["swift", "--version"])
    go = first_line(["go", "version"]).split()
    found = {
        "Swift": swift.split("version ", 1)[-1],
        "Python": platform.python_version() + " (" + platform.python_implementation() + ")",
        "Go": (go[2] if len(go) > 2 else "?") if env.goload else "not measured (Go client not built)",
    }
    if venv is not None and env.py_openai is not None:
        probe = "import importlib.metadata as m; print(m.version('litellm'), m.version('openai'))"
        litellm_version, _, openai_version = first_line([env.py_openai, "-c", probe]).partition(" ")
        found["LiteLLM"] = litellm_version
        found["openai SDK"] = openai_version
    return found


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "?")
    mem = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {
        "cpu": f"{os.cpu_count()} × {model}",
        "memory": f"{int(mem) / 2**20:.0f} GiB",
        "kernel": f"{platform.system()} {platform.release()}",
        "os": _os_name(),
    }


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "?"


def write_outputs(results: list[dict[str, Any]], context: report.Context, args: argparse.Namespace) -> None:
    markdown = report.markdown(results, context, plot=Path(args.plot).name if args.plot else None)
    if args.output:
        report.replace_generated_block(Path(args.output), markdown)
    else:
        print(markdown)
    if args.plot:
        Path(args.plot).write_text(report.svg(results))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="a few seconds: every code path once, nothing meaningful")
    ap.add_argument("--bins", default=str(REPO / ".build" / "release"), help="directory of the Swift binaries")
    ap.add_argument("--litellm-venv", help="LiteLLM's virtual environment (default: none, LiteLLM not measured)")
    ap.add_argument("--goload", help="the built Go load generator (default: none)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0, help="seconds per closed-loop run")
    ap.add_argument("--startups", type=int, default=3, help="start-up measurements per system")
    ap.add_argument("--paced-streams", default="1000,10000", help="stream counts of the paced workloads")
    ap.add_argument("--only", help="only workloads whose name contains this text")
    ap.add_argument("--output", help="Markdown file whose generated block is replaced")
    ap.add_argument("--plot", help="SVG file for the latency plot")
    ap.add_argument("--json", help="write every run's raw figures here")
    ap.add_argument("--command", default="bench/run.sh", help="the command to quote in the report")
    ap.add_argument("--render", metavar="JSON", help="measure nothing: rewrite --output and --plot from a --json file")
    args = ap.parse_args()
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        write_outputs(saved["results"], report.Context(**saved["context"]), args)
        return

    scenarios = Scenarios()
    paced = {"ramp": 2.0, "timeout": 30.0}
    if args.smoke:
        args.reps, args.seconds, args.startups = 1, 0.3, 1
        args.paced_streams = "20"
        scenarios.paced_tokens, scenarios.first_ms = 5, 20
        paced = {"ramp": 0.1, "timeout": 10.0}
    workloads = [
        Workload("unary, 1 caller", "unary", 1),
        Workload("unary, 64 callers", "unary", 64),
        Workload("256-token stream, 1 caller", "stream", 1),
        *(Workload(f"{n:,} paced streams", "paced", n) for n in map(int, args.paced_streams.split(","))),
    ]
    workloads = [w for w in workloads if args.only is None or args.only in w.name]

    load_before = os.getloadavg()
    started_at = time.time()
    bins = Path(args.bins)
    venv = Path(args.litellm_venv) if args.litellm_venv else None
    work = Path(tempfile.mkdtemp(prefix="mgsuite-", dir="/tmp"))
    unix = str(work / "gw.sock")
    tcp_port = procs.free_port()
    services: list[procs.Service] = []
    results: list[dict[str, Any]] = []
    try:
        upstream, upstream_port = start_upstream(work, bins)
        services.append(upstream)
        config = write_gateway_config(work, upstream_port, scenarios, unix, tcp_port)
        litellm_config = write_litellm_config(work, upstream_port, scenarios) if venv else None
        litellm_port = procs.free_port()
        starters: dict[str, Callable[[str], procs.Service]] = {
            "ModelGate": lambda tag: start_gateway(work, bins, config, unix, tag)}
        if venv and litellm_config:
            starters["LiteLLM"] = lambda tag: start_litellm(work, venv, litellm_config, litellm_port, tag)
        # Start-up, interleaved; the last start of each is the one measured afterwards.
        startup: dict[str, list[float]] = {name: [] for name in starters}
        running: dict[str, procs.Service] = {}
        for attempt in range(args.startups):
            for name, starter in starters.items():
                running[name] = service = starter(str(attempt))
                services.append(service)
                startup[name].append(service.startup_s)
                if attempt < args.startups - 1:
                    service.stop()
                    services.remove(service)
        gateway, litellm = running["ModelGate"], running.get("LiteLLM")
        env = Env(work, bins, scenarios, upstream, upstream_port, gateway, unix, tcp_port, litellm, litellm_port,
                  py_openai=str(venv / "bin" / "python") if venv else None,
                  goload=Path(args.goload) if args.goload else None, startup=startup)
        time.sleep(0.2 if args.smoke else 2)
        env.rest_rss = {"ModelGate": gateway.rss(), **({"LiteLLM": litellm.rss()} if litellm else {})}
        print(f"suite: start-up {startup}; RSS at rest {env.rest_rss}", file=sys.stderr)

        for workload in workloads:
            for idle in (gateway, litellm):
                if idle is not None:
                    idle.settle(limit_s=1 if args.smoke else 60)
            for rep in range(args.reps):
                for system in systems_for(workload, env):
                    result = measure(system, workload, env, args.seconds, paced)
                    result["rep"] = rep
                    results.append(result)
                    summary = result["figures"].get("failure") or report.one_line(result)
                    print(f"suite: {workload.name} | rep {rep + 1} | {system.name}: {summary}", file=sys.stderr)
                    if workload.kind == "paced" and result["via"] != "direct":
                        tested = gateway if result["via"] == "modelgate" else litellm
                        assert tested is not None
                        limit = 1 if args.smoke else 45
                        result["settle_s"] = settle_s = tested.settle(limit_s=limit)
                        if tested is litellm and settle_s >= limit and not args.smoke:
                            # Still serving streams whose clients are gone: it would take the
                            # cores from whatever is measured next. Start it afresh instead.
                            print(f"suite: LiteLLM still busy {settle_s:.0f} s after the run; restarting it",
                                  file=sys.stderr)
                            litellm.stop()
                            services.remove(litellm)
                            litellm = starters["LiteLLM"](f"restart-{rep}")
                            services.append(litellm)
                            env.litellm = litellm
                            result["restarted"] = True

        time.sleep(0.2 if args.smoke else 2)
        after_rss = {"ModelGate": gateway.rss(), **({"LiteLLM": litellm.rss()} if litellm else {})}
        load_after = os.getloadavg()
        context = report.Context(
            command=args.command, started=started_at, finished=time.time(), load_before=load_before,
            load_after=load_after, machine=machine(), versions=versions(env, venv), reps=args.reps,
            seconds=args.seconds, scenarios={"unary": scenarios.unary, "stream": scenarios.stream,
                                               "paced": scenarios.paced},
            paced=paced, startup=startup, rest_rss=env.rest_rss, after_rss=after_rss, smoke=args.smoke,
        )
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps({"context": context.__dict__, "results": results}, indent=1))
        write_outputs(results, context, args)
        failures = [r for r in results if "failure" in r["figures"] and r["via"] != "litellm"]
        if failures:
            raise SystemExit(f"suite: {len(failures)} runs failed, e.g. {failures[0]['system']}: "
                             f"{failures[0]['figures']['failure']}")
        shutil.rmtree(work, ignore_errors=True)
    finally:
        for service in reversed(services):
            service.stop()
        if work.exists():
            print(f"suite: logs kept in {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
