"""Scale run: the whole pipeline (Kafka, ClickHouse, gateway, stream workers on the simulated SLA
clock, outbound, projector — started as ``ticketstream demo`` starts them) under the simulator's
load, in three modes. A benchmark/correctness run, not a test.

``week``  the ``tesco`` preset for 7 simulated days (40,000 tickets), then the demo's checks and
          more: tickets sent = tickets in ClickHouse = the ground truth's, messages sent =
          messages in ClickHouse, SLA breaches of the engine = the simulator's, no HTTP errors,
          unconfirmed actions, dead letters; outbound deliveries accounted for (sent + failed =
          agent replies, every failure with its reason). Run it niced, WITHOUT the bench lock:
              nice -n 10 .venv/bin/python -m bench.bench_scale week
``x10``   the ``x10`` preset (400,000 tickets a week) at a fixed compression from the Monday
          morning ramp in Bangkok; sustained when the simulated clock never waits for the
          pipeline, the simulator's backlog and the workers' consumer lag stay bounded (the last
          third of the run no higher than the first two), and everything sent is in ClickHouse:
              flock /work/team/bench.lock .venv/bin/python -m bench.bench_scale x10
``x100``  the ``x100`` preset in steps of rising compression (offered rate), each step a
          simulation continuing the previous one's simulated time, until the pipeline falls
          behind (the simulated clock waits, or the lag keeps growing); reports the requests/s
          and events/s reached and each process's CPU per request (the bottleneck):
              flock /work/team/bench.lock .venv/bin/python -m bench.bench_scale x100

Every mode samples, every ``--sample-seconds``: the simulator's counters, consumer lag of the
workers, outbound and projector groups, end offsets of the event topics (events/s), tickets in
ClickHouse, and the CPU seconds of every process (services, Kafka, ClickHouse, this process as the
simulator) from /proc. The baseline of each run is its own offered load, measured in the same
run: ``week``/``x10`` compare what arrived with what was sent; ``x100``'s first step (below
saturation) is the baseline its later steps are compared with.

Results: bench/results/scale.json (one section per mode; a mode replaces only its section) and
bench/results/scale.md (rendered from the JSON). Each mode runs on its own fresh private stack
under var/scale/<mode>, stopped at the end (``--keep-stack`` keeps it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from schemas import topics as names
from ticketstream.bench.runner import machine_info
from ticketstream.devstack.procs import cpu_seconds
from ticketstream.settings import REPO_ROOT

RESULTS = Path(__file__).parent / "results"
SCALE_DIR = REPO_ROOT / "var" / "scale"
WORKERS_GROUP = "ticketstream"  # StreamsSettings.streams_app_id default
OUTBOUND_GROUP = "ticketstream-outbound"
PROJECTOR_GROUP = "ticketstream-projector"
# Monday 09:00 in Bangkok: the morning ramp, where the offered rate is highest.
MORNING = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


# ------------------------------------------------------------------------------ measurement
CURRENT: dict[str, Any] = {}  # the running mode's sampler, for the result of an aborted run


@dataclass
class Sampler:
    """A thread that records a time series while the simulation runs (see the module doc)."""

    bootstrap: str
    engine: Any
    pids: dict[str, int]
    interval: float
    samples: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, Any] = field(default_factory=dict)  # latest progress from the simulator
    phase: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    stall_seconds: float = 180.0
    stalled: str = ""  # why the watchdog stopped the run
    _commits: dict[tuple[str, int], tuple[int, float]] = field(default_factory=dict)

    def progress(self, done: float, sim_now: str, counters: dict[str, int]) -> None:
        self.counters = {**counters, "done": round(done, 4), "sim_now": sim_now}

    def start(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True, name="sampler")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        self.take()
        self.engine.close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.take()
            except Exception as exc:  # a failed sample must not end the run: say so, go on
                log(f"sampler: {type(exc).__name__}: {exc}")

    def take(self) -> dict[str, Any]:
        with self._lock:  # the thread and the main thread (between x100 steps) both sample
            return self._take()

    def _take(self) -> dict[str, Any]:
        from ticketstream.observability.lag import KafkaLagReader

        reader = KafkaLagReader(self.bootstrap)
        try:
            snap = reader.read()
        finally:
            reader.close()
        lag: dict[str, int] = {}
        for p in snap.lags:
            if p.group in (WORKERS_GROUP, OUTBOUND_GROUP, PROJECTOR_GROUP):
                lag[p.group] = lag.get(p.group, 0) + p.lag
        self._watch(snap)
        events = sum(n for (t, _), n in snap.end_offsets.items() if t in names.EVENT_TOPICS)
        commands = sum(
            n for (t, _), n in snap.end_offsets.items() if t == names.TICKET_COMMANDS
        )  # fmt: skip
        dead = sum(n for (t, _), n in snap.end_offsets.items() if t == names.DEAD_LETTER)
        try:
            ch_tickets = int(self.engine.execute("SELECT count() FROM tickets")[0][0])
        except Exception:  # ClickHouse busy: this sample has no count
            ch_tickets = -1
        c = dict(self.counters)
        sample = {
            "t": round(time.time(), 2),
            "phase": self.phase,
            "load1": round(os.getloadavg()[0], 2),
            "requests": int(c.get("messages", 0)) + int(c.get("commands", 0)),
            "tickets_sent": int(c.get("tickets", 0)),
            "backlog": int(c.get("backlog", 0)),
            "http_errors": int(c.get("errors", 0)),
            "sim_now": c.get("sim_now", ""),
            "lag": lag,
            "event_records": events,
            "command_records": commands,
            "dead_letters": dead,
            "clickhouse_tickets_rows": ch_tickets,
            "cpu": {k: cpu_seconds(p) for k, p in self.pids.items()},
        }
        self.samples.append(sample)
        return sample

    def _watch(self, snap: Any) -> None:
        """A partition of the workers' input whose committed offset has not moved for
        ``stall_seconds`` while records wait behind it (or that never got a commit while
        the other partitions did): a worker is stuck — seen today as Consumer.commit() waiting
        forever in producer.flush() (the worker's log: 'Flight Recorder … Task traceback').
        The run cannot finish right then; interrupt it (SIGINT) and say why."""
        if not snap.ok or self.stalled:
            return
        now = time.monotonic()
        watched = (names.TICKET_EVENTS, names.CHANNEL_MESSAGES, names.TICKET_COMMANDS)
        committed = {
            (p.topic, p.partition): p.committed
            for p in snap.lags
            if p.group == WORKERS_GROUP and p.topic in watched
        }
        if not committed:
            return
        for (topic, part), end in snap.end_offsets.items():
            if topic not in watched or end == 0:
                continue
            at = committed.get((topic, part), -1)
            seen = self._commits.get((topic, part))
            if seen is None or seen[0] != at or at >= end:
                self._commits[(topic, part)] = (at, now)
                continue
            if now - seen[1] > self.stall_seconds:
                self.stalled = (
                    f"the workers' group {WORKERS_GROUP!r} has not committed {topic}[{part}] "
                    f"for {now - seen[1]:.0f} s (committed {at}, end {end}): a worker is stuck "
                    "(see the workers' logs for 'Flight Recorder')"
                )
                log(f"WATCHDOG: {self.stalled}; interrupting the run")
                os.kill(os.getpid(), signal.SIGINT)
                return


def rates(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per interval between consecutive samples: requests/s, events/s, CPU share per process."""
    out = []
    for a, b in itertools.pairwise(samples):
        dt = b["t"] - a["t"]
        if dt <= 0:
            continue
        req = b["requests"] - a["requests"]
        cpu = {
            k: round((b["cpu"][k] - a["cpu"][k]) / dt, 3)
            for k in b["cpu"]
            if b["cpu"].get(k) is not None and a["cpu"].get(k) is not None
        }
        out.append(
            {
                "t": b["t"],
                "phase": b["phase"],
                "requests_per_s": round(req / dt, 1),
                "events_per_s": round((b["event_records"] - a["event_records"]) / dt, 1),
                "backlog": b["backlog"],
                "lag": b["lag"],
                "load1": b["load1"],
                "cpu_cores": cpu,
            }
        )
    return out


def cpu_per_request(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """CPU milliseconds per request (and per event) of every process over ``samples``, and the
    request rate at which each single-threaded process would use a whole core — the lowest is
    the bottleneck (independent of what else the machine runs, as long as it is not starved)."""
    if len(samples) < 2:
        return {}
    a, b = samples[0], samples[-1]
    req = b["requests"] - a["requests"]
    ev = b["event_records"] - a["event_records"]
    dt = b["t"] - a["t"]
    per: dict[str, Any] = {}
    for k in b["cpu"]:
        if b["cpu"].get(k) is None or a["cpu"].get(k) is None:
            continue
        used = b["cpu"][k] - a["cpu"][k]
        per[k] = {
            "cpu_seconds": round(used, 1),
            "cores_used": round(used / dt, 3) if dt > 0 else None,
            "cpu_ms_per_request": round(1000 * used / req, 3) if req else None,
            "cpu_ms_per_event": round(1000 * used / ev, 3) if ev else None,
            "requests_per_s_at_one_core": round(req / used, 1) if used > 0 else None,
        }
    return {"requests": req, "events": ev, "seconds": round(dt, 1), "processes": per}


class Profiler:
    """py-spy (installed in .venv for this purpose) records every Python process of the run for
    ``seconds`` once ``after`` seconds have passed; ``summary`` is each one's top frames."""

    def __init__(self, pids: dict[str, int], out_dir: Path, after: float, seconds: float) -> None:
        self.pids = {k: p for k, p in pids.items() if k not in ("kafka", "clickhouse")}
        self.out_dir, self.after, self.seconds = out_dir, after, seconds
        self.summary: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, daemon=True, name="py-spy")
        self._stop = threading.Event()

    def start(self) -> Profiler:
        if self.seconds > 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.seconds + 30)

    def _run(self) -> None:
        import subprocess

        if self._stop.wait(self.after):
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        spy = str(Path(sys.executable).parent / "py-spy")
        procs = {}
        for name, pid in self.pids.items():
            raw = self.out_dir / f"{name}.raw"
            cmd = [spy, "record", "--pid", str(pid), "-d", str(int(self.seconds)), "-r", "25",
                   "-f", "raw", "-o", str(raw), "--nonblocking"]  # fmt: skip
            procs[name] = (subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL), raw)  # fmt: skip
        log(f"py-spy recording {', '.join(procs)} for {self.seconds:.0f} s into {self.out_dir}")
        for name, (proc, raw) in procs.items():
            proc.wait(self.seconds + 60)
            if raw.exists():
                self.summary[name] = top_frames(raw)


