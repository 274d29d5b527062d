"""Benchmark: assignment latency with a large waiting queue — the router (current) against the
router before per-bucket queues (commit df638cb: a scan of every waiting ticket per batch),
same events, same run, in-process (the domain code, the changed rows pickled as the agent
writes them, the queue gauges as the agent computes them; no broker).

For each queue length in ``--waiting`` (default 2,000, 10,000 and 20,000 web-chat tickets
waiting, each with its first-reply timer) and each feed batch size in ``--batches`` (default
10: what the worker's router was handed per take under load, 6–29 records; and 500: a full
take):
- steady batch: a batch of new tickets (TicketOpened + SlaTimerStarted each) while nobody has a
  free seat — time per batch;
- assignment latency: a backlog of ``--backlog`` feed records (default 2,000: 1,000 new
  tickets) followed by an agent coming online with one Telegram and one web-chat seat; the
  one Telegram ticket waits at the end of the queue. Time from the first batch of the backlog
  to the batch that assigns the Telegram ticket: what the router adds to that agent's wait.

    flock /work/team/bench.lock .venv/bin/python -m bench.bench_routing
writes bench/results/routing.{json,md}.

``--worker BOOTSTRAP`` instead runs the whole pipeline once (a diagnosis, no baseline, nothing
written): a worker process with every agent on one-partition topics of the Kafka broker at
BOOTSTRAP, ``--tickets`` web-chat conversations and then one Telegram one produced to the
channel messages topic, an agent coming online through the command API right after (one
Telegram and one web-chat seat); it prints, every 3 s, what the queue endpoint shows her and
the consumer group's lag per topic, until she holds the Telegram ticket (or 400 s pass).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
import types
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from schemas.records import (
    AgentCapacityChanged,
    AgentPresence,
    Channel,
    Priority,
    SlaMetric,
    SlaTimerStarted,
)
from streams.domain import router as new_router
from streams.domain import routing as new_routing
from tests.unit.streams.routing_feed import T0, env, opened, presence, skills

BASELINE_COMMIT = "df638cb"  # the last router that read the whole waiting queue per batch
RESULTS = Path(__file__).parent / "results"
ANN = "ann"


def _old_modules() -> tuple[Any, Any]:
    """The baseline routing/router modules, loaded from git under private names."""
    root = Path(__file__).resolve().parent.parent
    mods = []
    for name in ("routing", "router"):
        src = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:streams/domain/{name}.py"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        src = src.replace("from streams.domain import routing as r", "import old_routing as r")
        mod = types.ModuleType(f"old_{name}")
        sys.modules[f"old_{name}"] = mod
        exec(compile(src, f"{BASELINE_COMMIT}:{name}.py", "exec"), mod.__dict__)
        mods.append(mod)
    return mods[0], mods[1]


def _ticket(tid: str, minute: float, channel: Channel = Channel.WEBCHAT) -> list[Any]:
    due = T0 + timedelta(minutes=minute + 60)
    return [
        opened(tid, minute, channel, Priority.NORMAL),
        SlaTimerStarted(
            env(tid, minute, "sla"), tid, SlaMetric.FIRST_REPLY_TIME, 1, "p", Priority.NORMAL,
            3600, False, due,
        ),
    ]  # fmt: skip


def _ann_online(minute: float) -> list[Any]:
    cap = {"telegram": 1, "webchat": 1}
    return [
        AgentCapacityChanged(env(ANN, minute, "cap"), ANN, cap),
        skills(ANN, minute, channels=(Channel.TELEGRAM, Channel.WEBCHAT)),
        presence(ANN, AgentPresence.ONLINE, minute),
    ]


def _gauges_old(state: Any) -> None:  # the agent's gauges before: a count over the queue
    counts: dict[tuple[str, str], int] = {}
    for w in state.waiting:
        label = (w.group or "none", w.priority.value)
        counts[label] = counts.get(label, 0) + 1


def _gauges_new(state: Any) -> None:  # the agent's gauges now: counts kept by the state
    counts: dict[tuple[str, str], int] = {}
    for (group, priority), n in state.waiting_counts().items():
        label = (group or "none", priority.value)
        counts[label] = counts.get(label, 0) + n


class Router:
    """One implementation as the agent runs it: decide a batch, pickle the changed rows, set
    the gauges."""

    def __init__(self, routing: Any, router: Any, gauges: Callable[[Any], None]) -> None:
        self.routing, self.router, self.gauges = routing, router, gauges
        self.state = routing.RoutingState()
        self.policy = routing.ReassignPolicy()
        self.strategy = routing.Strategy.LEAST_LOADED

    def batch(self, events: list[Any]) -> list[Any]:
        out = self.router.on_events(self.state, events, self.policy, self.strategy)
        for _, row in self.state.take_changes():
            if row is not None:
                pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL)
        self.gauges(self.state)
        return list(out)


def _fill(r: Router, waiting: int) -> None:
    """``waiting`` web-chat tickets and the Telegram ticket behind them, nobody online."""
    events = [e for n in range(waiting) for e in _ticket(f"W{n:06}", n / 1000)]
    events += _ticket("TG", waiting / 1000 + 1, Channel.TELEGRAM)
    for i in range(0, len(events), 500):
        r.batch(events[i : i + 500])


def measure(make: Callable[[], Router], waiting: int, size: int, backlog: int) -> dict[str, Any]:
    r = make()
    _fill(r, waiting)
    # steady: new tickets while nobody is online
    steady = [e for n in range(100 * size // 2) for e in _ticket(f"S{n:06}", 500)]
    times = []
    for i in range(0, min(len(steady), 40 * size), size):
        t0 = time.perf_counter()
        r.batch(steady[i : i + size])
        times.append(time.perf_counter() - t0)
    times.sort()
    # assignment latency: a backlog, then ann online; until the Telegram ticket is assigned
    feed = [e for n in range(backlog // 2) for e in _ticket(f"B{n:06}", 600)]
    feed += _ann_online(601)
    t0 = time.perf_counter()
    got = None
    for i in range(0, len(feed), size):
        out = r.batch(feed[i : i + size])
        if any(a.ticket_id == "TG" for a in out):
            got = time.perf_counter() - t0
            break
    assert got is not None, "the Telegram ticket was not assigned"
    return {
        "waiting": r.state.waiting_count,
        "batch_size": size,
        "steady_batch_ms_median": round(1000 * times[len(times) // 2], 3),
        "steady_batch_ms_max": round(1000 * times[-1], 3),
        "assignment_latency_s": round(got, 4),
    }


POLICY_YAML = """\
schedules:
  always:
    zone: UTC
    hours: {mon: ["00:00-24:00"], tue: ["00:00-24:00"], wed: ["00:00-24:00"],
            thu: ["00:00-24:00"], fri: ["00:00-24:00"], sat: ["00:00-24:00"],
            sun: ["00:00-24:00"]}
