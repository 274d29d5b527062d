"""``ticketstream demo``: one simulated Tesco-scale day through the whole pipeline, then a report
from ClickHouse that is checked against the simulator's ground truth.

1. Set-up: a fresh private stack (Kafka, ClickHouse, Prometheus) in ``var/demo/stack`` on free
   ports (installing what is missing); a previous demo's stack there is stopped and deleted.
2. The services as child processes, each with its log in ``var/demo/run-*/logs``: the channel
   gateway, the stream workers (simulated SLA clock, the simulation's SLA policy), the outbound
   worker (replies go to a local stand-in for the platforms' send APIs) and the projector.
3. ``ticketstream.simulate.run`` sends a day of customers and agents through the gateway and the
   command API on a compressed simulated clock and returns its ground truth.
4. Wait until the pipeline has caught up (workers' and projector's lag 0), build the report,
   print it, write ``report.html``/``report.txt``/``ground-truth.json``, stop the services by
   pid (also on Ctrl-C or failure). The stack stays up for exploring; ``--down`` stops it.
Exit status 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from ticketstream.demo.platforms import Platforms
from ticketstream.demo.services import Service, ServiceError, stop_all, wait_ready
from ticketstream.devstack.stack import Stack, StackError
from ticketstream.report import Expected, build_report, fetch, render_html, render_text
from ticketstream.report.model import Check, Endpoint
from ticketstream.settings import ENV_PREFIX, REPO_ROOT, Settings

DEMO_DIR = REPO_ROOT / "var" / "demo"
SETTINGS_FILE = "stack-settings.json"
PROJECTOR_GROUP = "ticketstream-projector"  # ProjectionSettings.projections_group default


class DemoError(Exception):
    """The demo could not run to its report; the message says what failed and where to look."""


# ---------------------------------------------------------------------------------- the stack
def demo_stack_settings(root: Path) -> Settings:
    """Settings of a fresh demo stack under ``root`` (every port picked free)."""
    from ticketstream.devstack.testing import private_stack_settings

    return private_stack_settings(root, prometheus_scrape_interval="5s")


def previous_stack(root: Path) -> Stack | None:
    """The stack a previous demo left under ``root`` (from its saved settings), if any."""
    path = root / SETTINGS_FILE
    if not path.exists():
        return None
    try:
        return Stack(Settings(**json.loads(path.read_text())), log=lambda _m: None)
    except (ValueError, TypeError):
        return None


KEEP_RUNS = 3  # earlier runs' directories (logs, reports, worker state) are deleted


def _delete_old_stacks(root: Path) -> None:
    for path in root.glob(".old-stack-*"):
        shutil.rmtree(path, ignore_errors=True)
    for path in sorted(root.glob("run-*"))[:-KEEP_RUNS]:
        shutil.rmtree(path, ignore_errors=True)


def fresh_stack(root: Path, out: Callable[[str], None]) -> Stack:
    """Stop and delete the previous demo stack under ``root``; start a new one."""
    old = previous_stack(root)
    if old is not None:
        stopped = old.down()
        if stopped:
            out(f"  stopped the previous demo stack ({', '.join(stopped)})")
    root.mkdir(parents=True, exist_ok=True)
    if (root / "stack").exists():  # ClickHouse's many small files: delete in the background
        (root / "stack").rename(root / f".old-stack-{time.time_ns()}")
    threading.Thread(target=_delete_old_stacks, args=(root,), daemon=True).start()
    settings = demo_stack_settings(root)
    (root / SETTINGS_FILE).write_text(json.dumps(settings.model_dump(mode="json"), indent=2))
    stack = Stack(settings)
    for name, what in stack.up().items():
        out(f"  {name:<11} {what}")
    return stack


def settings_env(settings: Settings) -> dict[str, str]:
    """``TICKETSTREAM_*`` variables that point a child process at ``settings``' stack."""
    return {
        ENV_PREFIX + k.upper(): str(v)
        for k, v in settings.model_dump(mode="json").items()
        if v is not None
    }