def top_frames(raw: Path, n: int = 12) -> dict[str, Any]:
    """Samples of a py-spy raw (collapsed) file by their deepest frame outside the event loop's
    own machinery, and by the package of the leaf frame."""
    from collections import Counter

    total = 0
    frames: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        k = int(count)
        total += k
        parts = stack.split(";")
        m = re.search(r"\(([^:)]+)", parts[-1])
        path = m.group(1) if m else parts[-1]
        leaves[path.split("/")[0]] += k
        for f in reversed(parts):
            if not re.search(r"\((asyncio|selectors|threading|<frozen)", f):
                frames[f[:160]] += k
                break
    return {
        "samples": total,
        "leaf_package_share": {k: round(v / total, 3) for k, v in leaves.most_common(8)},
        "top": [{"frame": f, "share": round(v / total, 3)} for f, v in frames.most_common(n)],
    }


# --------------------------------------------------------------------------------- pipeline
@dataclass
class Run:
    """One mode's stack and services, started like the demo's."""

    root: Path
    workers: int
    start_timeout: float
    keep_stack: bool = False

    def __enter__(self) -> Run:
        from ticketstream.demo.platforms import Platforms
        from ticketstream.demo.run import fresh_stack, start_pipeline

        self.services: list[Any] = []
        self.stack = fresh_stack(self.root, lambda m: log(m.strip()))
        self.run_dir = self.root / f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
        self.run_dir.mkdir(parents=True)
        self.platforms = Platforms().__enter__()
        try:
            self.pipeline = start_pipeline(
                self.stack,
                self.run_dir,
                self.services,
                self.platforms,
                workers=self.workers,
                start_timeout=self.start_timeout,
                out=lambda m: log(m.strip()),
            )
        except BaseException:
            self.__exit__()
            raise
        self.engine = self.new_engine()
        return self

    def new_engine(self) -> Any:
        """A ClickHouse connection of its own (a clickhouse-driver client is not thread-safe:
        the sampler's thread gets one, the checks another)."""
        from projections.service import open_engine

        s = self.stack.settings
        return open_engine(s, s.clickhouse_database)

    def pids(self) -> dict[str, int]:
        from ticketstream.devstack import procs

        out = {s.name: s.pid for s in self.services if s.pid is not None}
        for name in ("kafka", "clickhouse"):
            pid = procs.running_pid(self.stack.pidfile(name))
            if pid is not None:
                out[name] = pid
        out["simulator"] = os.getpid()
        return out

    def check_alive(self) -> None:
        for s in self.services:
            s.check_alive()

    def __exit__(self, *exc: object) -> None:
        from ticketstream.demo.services import stop_all

        if getattr(self, "engine", None) is not None:
            self.engine.close()
        stop_all(list(reversed(self.services)))
        self.platforms.__exit__()
        if not self.keep_stack:
            stopped = self.stack.down()
            log(f"stack stopped ({', '.join(stopped)})")


