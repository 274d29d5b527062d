"""``ticketstream simulate``: run the support-org model against a running gateway and workers."""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="drive simulated customers and agents through the gateway and command API",
        description="Simulate a support org (seeded) against running services; writes the "
        "ground truth as JSON. Needs an admin API token and the gateway's channel secrets "
        "(TICKETSTREAM_* settings). Run the workers with TICKETSTREAM_SLA_CLOCK=simulated.",
    )
    p.add_argument("--preset", choices=("tesco", "x10", "x100"), default="tesco")
    p.add_argument("--days", type=float, default=1.0, help="simulated days (default 1)")
    p.add_argument(
        "--compression",
        type=float,
        default=1000.0,
        help="simulated seconds per wall second (default 1000: a day in ~86 s)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", default=None, help="simulated start, ISO-8601 with zone")
    p.add_argument("--tickets-per-week", type=int, default=None, help="override the preset")
    p.add_argument("--gateway-url", default=None, help="default http://127.0.0.1:<gateway port>")
    p.add_argument("--api-url", default=None, help="default http://127.0.0.1:<worker web port>")
    p.add_argument(
        "--token",
        default=os.environ.get("TICKETSTREAM_SIMULATE_TOKEN", ""),
        help="admin API token (default $TICKETSTREAM_SIMULATE_TOKEN)",
    )
    p.add_argument("--topic-prefix", default="", help="the workers' topic prefix")
    p.add_argument(
        "--streams-group",
        default=None,
        help="the workers' consumer group (default TICKETSTREAM_STREAMS_APP_ID): SLA ticks wait "
        "for the workers to commit past the ticket events before them",
    )
    p.add_argument("--max-in-flight", type=int, default=64, help="concurrent HTTP requests")
    p.add_argument("--run-tag", default="", help="hex tag mixed into ids (rerun on one stack)")
    p.add_argument("--no-sla-policy", action="store_true", help="keep the workers' SLA policy")
    p.add_argument("--no-ticks", action="store_true", help="do not produce SLA ticks")
    p.add_argument("--presence", action="store_true", help="send agent presence at shift changes")
    p.add_argument("--out", default=None, help="write the ground truth JSON here")
    p.add_argument("--plan-only", action="store_true", help="only run the model (no I/O)")
    p.add_argument(
        "--self-check",
        action="store_true",
        help="run on a private stack of its own (Kafka, ClickHouse, a worker, a gateway) and "
        "compare the SLA engine's breaches with the ground truth",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ticketstream.simulate import Endpoints, SimConfig, SimConfigError
    from ticketstream.simulate import run as simulate
    from ticketstream.simulate.config import DEFAULT_START

    try:
        start = DEFAULT_START if args.start is None else datetime.fromisoformat(args.start)
        config = SimConfig(
            preset=args.preset,
            days=args.days,
            compression=args.compression,
            seed=args.seed,
            start=start,
            tickets_per_week=args.tickets_per_week,
            max_in_flight=args.max_in_flight,
            configure_sla_policy=not args.no_sla_policy,
            produce_sla_ticks=not args.no_ticks,
            agent_presence=args.presence,
            run_tag=args.run_tag,
        )
    except (SimConfigError, ValueError) as exc:
        print(f"ticketstream simulate: {exc}", file=sys.stderr)
        return 2
    if args.plan_only:
        return plan_only(config)
    if args.self_check:
        return self_check(config, args.out)
    from ticketstream.settings import load_settings

    core = load_settings()
    if not args.token:
        print("ticketstream simulate: give an admin API token (--token)", file=sys.stderr)
        return 2
    from streams.settings import StreamsSettings

    group = args.streams_group or StreamsSettings().streams_app_id
    endpoints = Endpoints.from_settings(
        args.gateway_url or f"http://127.0.0.1:{core.gateway_port}",
        args.api_url or f"http://127.0.0.1:{core.worker_web_port}",
        args.token,
        topic_prefix=args.topic_prefix,
        streams_group=group,
    )
    from ticketstream.simulate import SimulationError

    try:
        truth = simulate(config, endpoints, progress=ProgressBar())
    except SimulationError as exc:
        print(f"\nticketstream simulate: {exc}", file=sys.stderr)
        return 1
    print()
    text = truth.to_json()
    if args.out:
        Path(args.out).write_text(text)
        print(f"ground truth written to {args.out}")
    print(
        f"tickets {truth.tickets_opened}, messages {truth.messages_sent}, "
        f"commands {sum(truth.commands_sent.values())}, wall {truth.wall_seconds:.1f} s, "
        f"errors {truth.http_errors or 0}, unconfirmed {truth.unconfirmed}"
    )
    print("breaches:", {m: v for m, v in truth.breaches.items()})
    return 0


def plan_only(config: object) -> int:
    """Generate the run's tickets without sending them: volumes and the model's own speed."""
    from ticketstream.simulate.config import SimConfig
    from ticketstream.simulate.driver import timeline_of
    from ticketstream.simulate.model import Model
    from ticketstream.simulate.truth import GroundTruth, compute, policy_yaml

    assert isinstance(config, SimConfig)
    t0 = time.perf_counter()
    model = Model(config)
    timelines = []
    actions = 0
    by_kind: dict[str, int] = {}
    for t in model.tickets():
        timelines.append(timeline_of(t, config.end))
        for a in t.actions:
            if a.at < config.end:
                actions += 1
                by_kind[a.kind] = by_kind.get(a.kind, 0) + 1
    elapsed = time.perf_counter() - t0
    truth = GroundTruth(
        config.preset, config.seed, config.start, config.end, config.compression, policy_yaml()
    )
    compute(truth, timelines)
    print(
        f"{config.preset} × {config.days:g} d from {config.start.isoformat()}: "
        f"{truth.tickets_opened} tickets (expected {model.expected_tickets():.0f}), "
        f"{actions} actions {dict(sorted(by_kind.items()))}, {len(model.agents)} agents"
    )
    print("by channel:", truth.tickets_by_channel)
    print("breaches:", truth.breaches)
    print(f"model: {elapsed:.2f} s, {len(timelines) / elapsed:,.0f} tickets/s")
    return 0


class ProgressBar:
    """A one-line progress bar on stderr: simulated instant, counts, backlog."""

    def __init__(self, width: int = 30) -> None:
        self.width = width
        self.started = time.monotonic()

    def __call__(self, done: float, sim_now: str, counters: dict[str, int]) -> None:
        filled = int(done * self.width)
        bar = "█" * filled + "·" * (self.width - filled)
        extra = " ".join(f"{k} {v}" for k, v in counters.items())
        wall = time.monotonic() - self.started
        sys.stderr.write(f"\r[{bar}] {done:6.1%} {sim_now[:19]} {extra} ({wall:.0f} s)  ")
        sys.stderr.flush()


def self_check(config: object, out: str | None) -> int:
    """``--self-check``: the run on a private stack, then truth vs the SLA engine."""
    import json

    from ticketstream.simulate.verify import nonzero
    from ticketstream.simulate.verify import self_check as check

    result = check(config, progress=ProgressBar())
    t = result.truth
    print()
    if out:
        Path(out).write_text(t.to_json())
    summary = {
        "preset": t.preset,
        "sim_start": t.sim_start.isoformat(),
        "sim_end": t.sim_end.isoformat(),
        "tickets": t.tickets_opened,
        "messages": t.messages_sent,
        "commands": sum(t.commands_sent.values()),
        "wall_seconds": t.wall_seconds,
        "effective_compression": t.effective_compression,
        "requests_per_second": round(
            (t.messages_sent + sum(t.commands_sent.values())) / max(t.wall_seconds, 1e-9), 1
        ),
        "http_errors": t.http_errors,
        "unconfirmed": t.unconfirmed,
        "rejections": t.rejections,
        "breaches_truth": nonzero(t.breaches),
        "breaches_engine": result.engine,
        "load_average_before": result.load_before,
        "load_average_after": result.load_after,
        "ok": result.ok,
    }
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    return 0 if result.ok else 1