# ------------------------------------------------------------------------------- the services
@dataclass(frozen=True)
class Secrets:
    """Per-run channel secrets and tokens (the gateway's and the simulator's copy agree)."""

    line: str
    meta: str
    telegram: str
    dingtalk: str
    wechat: str
    api: str
    api_token: str

    @classmethod
    def generate(cls) -> Secrets:
        return cls(*(secrets.token_hex(16) for _ in range(7)))

    def env(self, platforms_url: str) -> dict[str, str]:
        """Connector settings: inbound secrets, and outbound tokens/bases to the stand-in."""
        values = {
            "LINE_CHANNEL_SECRET": self.line,
            "LINE_CHANNEL_ACCESS_TOKEN": "demo-line-token",
            "LINE_API_BASE": platforms_url,
            "META_APP_SECRET": self.meta,
            "META_VERIFY_TOKEN": "demo-verify",
            "META_PAGE_ACCESS_TOKEN": "demo-page-token",
            "WHATSAPP_ACCESS_TOKEN": "demo-wa-token",
            "GRAPH_API_BASE": platforms_url,
            "TELEGRAM_SECRET_TOKEN": self.telegram,
            "TELEGRAM_BOT_TOKEN": "123456:demo",
            "TELEGRAM_API_BASE": platforms_url,
            "DINGTALK_APP_KEY": "demo-dingtalk",
            "DINGTALK_APP_SECRET": self.dingtalk,
            "DINGTALK_API_BASE": platforms_url,
            "WECHAT_TOKEN": self.wechat,
            "WECHAT_APP_ID": "wxdemo",
            "WECHAT_APP_SECRET": "demo-wechat-secret",
            "WECHAT_API_BASE": platforms_url,
            "API_SECRET": self.api,
            "API_CALLBACK_URL": f"{platforms_url}/callback",
            "OUTBOUND_BACKOFF_SECONDS": "0.2",
        }
        return {ENV_PREFIX + k: v for k, v in values.items()}


def plan_services(
    settings: Settings,
    run_dir: Path,
    env: dict[str, str],
    *,
    workers: int,
    worker_ports: list[int],
    outbound_port: int | None = None,
) -> list[Service]:
    """The demo's child processes, in start order (stopped in reverse)."""
    from ticketstream.devstack.procs import free_port

    logs = run_dir / "logs"
    out = [
        Service(
            "projector",
            ["projections", "run"],
            env,
            logs / "projector.log",
            ready_url=f"http://127.0.0.1:{settings.projector_metrics_port}/metrics",
        )
    ]
    for i in range(workers):
        port = worker_ports[i]
        out.append(
            Service(
                f"worker-{i + 1}",
                ["worker", "--loglevel", "info"],
                {
                    **env,
                    ENV_PREFIX + "WORKER_WEB_PORT": str(port),
                    ENV_PREFIX + "STREAMS_DATADIR": str(run_dir / f"worker-{i + 1}"),
                },
                logs / f"worker-{i + 1}.log",
                ready_url=f"http://127.0.0.1:{port}/metrics",
                ready_log="[^Worker]: Ready",
            )
        )
    # Its /metrics port (default 9467) is picked free: a second run on the machine (a demo
    # beside a scale run) would otherwise fail to bind it and the outbound worker would exit.
    outbound_env = {
        **env,
        ENV_PREFIX + "OUTBOUND_METRICS_PORT": str(outbound_port or free_port()),
        # simulated time: the platforms' windows are judged at each reply's event time, not the
        # wall clock (days after the simulated dates: every WhatsApp reply failed the 24-hour rule)
        ENV_PREFIX + "OUTBOUND_CLOCK": "event",
    }
    out.append(Service("outbound", ["gateway", "outbound"], outbound_env, logs / "outbound.log"))
    out.append(
        Service(
            "gateway",
            ["gateway", "serve", "--port", str(settings.gateway_port)],
            env,
            logs / "gateway.log",
            ready_url=f"http://127.0.0.1:{settings.gateway_port}/healthz",
        )
    )
    return out


def scrape_as_worker(stack: Stack, name: str, port: int) -> None:
    """Let Prometheus scrape an extra worker under job ``worker`` (what the rules select on);
    the stack's static config knows only the first worker's port."""
    stack.targets_dir.mkdir(parents=True, exist_ok=True)
    target = [{"targets": [f"127.0.0.1:{port}"], "labels": {"job": "worker"}}]
    (stack.targets_dir / f"{name}.json").write_text(json.dumps(target))