def simulate(run: Run, config: Any, sampler: Sampler) -> Any:
    """Run the simulator in this process (its CPU is the sampler's ``simulator``)."""
    from ticketstream.simulate import run as sim_run

    last = {"t": 0.0}

    def progress(done: float, sim_now: str, counters: dict[str, int]) -> None:
        sampler.progress(done, sim_now, counters)
        if time.monotonic() - last["t"] >= 60:
            last["t"] = time.monotonic()
            log(f"  {100 * done:5.1f}% sim {sim_now[:16]} {counters}")

    return sim_run(config, run.pipeline.sim, progress)


# ------------------------------------------------------------------------------ the checks
def sql(engine: Any, query: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in engine.execute(query)]


def catch_up(run: Run, truth: Any, timeout: float) -> tuple[bool, float]:
    from ticketstream.demo.run import wait_caught_up

    want = (int(truth.tickets_opened), sum(sum(v.values()) for v in truth.breaches.values()))
    _, waited, settled = wait_caught_up(
        run.engine,
        run.stack.settings.kafka_bootstrap,
        want,
        timeout=timeout,
        settle=60.0,
        out=lambda m: log(m.strip()),
    )
    return settled, round(waited, 1)


def deliveries(engine: Any) -> dict[str, Any]:
    """Outbound outcome of every agent reply, from ClickHouse: AgentReplied events against
    MessageDeliveryUpdated by status, channel and reason."""
    replies = sql(
        engine,
        "SELECT channel, uniqExact(event_id) FROM events WHERE event_type = 'AgentReplied' "
        "GROUP BY channel ORDER BY channel",
    )
    by_status = sql(
        engine,
        "SELECT channel, visitParamExtractString(payload, 'status') AS st, "
        "visitParamExtractString(payload, 'reason') AS reason, uniqExact(event_id) FROM events "
        "WHERE event_type = 'MessageDeliveryUpdated' "
        "GROUP BY channel, st, reason ORDER BY channel, st, reason",
    )
    final = sql(  # the last status of each reply (a retried reply has several updates)
        engine,
        "SELECT st, count() FROM (SELECT visitParamExtractString(payload, 'reply_id') AS r, "
        "argMax(visitParamExtractString(payload, 'status'), occurred_at_ms) AS st FROM events "
        "WHERE event_type = 'MessageDeliveryUpdated' GROUP BY r) GROUP BY st",
    )
    return {
        "agent_replies": sum(int(n) for _, n in replies),
        "agent_replies_by_channel": {str(c): int(n) for c, n in replies},
        "final_status": {str(s): int(n) for s, n in final},
        "updates": [
            {"channel": str(c), "status": str(s), "reason": str(r), "count": int(n)}
            for c, s, r, n in by_status
        ],
    }