default_schedule: always
policies:
  - id: bench
    targets:
      first_reply_time: {urgent: 1h, high: 1h, normal: 1h, low: 1h}
"""


def worker_run(bootstrap: str, tickets: int) -> None:
    """The whole-worker diagnosis (see the module docstring)."""
    import tempfile

    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

    from schemas import codec
    from streams.settings import StreamsSettings
    from streams.testing import WorkerProcess, channel_messages
    from streams.topics_admin import ensure_topics
    from ticketstream.devstack.procs import free_port
    from ticketstream.settings import Settings

    name = f"rb{int(time.time())}"
    tmp = Path(tempfile.mkdtemp(prefix="bench-routing-"))
    (tmp / "policies.yml").write_text(POLICY_YAML)
    streams = StreamsSettings(streams_topic_prefix=f"{name}.", streams_topic_partitions=1)  # type: ignore[call-arg]
    ensure_topics(Settings(kafka_bootstrap=bootstrap), streams)  # type: ignore[call-arg]
    env = {
        "TICKETSTREAM_KAFKA_BOOTSTRAP": bootstrap,
        "TICKETSTREAM_STREAMS_APP_ID": name,
        "TICKETSTREAM_STREAMS_TOPIC_PREFIX": f"{name}.",
        "TICKETSTREAM_STREAMS_TOPIC_PARTITIONS": "1",
        "TICKETSTREAM_STREAMS_STORE": "memory",
        "TICKETSTREAM_STREAMS_DATADIR": str(tmp / "worker"),
        "TICKETSTREAM_STREAMS_API_TOKENS": "tok-sup:supervisor:lead-1,tok-ann:agent:ann",
        "TICKETSTREAM_SLA_CLOCK": "simulated",
        "TICKETSTREAM_SLA_POLICIES_PATH": str(tmp / "policies.yml"),
    }
    worker = WorkerProcess("bench", env, free_port(), tmp / "worker.log").start()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    ends = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        worker.wait_ready(120)
        everyone = channel_messages(tickets * 6, 1)
        web = [m for m in everyone if m.channel is Channel.WEBCHAT][:tickets]
        telegram = next(m for m in everyone if m.channel is Channel.TELEGRAM)
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        for m in [*web, telegram]:
            producer.send(
                f"{name}.support.channel.messages.v1",
                key=m.conversation_key.encode(),
                value=codec.encode(m),
            )
        producer.flush()
        producer.close()
        for body in (
            {"type": "SetAgentCapacity", "agent_id": ANN,
             "capacity": {"telegram": 1, "webchat": 1}},
            {"type": "SetAgentSkills", "agent_id": ANN, "channels": ["telegram", "webchat"]},
            {"type": "SetAgentPresence", "agent_id": ANN, "presence": "online"},
        ):  # fmt: skip
            status, _ = worker.http(
                "POST", "/api/v1/commands", json.dumps(body).encode(), "tok-sup"
            )
            assert status == 202, body
        t0 = time.monotonic()
        print(f"load average {os.getloadavg()[0]:.1f}; {tickets + 1} messages produced; ann online")
        while time.monotonic() - t0 < 400:
            status, body = worker.http("GET", f"/api/v1/queue?assignee={ANN}", None, "tok-ann")
            held = [r["channel"] for r in body["tickets"]] if status == 200 else status
            offsets = admin.list_group_offsets(name)[name]
            lag = {}
            for tp, committed in offsets.items():
                behind = ends.end_offsets([tp])[tp] - committed.offset
                if behind:
                    lag[tp.topic.removeprefix(f"{name}.")] = behind
            print(f"{time.monotonic() - t0:6.1f} s  ann holds {held}  lag {lag}", flush=True)
            if isinstance(held, list) and "telegram" in held:
                break
            time.sleep(3)
        print(f"load average {os.getloadavg()[0]:.1f}; worker log {tmp / 'worker.log'}")
    finally:
        worker.stop()
        admin.close()
        ends.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--waiting", default="2000,10000,20000")
    ap.add_argument("--batches", default="10,500")
    ap.add_argument("--backlog", type=int, default=2_000)
    ap.add_argument(
        "--render-only", action="store_true", help="rewrite routing.md from routing.json"
    )
    ap.add_argument("--worker", metavar="BOOTSTRAP", help="the whole-worker diagnosis instead")
    ap.add_argument("--tickets", type=int, default=10_000, help="with --worker")
    args = ap.parse_args()
    if args.worker:
        worker_run(args.worker, args.tickets)
        return
    if args.render_only:
        result = json.loads((RESULTS / "routing.json").read_text())
        _write_md(result)
        return
    old_routing, old_router = _old_modules()
    load_before = os.getloadavg()
    rows = []
    for waiting in (int(w) for w in args.waiting.split(",")):
        for size in (int(b) for b in args.batches.split(",")):
            new = measure(
                lambda: Router(new_routing, new_router, _gauges_new), waiting, size, args.backlog
            )
            old = measure(
                lambda: Router(old_routing, old_router, _gauges_old), waiting, size, args.backlog
            )
            rows.append(
                {
                    "waiting_tickets": waiting,
                    "batch_size": size,
                    "current": new,
                    "baseline": old,
                    "latency_ratio_baseline_over_current": round(
                        old["assignment_latency_s"] / new["assignment_latency_s"], 1
                    ),
                    "steady_ratio_baseline_over_current": round(
                        old["steady_batch_ms_median"] / new["steady_batch_ms_median"], 1
                    ),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    load_after = os.getloadavg()
    result = {
        "baseline_commit": BASELINE_COMMIT,
        "backlog_feed_records": args.backlog,
        "load_average_1m_before": round(load_before[0], 2),
        "load_average_1m_after": round(load_after[0], 2),
        "runs": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "routing.json").write_text(json.dumps(result, indent=2) + "\n")
    _write_md(result)


def _write_md(result: dict[str, Any]) -> None:
    rows = result["runs"]
    md = [
        "# Router: assignment latency with a large waiting queue",
        "",
        "`python -m bench.bench_routing` — in-process (router domain + pickled changed rows +"
        " queue gauges, as the agent runs them; no broker), current code against the baseline"
        f" {result['baseline_commit']} (every batch read the whole waiting queue), same events,"
        f" same run. Load average (1 min) {result['load_average_1m_before']} before,"
        f" {result['load_average_1m_after']} after, on the shared 2-core machine.",
        "",
        "Waiting: tickets waiting when the measurement starts (each with a first-reply timer)."
        " Steady batch: a batch of new tickets (TicketOpened + SlaTimerStarted each) while nobody"
        " has a free seat; 40 batches, so the queue grows by 200 (batch 10) or 10,000 (batch"
        f" 500) tickets. Assignment latency: then a backlog of {result['backlog_feed_records']:,}"
        " feed records (new tickets) and an agent coming online with one Telegram and one"
        " web-chat seat; seconds of router work until the one Telegram ticket (last in the"
        " queue) is assigned. Batch 10 is what the worker's router was handed per take under"
        " load (6-30 records, from its batch log); 500 is a full take.",
        "",
        "| waiting | batch | latency current s | latency baseline s | ratio |"
        " steady batch current ms | steady batch baseline ms | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        c, b = row["current"], row["baseline"]
        md.append(
            f"| {row['waiting_tickets']:,} | {row['batch_size']} | {c['assignment_latency_s']} |"
            f" {b['assignment_latency_s']} | {row['latency_ratio_baseline_over_current']}× |"
            f" {c['steady_batch_ms_median']} | {b['steady_batch_ms_median']} |"
            f" {row['steady_ratio_baseline_over_current']}× |"
        )
    (RESULTS / "routing.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