def endpoints_of(settings: Settings, worker_ports: list[int]) -> list[Endpoint]:
    eps = [Endpoint("gateway /metrics", f"http://127.0.0.1:{settings.gateway_port}/metrics")]
    eps += [
        Endpoint(f"worker-{i + 1} /metrics", f"http://127.0.0.1:{p}/metrics")
        for i, p in enumerate(worker_ports)
    ]
    eps.append(
        Endpoint(
            "projector /metrics", f"http://127.0.0.1:{settings.projector_metrics_port}/metrics"
        )
    )
    eps.append(Endpoint("Prometheus", settings.prometheus_url))
    eps.append(
        Endpoint(
            "ClickHouse (SQL, read-only)",
            f"clickhouse-client --port {settings.clickhouse_port} --user "
            f"{settings.clickhouse_analyst_user} --password {settings.clickhouse_analyst_password} "
            f"--database {settings.clickhouse_database}",
        )
    )
    return eps


# ------------------------------------------------------------------------------ the catch-up
def group_lag(bootstrap: str, group: str) -> int | None:
    """Records the consumer group has not committed yet, over every partition it committed on
    (None when it has committed nothing or Kafka could not be read)."""
    import re

    from ticketstream.observability.lag import KafkaLagReader

    reader = KafkaLagReader(bootstrap, group_pattern=re.escape(group))
    try:
        snap = reader.read()
    finally:
        reader.close()
    if not snap.ok or not snap.lags:
        return None
    return sum(p.lag for p in snap.lags)


COUNTS_SQL = (
    "SELECT (SELECT count() FROM tickets FINAL), (SELECT uniqExact(ticket_id, metric, "
    "sla_instance) FROM events WHERE event_type = 'SlaBreached')"
)


def wait_caught_up(
    engine: Any,
    bootstrap: str,
    want: tuple[int, int],
    *,
    timeout: float,
    settle: float = 30.0,
    out: Callable[[str], None] = print,
) -> tuple[tuple[int, int], float, bool]:
    """Wait until the stream workers and the projector have committed everything (consumer
    lag 0 for both groups) and ClickHouse's (tickets, breaches) have not changed for 2 s, or
    until nothing has moved (counts and lags alike) for ``settle`` s.
    Returns (the last counts, seconds waited, whether it caught up before ``timeout``)."""
    from streams.settings import load_streams_settings

    worker_group = load_streams_settings().streams_app_id  # the workers' consumer group
    t0 = time.monotonic()
    last: tuple[int, int, int | None, int | None] | None = None
    since = t0
    while True:
        row = engine.execute(COUNTS_SQL)[0]
        counts = (int(row[0]), int(row[1]))
        workers = group_lag(bootstrap, worker_group)
        projector = group_lag(bootstrap, PROJECTOR_GROUP)
        now = time.monotonic()
        state = (*counts, workers, projector)
        if state != last:
            last, since = state, now
            out(
                f"    ClickHouse: {counts[0]:,} tickets, {counts[1]:,} breaches "
                f"(simulator: {want[0]:,}, {want[1]:,}); lag: workers {workers}, "
                f"projector {projector}"
            )
        steady = now - since
        if workers == 0 and projector == 0 and steady >= 2.0:
            return counts, now - t0, True
        if steady >= settle or now - t0 > timeout:
            return counts, now - t0, False
        time.sleep(1.0)


# ---------------------------------------------------------------------------- the simulation
def expected_of(truth: Any) -> Expected:
    """The report's view of the simulator's ``GroundTruth`` (ticketstream.simulate.truth)."""
    return Expected(
        tickets=int(truth.tickets_opened),
        tickets_by_channel={str(k): int(v) for k, v in truth.tickets_by_channel.items()},
        messages=int(truth.messages_sent),
        breaches={
            (str(m), str(p)): int(n) for m, per in truth.breaches.items() for p, n in per.items()
        },
        start=truth.sim_start,
        end=truth.sim_end,
    )