def checks_of(run: Run, truth: Any, settled: bool, waited: float) -> dict[str, Any]:
    """The demo's checks (report) and the scale run's own; returns them with the report."""
    from ticketstream.demo.run import expected_of
    from ticketstream.report import build_report, fetch, render_text
    from ticketstream.report.model import Check

    engine = run.engine
    rows = fetch(engine)
    inbound = int(
        sql(
            engine,
            "SELECT count() FROM messages FINAL WHERE event_type = 'CustomerMessageAppended'",
        )[0][0]
    )
    from ticketstream.observability.lag import KafkaLagReader

    reader = KafkaLagReader(run.stack.settings.kafka_bootstrap)
    try:
        snap = reader.read()
    finally:
        reader.close()
    dead = sum(n for (t, _), n in snap.end_offsets.items() if t == names.DEAD_LETTER)
    out = deliveries(engine)
    sent = out["final_status"].get("sent", 0)
    failed = out["final_status"].get("failed", 0)
    extra = [
        Check(
            "pipeline caught up: workers' and projector's consumer lag 0",
            "0",
            "0" if settled else f"above 0 after {waited:.0f} s",
            settled,
        ),
        Check(
            "customer messages: sent by the simulator = appended to tickets in ClickHouse (SQL)",
            str(truth.messages_sent),
            str(inbound),
            truth.messages_sent == inbound,
        ),
        Check(
            "simulator: no HTTP errors, unconfirmed actions, unopened or unobserved tickets",
            "0",
            str(
                sum(truth.http_errors.values())
                + truth.unconfirmed
                + truth.tickets_never_opened
                + truth.tickets_unobserved
            ),
            not truth.http_errors
            and truth.unconfirmed == 0
            and truth.tickets_never_opened == 0
            and truth.tickets_unobserved == 0,
        ),
        Check("dead letters on " + names.DEAD_LETTER, "0", str(dead), dead == 0),
        Check(
            "agent replies: simulator = AgentReplied in ClickHouse",
            str(truth.agent_replies),
            str(out["agent_replies"]),
            truth.agent_replies == out["agent_replies"],
        ),
        Check(
            "outbound: every agent reply sent or failed with a reason (sent + failed = replies)",
            str(out["agent_replies"]),
            f"{sent + failed} ({sent} sent, {failed} failed)",
            sent + failed == out["agent_replies"]
            and all(u["reason"] for u in out["updates"] if u["status"] == "failed"),
        ),
        Check(
            "SLA: the final tick was processed by the workers",
            "True",
            str(truth.final_tick_processed),
            bool(truth.final_tick_processed),
        ),
    ]
    report = build_report(
        rows, expected_of(truth), generated_at=datetime.now(UTC), endpoints=[], checks=extra
    )
    (run.run_dir / "report.txt").write_text(render_text(report))
    return {
        "ok": report.ok,
        "checks": [
            {
                "name": c.name,
                "expected": c.expected,
                "found": c.actual,
                "ok": c.ok,
                "detail": c.detail,
            }
            for c in report.checks
        ],
        "deliveries": out,
        "dead_letters": dead,
        "report": str(run.run_dir / "report.txt"),
    }


def truth_summary(truth: Any) -> dict[str, Any]:
    data = json.loads(truth.to_json())
    keep = (
        "preset", "seed", "sim_start", "sim_end", "compression", "tickets_opened",
        "tickets_by_channel", "messages_sent", "commands_sent", "agent_replies", "escalations",
        "solves", "reopens", "breaches", "http_errors", "rejections", "unconfirmed",
        "tickets_never_opened", "tickets_unobserved", "wall_seconds", "paused_seconds",
        "effective_compression", "sla_ticks_sent", "final_tick_processed",
    )  # fmt: skip
    return {k: data.get(k) for k in keep}


def requests_of(truth: Any) -> int:
    return int(truth.messages_sent) + sum(int(v) for v in truth.commands_sent.values())


# ------------------------------------------------------------------------------ the modes
@dataclass
class Simulated:
    """One simulation run to its end and caught up, with what the modes report from it."""

    sampler: Any
    prof: Any
    truth: Any
    sim_seconds: float
    waited: float
    checks: dict[str, Any]


def simulate_and_check(run: Run, config: Any, args: argparse.Namespace, what: str) -> Simulated:
    """Sample and profile the pipeline while ``config`` is simulated on it, wait for it to catch
    up, write the ground truth, and run the checks (the week's and x10's common course)."""
    sampler = Sampler(
        run.stack.settings.kafka_bootstrap, run.new_engine(), run.pids(), args.sample_seconds
    )
    sampler.phase = "simulation"
    sampler.start()
    CURRENT["sampler"] = sampler
    prof = Profiler(run.pids(), run.run_dir / "py-spy", args.py_spy_after, args.py_spy).start()
    log(what)
    t0 = time.monotonic()
    try:
        truth = simulate(run, config, sampler)
        sim_seconds = time.monotonic() - t0
        run.check_alive()
        sampler.phase = "catch-up"
        settled, waited = catch_up(run, truth, args.catch_up_timeout)
    finally:
        sampler.stop()
        prof.stop()
    (run.run_dir / "ground-truth.json").write_text(truth.to_json())
    checks = checks_of(run, truth, settled, waited)
    return Simulated(sampler, prof, truth, sim_seconds, waited, checks)


def mode_week(args: argparse.Namespace) -> dict[str, Any]:
    from ticketstream.simulate import SimConfig

    config = SimConfig(
        preset="tesco",
        days=args.days,
        compression=args.compression,
        seed=args.seed,
        max_backlog=args.max_backlog,
    )
    with Run(SCALE_DIR / "week", args.workers, args.start_timeout, args.keep_stack) as run:
        s = simulate_and_check(
            run, config, args, f"week: tesco, {args.days:g} days at {args.compression:g}x"
        )
        sampler, prof, truth, sim_seconds, waited, checks = (
            s.sampler,
            s.prof,
            s.truth,
            s.sim_seconds,
            s.waited,
            s.checks,
        )
        sim_samples = [s for s in sampler.samples if s["phase"] == "simulation"]
        return {
            "mode": "week",
            "asked": {"preset": "tesco", "days": args.days, "compression": args.compression},
            "simulation_seconds": round(sim_seconds, 1),
            "catch_up_seconds": waited,
            "requests": requests_of(truth),
            "requests_per_s": round(requests_of(truth) / sim_seconds, 1),
            "truth": truth_summary(truth),
            **checks,
            "cpu": cpu_per_request(sim_samples),
            "max_backlog_seen": max((s["backlog"] for s in sim_samples), default=0),
            "max_worker_lag_seen": max(
                (s["lag"].get(WORKERS_GROUP, 0) for s in sim_samples), default=0
            ),
            "series": rates(sampler.samples),
            "run_dir": str(run.run_dir),
            "profiles": prof.summary,
        }


def bounded(values: list[int]) -> bool:
    """The last third of a series is no higher than the max of the first two thirds (with a
    floor of 50, so a near-zero lag that wobbles counts as bounded)."""
    if len(values) < 6:
        return False
    cut = 2 * len(values) // 3
    return max(values[cut:]) <= max(50, max(values[:cut]))


def mode_x10(args: argparse.Namespace) -> dict[str, Any]:
    from ticketstream.simulate import SimConfig

    days = args.minutes * 60 * args.compression / 86400
    config = SimConfig(
        preset="x10",
        days=days,
        compression=args.compression,
        seed=args.seed,
        start=MORNING,
        max_backlog=args.max_backlog,
    )
    with Run(SCALE_DIR / "x10", args.workers, args.start_timeout, args.keep_stack) as run:
        s = simulate_and_check(
            run, config, args,
            f"x10: {days * 24:.2f} simulated hours from {MORNING:%a %H:%M} UTC at "
            f"{args.compression:g}x (~{args.minutes:g} min)",
        )  # fmt: skip
        sampler, prof, truth, sim_seconds, waited, checks = (
            s.sampler,
            s.prof,
            s.truth,
            s.sim_seconds,
            s.waited,
            s.checks,
        )
        sim = [s for s in sampler.samples if s["phase"] == "simulation" and s["sim_now"]]
        lags = [int(s["lag"].get(WORKERS_GROUP, 0)) for s in sim]
        backlogs = [int(s["backlog"]) for s in sim]
        paused = float(truth.paused_seconds)
        sustained = (
            paused <= 0.02 * sim_seconds and bounded(lags) and bounded(backlogs) and checks["ok"]
        )
        return {
            "mode": "x10",
            "asked": {
                "preset": "x10",
                "compression": args.compression,
                "start": MORNING.isoformat(),
                "simulated_hours": round(days * 24, 2),
            },
            "sustained": sustained,
            "sustained_rule": "simulated clock paused <= 2% of the run, worker lag and simulator "
            "backlog bounded (last third <= max(50, max of first two thirds)), all checks pass",
            "simulation_seconds": round(sim_seconds, 1),
            "paused_seconds": paused,
            "catch_up_seconds": waited,
            "requests": requests_of(truth),
            "requests_per_s": round(requests_of(truth) / sim_seconds, 1),
            "worker_lag": {"max": max(lags, default=0), "last": lags[-1] if lags else None},
            "backlog": {
                "max": max(backlogs, default=0),
                "last": backlogs[-1] if backlogs else None,
            },
            "truth": truth_summary(truth),
            **checks,
            "cpu": cpu_per_request(sim),
            "series": rates(sampler.samples),
            "run_dir": str(run.run_dir),
            "profiles": prof.summary,
        }