def progress_printer(out: Callable[[str], None]) -> Callable[[float, str, dict[str, int]], None]:
    """Progress lines at every 5 % (a bar in place when the output is a terminal)."""
    tty = sys.stdout.isatty()
    state = {"next": 0.0, "t0": time.monotonic()}

    def progress(done: float, sim_now: str, counters: dict[str, int]) -> None:
        summary = ", ".join(f"{k} {v:,}" for k, v in sorted(counters.items())[:6])
        line = (
            f"    [{'#' * int(done * 30):<30}] {100 * done:5.1f}%  sim {sim_now[:16]}  "
            f"{time.monotonic() - state['t0']:5.0f} s  {summary}"
        )
        if tty:
            sys.stdout.write("\r" + line[:160])
            sys.stdout.flush()
            if done >= 1.0:
                sys.stdout.write("\n")
        elif done >= state["next"] or done >= 1.0:
            out(line)
            state["next"] = done + 0.05

    return progress


# ---------------------------------------------------------------------------------- the demo
@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C, so the cleanup below runs either way."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_demo(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    """The whole demo (see the module docstring); returns the exit status."""
    import logging

    logging.getLogger("kafka").setLevel(logging.ERROR)
    root = Path(args.dir)
    t0 = time.monotonic()
    out("ticketstream demo: one simulated Tesco-scale day through the whole pipeline")
    out("· set-up: the stack (installs what is missing on the first run)")
    try:
        stack = fresh_stack(root, out)
    except StackError as exc:
        out(f"ticketstream demo: the stack did not start: {exc}")
        return 1
    setup_seconds = time.monotonic() - t0
    out(f"  set-up took {setup_seconds:.1f} s")
    t1 = time.monotonic()
    run_dir = root / f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    run_dir.mkdir(parents=True)
    services: list[Service] = []
    with _terminate_as_interrupt(), Platforms() as platforms:
        try:
            status = _run(args, stack, run_dir, services, platforms, t1, setup_seconds, out)
        except KeyboardInterrupt:
            out("\nticketstream demo: interrupted; stopping the services")
            status = 130
        except (DemoError, ServiceError, StackError) as exc:
            out(f"ticketstream demo: {exc}")
            status = 1
        finally:
            stop_all(list(reversed(services)))
            for s in services:
                (stack.targets_dir / f"demo-{s.name}.json").unlink(missing_ok=True)
    out(
        f"The stack stays up for exploring (Prometheus {stack.settings.prometheus_url}); "
        "stop it with `ticketstream demo --down`."
    )
    return status


@dataclass
class Pipeline:
    """The running services of one run: what the simulator and the report need to reach them."""

    stack: Stack
    run_dir: Path
    services: list[Service]
    worker_ports: list[int]
    endpoints: list[Endpoint]  # for people: /metrics, Prometheus, ClickHouse
    sim: Any  # ticketstream.simulate.Endpoints: where the simulator sends its load


def start_pipeline(
    stack: Stack,
    run_dir: Path,
    services: list[Service],
    platforms: Platforms,
    *,
    workers: int,
    start_timeout: float,
    out: Callable[[str], None] = print,
) -> Pipeline:
    """Create the topics and start the projector, ``workers`` stream workers (simulated SLA
    clock, the simulation's SLA policy, a per-run admin token), the outbound worker (replies to
    ``platforms``) and the gateway (per-run secrets); return once all answer. Each started
    service is appended to ``services`` as it starts, so the caller stops them (by pid) even
    when this raises."""
    from ticketstream.devstack.procs import free_port

    try:
        from ticketstream.simulate import Endpoints, policy_yaml
        from ticketstream.simulate.config import secrets_of
    except ImportError as exc:
        raise DemoError(f"the simulator (ticketstream.simulate) is not available: {exc}") from None
    from connectors.settings import ConnectorSettings

    settings = stack.settings
    keys = Secrets.generate()
    policy = run_dir / "sla-policy.yml"
    policy.write_text(policy_yaml())
    env = {
        **settings_env(settings),
        **keys.env(platforms.base_url),
        ENV_PREFIX + "SLA_CLOCK": "simulated",
        ENV_PREFIX + "SLA_POLICIES_PATH": str(policy),
        ENV_PREFIX + "STREAMS_API_TOKENS": f"{keys.api_token}:admin",
    }
    # Every topic with the workers' partition count before anything produces or subscribes: a
    # topic auto-created by the gateway or the projector would get the broker's default (1) and
    # the workers' tables would not match it (faust PartitionsMismatch).
    from streams.settings import load_streams_settings
    from streams.topics_admin import ensure_topics

    ensure_topics(settings, load_streams_settings())
    worker_ports = [settings.worker_web_port] + [free_port() for _ in range(workers - 1)]
    out(f"· services (logs in {run_dir / 'logs'})")
    planned = plan_services(settings, run_dir, env, workers=workers, worker_ports=worker_ports)
    for s in planned:
        services.append(s.start())
        out(f"  {s.name:<10} pid {s.pid}")
        if s.name == "projector":  # migrations first, so the workers' topics meet a ready table
            wait_ready([s], timeout=120, out=out)
    wait_ready(services, timeout=start_timeout, out=out)
    for i, port in enumerate(worker_ports[1:], start=2):
        scrape_as_worker(stack, f"demo-worker-{i}", port)
    endpoints = endpoints_of(settings, worker_ports)
    out("  all services answer; while it runs:")
    for e in endpoints:
        out(f"    {e.name:<28} {e.url}")
    connector = ConnectorSettings.model_validate(
        {k[len(ENV_PREFIX) :].lower(): v for k, v in keys.env(platforms.base_url).items()}
    )
    sim = Endpoints(
        gateway_url=f"http://127.0.0.1:{settings.gateway_port}",
        api_url=f"http://127.0.0.1:{worker_ports[0]}",
        api_token=keys.api_token,
        kafka_bootstrap=settings.kafka_bootstrap,
        secrets=secrets_of(connector),
    )
    return Pipeline(stack, run_dir, services, worker_ports, endpoints, sim)


def _run(
    args: argparse.Namespace,
    stack: Stack,
    run_dir: Path,
    services: list[Service],
    platforms: Platforms,
    t1: float,
    setup_seconds: float,
    out: Callable[[str], None],
) -> int:
    try:
        from ticketstream.simulate import SimConfig
        from ticketstream.simulate import run as simulate
    except ImportError as exc:
        raise DemoError(f"the simulator (ticketstream.simulate) is not available: {exc}") from None
    from projections.service import open_engine

    settings = stack.settings
    pipeline = start_pipeline(
        stack,
        run_dir,
        services,
        platforms,
        workers=args.workers,
        start_timeout=args.start_timeout,
        out=out,
    )
    endpoints = pipeline.endpoints
    config = SimConfig(
        preset="tesco",
        days=args.days,
        compression=args.compression,
        seed=args.seed,
        tickets_per_week=args.tickets_per_week,
    )
    ep = pipeline.sim
    out(
        f"· simulating {args.days:g} day(s) of the tesco preset "
        + ("" if args.tickets_per_week is None else f"at {args.tickets_per_week:,} tickets/week ")
        + f"(≈{config.weekly_volume * args.days / 7:,.0f} tickets) at {args.compression:g}x "
        f"(≈{args.days * 86400 / args.compression / 60:.1f} min)"
    )
    t_sim = time.monotonic()
    try:
        truth = simulate(config, ep, progress_printer(out))
    except ImportError as exc:  # the simulator's driver has not landed
        raise DemoError(f"the simulator cannot run: {exc}") from None
    sim_seconds = time.monotonic() - t_sim
    (run_dir / "ground-truth.json").write_text(truth.to_json())
    expected = expected_of(truth)
    out(
        f"  sent {expected.tickets:,} tickets, {expected.messages:,} customer messages in "
        f"{sim_seconds:.0f} s; ground truth: {run_dir / 'ground-truth.json'}"
    )
    for s in services:
        s.check_alive()

    out("· waiting for ClickHouse to catch up")
    engine = open_engine(settings, settings.clickhouse_database)
    try:
        want = (expected.tickets, sum(expected.breaches.values()))
        _, waited, settled = wait_caught_up(
            engine, settings.kafka_bootstrap, want, timeout=args.catch_up_timeout, out=out
        )
        out(f"  {'caught up' if settled else 'gave up waiting'} after {waited:.0f} s")
        rows = fetch(engine)
    finally:
        engine.close()

    total = time.monotonic() - t1
    notes = [
        f"set-up {setup_seconds:.0f} s; demo after set-up {total:.0f} s "
        f"(simulation {sim_seconds:.0f} s, catch-up {waited:.0f} s)",
        f"simulator: {truth.messages_sent:,} customer messages, {truth.agent_replies:,} agent "
        f"replies, {truth.unconfirmed:,} unconfirmed actions, HTTP errors "
        f"{dict(truth.http_errors) or 'none'}",
        f"outbound: {platforms.deliveries:,} replies delivered to the platforms' send APIs",
    ]
    effective = getattr(truth, "effective_compression", 0.0)
    if effective:
        notes.append(
            f"simulated clock ran at {effective:.0f}x (asked {args.compression:g}x); it waited "
            f"{getattr(truth, 'paused_seconds', 0.0):.0f} s for the pipeline"
        )
    if not settled:
        notes.append(
            f"the workers and the projector had not caught up after {waited:.0f} s "
            "(consumer lag above 0): the report shows what ClickHouse held then"
        )
    caught_up = Check(
        "pipeline caught up: workers' and projector's consumer lag 0",
        "0",
        "0" if settled else f"above 0 after {waited:.0f} s",
        settled,
    )
    report = build_report(
        rows,
        expected,
        generated_at=datetime.now(UTC),
        endpoints=endpoints,
        notes=notes,
        checks=[caught_up],
    )
    text = render_text(report)
    (run_dir / "report.txt").write_text(text)
    html_path = run_dir / "report.html"
    html_path.write_text(render_html(report))
    shutil.copyfile(html_path, run_dir.parent / "report.html")
    out("")
    out(text)
    out(f"Report: {html_path} (also {run_dir.parent / 'report.html'})")
    if args.keep_running:
        out("Services keep running (--keep-running); Ctrl-C stops them.")
        while True:
            for s in services:
                s.check_alive()
            time.sleep(1)
    return 0 if report.ok else 1


def report_only(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    """Rebuild the latest run's report from the demo stack's ClickHouse and that run's saved
    ground truth (the stack must still be up); same checks, same exit status."""
    from types import SimpleNamespace

    from projections.service import open_engine

    root = Path(args.dir)
    stack = previous_stack(root)
    runs = sorted(root.glob("run-*"))  # the latest run is the one on the current stack
    if stack is None or not runs:
        out("ticketstream demo: no demo run to report on; run the demo first")
        return 1
    run_dir = runs[-1]
    if not (run_dir / "ground-truth.json").exists():
        out(f"ticketstream demo: the latest run ({run_dir}) has no ground truth: it did not finish")
        return 1
    data = json.loads((run_dir / "ground-truth.json").read_text())
    data["sim_start"] = datetime.fromisoformat(data["sim_start"])
    data["sim_end"] = datetime.fromisoformat(data["sim_end"])
    settings = stack.settings
    engine = open_engine(settings, settings.clickhouse_database)
    try:
        rows = fetch(engine)
    except Exception as exc:  # any driver error: the stack is down or the database is gone
        out(f"ticketstream demo: cannot read the demo's ClickHouse ({exc}); is its stack up?")
        return 1
    finally:
        engine.close()
    report = build_report(
        rows,
        expected_of(SimpleNamespace(**data)),
        generated_at=datetime.now(UTC),
        endpoints=endpoints_of(settings, [settings.worker_web_port]),
        notes=[f"re-rendered from {run_dir} (ticketstream demo --report-only)"],
    )
    text = render_text(report)
    (run_dir / "report.txt").write_text(text)
    (run_dir / "report.html").write_text(render_html(report))
    shutil.copyfile(run_dir / "report.html", root / "report.html")
    out(text)
    out(f"Report: {run_dir / 'report.html'}")
    return 0 if report.ok else 1


def down(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    """Stop the demo's stack (only the processes in its pid files)."""
    old = previous_stack(Path(args.dir))
    if old is None:
        out("ticketstream demo: no demo stack to stop")
        return 0
    stopped = old.down()
    out(f"ticketstream demo: stopped {', '.join(stopped) or 'nothing (not running)'}")
    return 0