def mode_x100(args: argparse.Namespace) -> dict[str, Any]:
    from ticketstream.simulate import SimConfig

    steps: list[dict[str, Any]] = []
    start = MORNING
    with Run(SCALE_DIR / "x100", args.workers, args.start_timeout, args.keep_stack) as run:
        sampler = Sampler(
            run.stack.settings.kafka_bootstrap, run.new_engine(), run.pids(), args.sample_seconds
        )
        sampler.start()
        CURRENT["sampler"] = sampler
        prof = Profiler(run.pids(), run.run_dir / "py-spy", args.py_spy_after, args.py_spy).start()
        try:
            for i, compression in enumerate(args.steps):
                days = args.step_seconds * compression / 86400
                config = SimConfig(
                    preset="x100",
                    days=days,
                    compression=compression,
                    seed=args.seed,
                    start=start,
                    max_backlog=args.max_backlog,
                    run_tag=f"{i + 1:x}0",
                    configure_sla_policy=(i == 0),
                )
                sampler.phase = f"step {i + 1}"
                sampler.counters = {}
                first = len(sampler.samples)
                log(f"x100 step {i + 1}: {compression:g}x from {start:%a %H:%M} UTC "
                    f"({days * 24:.2f} simulated hours, ~{args.step_seconds:.0f} s)")  # fmt: skip
                t0 = time.monotonic()
                truth = simulate(run, config, sampler)
                took = time.monotonic() - t0
                run.check_alive()
                sampler.take()
                mine = [s for s in sampler.samples[first:] if s["sim_now"]]
                lags = [int(s["lag"].get(WORKERS_GROUP, 0)) for s in mine]
                req = requests_of(truth)
                offered = req / (args.step_seconds)  # what the simulated clock asked for
                step = {
                    "step": i + 1,
                    "compression": compression,
                    "sim_start": start.isoformat(),
                    "simulated_hours": round(days * 24, 3),
                    "requests": req,
                    "tickets": int(truth.tickets_opened),
                    "wall_seconds": round(took, 1),
                    "paused_seconds": float(truth.paused_seconds),
                    "effective_compression": float(truth.effective_compression),
                    "offered_requests_per_s": round(offered, 1),
                    "requests_per_s": round(req / took, 1),
                    "events_per_s": round(
                        (mine[-1]["event_records"] - mine[0]["event_records"])
                        / max(mine[-1]["t"] - mine[0]["t"], 1e-9),
                        1,
                    )
                    if len(mine) >= 2
                    else None,
                    "worker_lag_max": max(lags, default=0),
                    "load1_mean": round(sum(s["load1"] for s in mine) / len(mine), 2)
                    if mine
                    else None,
                    "http_errors": dict(truth.http_errors),
                    "unconfirmed": int(truth.unconfirmed),
                    "cpu": cpu_per_request(mine),
                }
                step["behind"] = step["paused_seconds"] > 0.1 * args.step_seconds
                steps.append(step)
                log(f"  step {i + 1}: {step['requests_per_s']} req/s done of "
                    f"{step['offered_requests_per_s']} offered, paused {step['paused_seconds']} s, "
                    f"worker lag max {step['worker_lag_max']}")  # fmt: skip
                start = start + timedelta(days=days)
                if step["behind"] and i + 1 < len(args.steps) and args.stop_when_behind:
                    break
            sampler.phase = "catch-up"
            settled, waited = catch_up_x100(run, args.catch_up_timeout)
        finally:
            sampler.stop()
            prof.stop()
    base = steps[0]
    behind = [s for s in steps if s["behind"]]
    best = max(steps, key=lambda s: s["requests_per_s"])
    return {
        "mode": "x100",
        "steps": steps,
        "baseline_step": 1,
        "first_behind_step": behind[0]["step"] if behind else None,
        "max_requests_per_s": best["requests_per_s"],
        "max_events_per_s": max((s["events_per_s"] or 0) for s in steps),
        "ratio_to_baseline": round(best["requests_per_s"] / base["requests_per_s"], 2)
        if base["requests_per_s"]
        else None,
        "bottleneck": bottleneck(behind[0] if behind else best),
        "caught_up": settled,
        "catch_up_seconds": waited,
        "series": rates(sampler.samples),
        "profiles": prof.summary,
    }


def catch_up_x100(run: Run, timeout: float) -> tuple[bool, float]:
    from ticketstream.demo.run import group_lag

    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        lags = [
            group_lag(run.stack.settings.kafka_bootstrap, g)
            for g in (WORKERS_GROUP, PROJECTOR_GROUP)
        ]
        if all(lag == 0 for lag in lags):
            return True, round(time.monotonic() - t0, 1)
        time.sleep(2)
    return False, round(time.monotonic() - t0, 1)


def bottleneck(step: dict[str, Any]) -> dict[str, Any]:
    """The process with the most CPU per request in ``step`` and how many cores it used."""
    procs = step.get("cpu", {}).get("processes", {})
    single = {k: v for k, v in procs.items() if k not in ("kafka", "clickhouse")}
    if not single:
        return {}
    name, top = max(single.items(), key=lambda kv: kv[1]["cpu_ms_per_request"] or 0)
    return {"process": name, **top}


# ---------------------------------------------------------------------------------- results
def write_results(section: dict[str, Any]) -> None:
    path = RESULTS / "scale.json"
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    data["benchmark"] = "scale"
    data["command"] = "python -m bench.bench_scale week|x10|x100 (see docs/scale.md)"
    data[section["mode"]] = section
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    (RESULTS / "scale.md").write_text(render_md(data))
    log(f"wrote {path} and scale.md")


def _checks_md(sec: dict[str, Any]) -> list[str]:
    lines = ["| check | expected | found | ok |", "|---|---|---|---|"]
    for c in sec.get("checks", []):
        lines.append(
            f"| {c['name']} | {c['expected']} | {c['found']} | {'yes' if c['ok'] else '**NO**'} |"
        )
    return lines


def _cpu_md(cpu: dict[str, Any]) -> list[str]:
    if not cpu:
        return []
    lines = [
        f"CPU over {cpu['requests']:,} requests / {cpu['events']:,} events in {cpu['seconds']} s:",
        "",
        "| process | CPU s | cores used | CPU ms/request | CPU ms/event | req/s at one core |",
        "|---|---|---|---|---|---|",
    ]
    for k, v in sorted(cpu["processes"].items(), key=lambda kv: -(kv[1]["cpu_seconds"] or 0)):
        lines.append(
            f"| {k} | {v['cpu_seconds']} | {v['cores_used']} | {v['cpu_ms_per_request']} | "
            f"{v['cpu_ms_per_event']} | {v['requests_per_s_at_one_core']} |"
        )
    return lines


def render_md(data: dict[str, Any]) -> str:
    out = [
        "# Scale runs (bench/bench_scale.py)",
        "",
        "How to reproduce and read: docs/scale.md.",
        "",
    ]
    for mode in ("week", "x10", "x100"):
        sec = data.get(mode)
        if not sec:
            out += [f"## {mode}", "", "not run yet", ""]
            continue
        m = sec.get("machine", {})
        out += [
            f"## {mode}",
            "",
            f"{sec.get('started')} → {sec.get('finished')}, commit {m.get('git commit', '?')}, "
            f"{m.get('cores', '?')} cores {m.get('CPU', '?')}, load average at start {sec.get('load_start')}, at end "
            f"{sec.get('load_end')}, bench lock: {sec.get('bench_lock')}"
            + (f" ({sec['bench_lock_note']})" if sec.get("bench_lock_note") else ""),
            "",
            f"command: `{sec.get('command')}`",
            "",
        ]
        if sec.get("aborted"):
            last = sec.get("last_sample") or {}
            out += [
                f"- **aborted**: {sec['aborted']}",
                f"- last sample: simulated {last.get('sim_now')}, {last.get('tickets_sent')} "
                f"tickets and {last.get('requests')} requests sent, lag {last.get('lag')}",
                "",
                *_cpu_md(sec.get("cpu", {})),
                "",
            ]
        elif mode in ("week", "x10"):
            t = sec["truth"]
            out += [
                f"- asked: {sec['asked']}",
                f"- {t['tickets_opened']:,} tickets, {t['messages_sent']:,} customer messages, "
                f"{sec['requests']:,} requests in {sec['simulation_seconds']} s = "
                f"**{sec['requests_per_s']} requests/s**; simulated clock ran at "
                f"{t['effective_compression']}x, waited {t['paused_seconds']} s for the pipeline; "
                f"catch-up {sec['catch_up_seconds']} s",
                f"- all checks: **{'passed' if sec['ok'] else 'FAILED'}**"
                + (
                    f"; sustained: **{sec['sustained']}** ({sec['sustained_rule']})"
                    if mode == "x10"
                    else ""
                ),
                f"- outbound final status: {sec['deliveries']['final_status']} of "
                f"{sec['deliveries']['agent_replies']:,} agent replies; failures: "
                + "; ".join(
                    f"{u['channel']} {u['count']:,} × {u['reason'][:80]}"
                    for u in sec["deliveries"]["updates"]
                    if u["status"] == "failed"
                ),
                "",
            ]
            out += [*_checks_md(sec), "", *_cpu_md(sec.get("cpu", {})), ""]
        else:
            out += [
                f"- max **{sec['max_requests_per_s']} requests/s**, {sec['max_events_per_s']} "
                f"events/s; first step behind: {sec['first_behind_step']}; "
                f"ratio best/baseline (step 1): {sec['ratio_to_baseline']}",
                f"- bottleneck (most CPU per request, single-threaded): {sec['bottleneck']}",
                "",
                "| step | compression | offered req/s | done req/s | events/s | paused s | "
                "worker lag max | load | behind |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for s in sec["steps"]:
                out.append(
                    f"| {s['step']} | {s['compression']} | {s['offered_requests_per_s']} | "
                    f"{s['requests_per_s']} | {s['events_per_s']} | {s['paused_seconds']} | "
                    f"{s['worker_lag_max']} | {s['load1_mean']} | {s['behind']} |"
                )
            out.append("")
            for s in sec["steps"]:
                out += [f"Step {s['step']}:", "", *_cpu_md(s["cpu"]), ""]
        for name, prof in (sec.get("profiles") or {}).items():
            out += [
                f"py-spy `{name}` ({prof['samples']} samples; leaf packages "
                f"{prof['leaf_package_share']}):",
                "",
            ]
            out += [f"- {100 * t['share']:.1f}% `{t['frame']}`" for t in prof["top"][:8]] + [""]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------- main
def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("mode", choices=("week", "x10", "x100"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--sample-seconds", type=float, default=10.0)
    p.add_argument("--start-timeout", type=float, default=180.0)
    p.add_argument("--catch-up-timeout", type=float, default=900.0)
    p.add_argument("--max-backlog", type=int, default=500, help="SimConfig.max_backlog")
    p.add_argument("--keep-stack", action="store_true")
    p.add_argument("--days", type=float, default=7.0, help="week: simulated days")
    p.add_argument("--compression", type=float, default=None)
    p.add_argument("--minutes", type=float, default=10.0, help="x10: wall minutes asked")
    p.add_argument(
        "--steps",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[0.5, 1.0, 2.0, 4.0, 8.0],
        help="x100: compressions of the steps",
    )
    p.add_argument("--step-seconds", type=float, default=120.0, help="x100: wall seconds a step")
    p.add_argument(
        "--stop-when-behind", action="store_true", help="x100: stop at the first step behind"
    )
    p.add_argument("--py-spy", type=float, default=0.0, help="py-spy every process for S s")
    p.add_argument("--py-spy-after", type=float, default=60.0, help="... starting S s in")
    args = p.parse_args(argv)
    if args.compression is None:
        args.compression = {"week": 224.0, "x10": 10.0, "x100": 1.0}[args.mode]
    return args


def main(argv: list[str] | None = None) -> int:
    import logging

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("kafka").setLevel(logging.ERROR)
    args = parse(argv)
    # Started in the background by a non-interactive shell, SIGINT arrives ignored (POSIX), so
    # neither Ctrl-C nor the watchdog could stop a run cleanly: restore Python's handler, and
    # make SIGTERM an interrupt too (the services and the stack are then stopped by pid).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    lock = os.environ.get("FLOCK_HELD") or ""
    started = datetime.now(UTC)
    load_start = [round(x, 2) for x in os.getloadavg()]
    try:
        section = {"week": mode_week, "x10": mode_x10, "x100": mode_x100}[args.mode](args)
    except KeyboardInterrupt:
        sampler = CURRENT.get("sampler")
        why = sampler.stalled if sampler is not None and sampler.stalled else "interrupted"
        samples = sampler.samples if sampler is not None else []
        section = {
            "mode": args.mode,
            "ok": False,
            "aborted": why,
            "last_sample": samples[-1] if samples else None,
            "cpu": cpu_per_request([x for x in samples if x["sim_now"]]),
            "series": rates(samples),
        }
        log(f"{args.mode}: aborted: {why}")
    section.update(
        command=" ".join(
            ["python -m bench.bench_scale", *(argv if argv is not None else sys.argv[1:])]
        ),
        started=started.isoformat(timespec="seconds"),
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        load_start=load_start,
        load_end=[round(x, 2) for x in os.getloadavg()],
        bench_lock=bool(lock) or _holds_lock(),
        machine=machine_info(),
    )
    write_results(section)
    ok = section.get("ok", True)
    log(f"{args.mode}: {'ok' if ok else 'CHECKS FAILED'}")
    return 0 if ok else 1


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _holds_lock() -> bool:
    """Whether an ancestor of this process is ``flock … bench.lock`` (as the brief asks runs to
    be started; ``flock lock sh -c '…'`` puts a shell in between)."""
    pid = os.getpid()
    for _ in range(4):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat.rsplit(")", 1)[1].split()[1])
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            return False
        if cmd and cmd[0].endswith(b"flock") and any(b"bench.lock" in c for c in cmd):
            return True
    return False


if __name__ == "__main__":
    sys.exit(main())
