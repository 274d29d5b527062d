"""Benchmark: the projector vs raw clickhouse-driver columnar inserts, event → queryable
latency, rebuild rate. Needs the dev stack (``ticketstream dev up``).

    python -m bench.bench_projections [--tickets 6000] [--processes 2] [--rate 5000] [--seconds 10]

1. Throughput. A synthetic stream (6 events per ticket) is produced to private topics
   (``--partitions`` each). Same run, alternating rounds: (a) raw — the rows the projector would
   write, computed beforehand, inserted with clickhouse-driver ``columnar=True`` into fresh
   tables in the same batches; (b) projector — a fresh consumer group of 1 and of
   ``--processes`` projector processes consumes, decodes, projects and inserts the same events
   (commits included). Ratio = median projector rows/s ÷ median raw rows/s (target 0.7).
2. Latency. ``ticketstream projections run`` (default settings: 5,000 rows or 0.5 s per batch) in
   its own process; this process produces at ``--rate`` events/s for ``--seconds`` and polls
   ClickHouse every 50 ms for every 25th event: latency = first seen − sent (target p99 ≤ 2 s).
3. Rebuild. ``projections.rebuild.rebuild`` of the latency run's database: events/s.
Writes bench/results/projections.json and .md.

ClickHouse (``--clickhouse``): by default a private server of this run, its data on tmpfs
(``/dev/shm``), on free ports, started and stopped (by pid) by the benchmark; the dev stack's Kafka.
Why: the root filesystem here is ext4 without a journal, whose inode allocator skips every inode
deleted in the last 60 s (360 s while its inode block is unwritten; the kernel's
``recently_deleted``). Each round drops a database (~3,500 files), so the server's CPU for the
same rows climbed round after round (0.3 -> 1.2 s; 26 % of its samples in
``find_get_block_common`` under ``ext4_create``), and a round paid for the rounds before it,
whichever side it was. On tmpfs the cost is steady — and the raw side at its fastest, so the ratio
is judged against the hardest baseline. ``--clickhouse stack`` uses the dev stack's server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from projections.engines import DriverEngine, sql_literal
from projections.migrate import migrate
from projections.projector import Projector, ProjectorConfig
from projections.rebuild import rebuild
from projections.rows import TABLE_COLUMNS, TABLES, Batch, Projection, Source
from projections.service import make_consumer, make_producer, tune_gc
from projections.synthetic import stream, ticket_events
from schemas.codec import encode
from schemas.topics import EVENT_TOPICS, key_of, route_of
from ticketstream.devstack import Stack
from ticketstream.devstack.procs import cpu_seconds, free_port, read_pidfile
from ticketstream.devstack.testing import private_root
from ticketstream.settings import ENV_PREFIX, load_settings

RESULTS = Path(__file__).resolve().parent / "results"
RATIO_TARGET, P99_TARGET = 0.7, 2.0


TMPFS = Path("/dev/shm")


def fstype(path: Path) -> str:
    """The type of the filesystem ``path`` is on (the longest mount point above it)."""
    best, kind = "", ""
    target = str(path.resolve())
    for line in Path("/proc/mounts").read_text().splitlines():
        _, mount, fs, *_ = line.split()
        mount = mount.replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best):
            best, kind = mount, fs
    return kind


@contextlib.contextmanager
def tmpfs_clickhouse(tmpfs: Path = TMPFS) -> Iterator[dict[str, str]]:
    """A ClickHouse server of this run with its data on tmpfs, on free ports; yields the
    ``TICKETSTREAM_*`` variables that point at it (also set in ``os.environ`` meanwhile, so the
    projector processes and ``ticketstream projections run`` use it too). Stopped by pid and
    deleted at the end; one left by a run that was killed is stopped by the next run."""
    if not tmpfs.is_dir() or fstype(tmpfs) != "tmpfs":
        raise SystemExit(
            f"bench_projections: {tmpfs} is not a tmpfs mount ({fstype(tmpfs) or 'missing'}), so "
            "ClickHouse's data cannot be kept in memory there; run with --clickhouse stack to use "
            "the dev stack's server (its cost then climbs over the rounds, see the module doc)"
        )
    root = private_root("ticketstream-bench-ch-", tmpfs)  # stops servers of killed runs first
    env = {
        f"{ENV_PREFIX}STACK_DIR": str(root / "stack"),
        f"{ENV_PREFIX}CLICKHOUSE_PORT": str(free_port()),
        f"{ENV_PREFIX}CLICKHOUSE_HTTP_PORT": str(free_port()),
    }
    try:
        with mock.patch.dict(os.environ, env):
            stack = Stack(load_settings())
            try:
                stack.up(["clickhouse"])
                yield env
            finally:
                stack.down(["clickhouse"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _topics(tag: str) -> dict[str, str]:
    return {t: f"{t}.{tag}" for t in EVENT_TOPICS}


def _produce(producer: Any, records: list[Any], topics: dict[str, str]) -> None:
    for rec in records:
        key = key_of(rec)
        producer.send(
            topics[route_of(type(rec)).topic], key=key.encode() if key else None, value=encode(rec)
        )


def _engine(core: Any) -> DriverEngine:
    return DriverEngine(core.clickhouse_host, core.clickhouse_port, send_receive_timeout=120)


def _fresh(engine: DriverEngine, db: str) -> None:
    engine.execute(f"DROP DATABASE IF EXISTS {db}")
    migrate(engine, db)


def clickhouse_cpu_s(core: Any) -> float | None:
    """CPU seconds (user + system) the ClickHouse server of ``core``'s stack (this run's on
    tmpfs, or the dev stack's) has used so far; None when its pid file or process is not there
    (the benchmark then reports no server CPU).

    With the ratio, the server CPU of each round shows what the same rows cost ClickHouse on
    either side — on the dev stack's root filesystem a cost that climbs over consecutive rounds
    (the module doc)."""
    rec = read_pidfile(Stack(core).pidfile("clickhouse"))
    return None if rec is None else cpu_seconds(rec.pid)


def _spent(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def raw_round(core: Any, batches: list[Batch], db: str) -> tuple[float, int, float, float | None]:
    """Rows/s, rows, this process's CPU seconds and ClickHouse's (None: unknown) of inserting
    ``batches`` as they are."""
    engine = _engine(core)
    _fresh(engine, db)
    data = [{t: b.columnar(t) for t in TABLES} for b in batches]
    rows = sum(b.row_count() for b in batches)
    server0 = clickhouse_cpu_s(core)
    t0, cpu0 = time.perf_counter(), time.process_time()
    for cols in data:
        for table in TABLES:
            if cols[table]:
                engine.insert(f"{db}.{table}", TABLE_COLUMNS[table], cols[table])
    secs, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    server = _spent(server0, clickhouse_cpu_s(core))
    engine.close()
    return rows / secs, rows, cpu, server


def _projector_worker(
    topics: list[str], db: str, group: str, batch_rows: int, ready: Any, go: Any, results: Any
) -> None:
    """One projector process of a round (spawned): the production consumer, GC setting and
    projector; joins ``group``, reports its assignment until ``go``, then projects its
    partitions from the beginning to their end offsets and reports rows, end time and CPU."""
    tune_gc()
    core = load_settings()
    engine = _engine(core)
    consumer = make_consumer(core, group, batch_rows)
    producer = make_producer(core)
    proj = Projector(
        engine, consumer, producer, ProjectorConfig(db=db, group=group, batch_rows=batch_rows)
    )
    consumer.subscribe(topics)
    last: list[tuple[str, int]] | None = None
    while not go.is_set():  # join the group (not timed); records read here are read again
        # a short poll: the round's clock starts at go, and a process sees go only between
        # polls (20 ms polls made it 15-22 ms late on a quiet machine, 37-53 under load)
        consumer.poll(timeout_ms=2, max_records=1)
        now = sorted((tp.topic, tp.partition) for tp in consumer.assignment())
        if now != last:
            ready.put((os.getpid(), now))
            last = now
    started = time.monotonic()
    assigned = list(consumer.assignment())
    consumer.seek_to_beginning(*assigned)
    end = consumer.end_offsets(assigned)
    cpu0 = time.process_time()
    # None: a rebalance in the timed window (seen 2026-12-07 23:46: UnknownMemberIdError, then
    # the partitions gone) — the round does not count, and is started again
    result = None
    while set(consumer.assignment()) == set(assigned):
        if not any(consumer.position(tp) < end[tp] for tp in assigned):
            proj.finish()
            ended = time.monotonic()
            proj.close()
            result = (started, proj.rows_written, ended, time.process_time() - cpu0)
            break
        proj.poll_once(0.5)
    results.put(result)
    consumer.close(autocommit=False)
    producer.close()
    engine.close()


def _results(results: Any, procs: list[Any], timeout: float) -> list[Any] | None:
    """Each process's result of the round, or None when one lost partitions to a rebalance
    (it says so) or died without a result (its exit code shows)."""
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(got) < len(procs):
        try:
            got.append(results.get(timeout=1))
        except queue.Empty:
            if any(p.exitcode not in (None, 0) for p in procs):
                return None
            if time.monotonic() > deadline:
                raise TimeoutError(f"projectors gave no result in {timeout:.0f} s") from None
            continue
        if got[-1] is None:
            return None
    return got


def projector_round(
    core: Any, topics: dict[str, str], partitions: int, db: str, batch_rows: int, processes: int
) -> tuple[float, int, float, float | None, float]:
    """Rows/s, rows, CPU seconds (all projector processes), ClickHouse's (in the timed window;
    None: unknown) and the seconds the last process took to see the go of ``processes`` projector
    processes in one fresh consumer group projecting the topics from the beginning. Timed from
    the moment every process holds its share of the partitions until the last one has
    inserted and committed its last batch.

    A fresh group that has not settled its assignment within 120 s (kafka-python 3.0 was seen
    to stall so, a few times a day on this machine) is given up — its processes killed before
    they project anything — and the round starts again with a new group, up to 3 times; so is
    a round in which a process loses partitions to a rebalance, or dies."""
    ctx = multiprocessing.get_context("spawn")
    for attempt in range(1, 4):
        engine = _engine(core)
        _fresh(engine, db)
        engine.close()
        ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        group = f"bench-{uuid.uuid4().hex[:8]}"
        args = (list(topics.values()), db, group, batch_rows, ready, go, results)
        procs = [ctx.Process(target=_projector_worker, args=args) for _ in range(processes)]
        for p in procs:
            p.start()
        try:
            if not _assigned(ready, processes, partitions * len(topics)):
                for p in procs:
                    p.kill()
                if attempt == 3:
                    raise RuntimeError(f"no settled assignment for {processes} processes, 3 times")
                print(f"group {group}: no settled assignment in 120 s, starting again",
                      file=sys.stderr)  # fmt: skip
                continue
            server0 = clickhouse_cpu_s(core)
            t0 = time.monotonic()
            go.set()
            done = _results(results, procs, 600)
            server = _spent(server0, clickhouse_cpu_s(core))
        finally:
            for p in procs:
                p.join(60)
                if p.is_alive():
                    p.kill()
        if done is None:
            if attempt == 3:
                raise RuntimeError(
                    f"{processes} processes: a rebalance or a death mid-round, 3 times"
                )
            print(f"group {group}: a rebalance or a dead process mid-round, starting again",
                  file=sys.stderr)  # fmt: skip
            continue
        secs = max(ended for _, _, ended, _ in done) - t0
        rows = sum(n for _, n, _, _ in done)
        late = max(started for started, _, _, _ in done) - t0
        return rows / secs, rows, sum(cpu for _, _, _, cpu in done), server, late
    raise AssertionError("unreachable")


def _assigned(
    ready: Any, processes: int, total: int, timeout_s: float = 120, quiet_s: float = 1.0
) -> bool:
    """Wait until the processes report disjoint shares that together hold all ``total``
    partitions, and no process has reported a change for ``quiet_s`` since; False when that has
    not happened within ``timeout_s``.

    The quiet second is for kafka-python: a join that a poll's timeout cut short is finished by
    one more JoinGroup round (projections.kafkajoin), a rebalance that can come after both
    processes already hold their shares. Seen with the 2 ms polls (20:45): a round whose group
    rebalanced after go (its commits refused with UnknownMemberIdError, 160,080 rows written for
    96,000 — replays, deduplicated in the tables but counted here), and rounds 2-3x slower."""
    held: dict[int, list[tuple[str, int]]] = {}
    deadline = time.monotonic() + timeout_s
    settled = False
    while True:
        wait = max(0.1, deadline - time.monotonic())
        try:
            pid, parts = ready.get(timeout=min(quiet_s, wait) if settled else wait)
        except queue.Empty:
            return settled  # quiet for quiet_s after settling, or the deadline passed
        if time.monotonic() > deadline:
            return False
        held[pid] = parts
        shares = list(held.values())
        union = {tp for share in shares for tp in share}
        settled = (
            len(held) == processes and all(shares) and len(union) == total
            and sum(len(x) for x in shares) == total
        )  # fmt: skip


def _create_topics(core: Any, topics: list[str], partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=core.kafka_bootstrap)
    admin.create_topics([NewTopic(t, partitions, 1) for t in topics])
    admin.close()
    probe = KafkaConsumer(bootstrap_servers=core.kafka_bootstrap)
    deadline = time.monotonic() + 30
    while not set(topics) <= probe.topics() and time.monotonic() < deadline:
        time.sleep(0.2)
    probe.close()


def throughput(
    core: Any, tag: str, tickets: int, batch_rows: int, rounds: int, partitions: int, processes: int
) -> dict[str, Any]:
    topics = _topics(tag)
    _create_topics(core, list(topics.values()), partitions)
    events = list(stream(tickets, tag))
    producer = KafkaProducer(
        bootstrap_servers=core.kafka_bootstrap, linger_ms=20, batch_size=1 << 20
    )
    _produce(producer, events, topics)
    producer.flush()
    producer.close()
    # the rows the projector writes, computed once for the raw side
    engine = _engine(core)
    _fresh(engine, f"bench_rows_{tag}")
    projection = Projection(engine, f"bench_rows_{tag}")
    batches = []
    for i in range(0, len(events), batch_rows):
        chunk = events[i : i + batch_rows]
        projection.load_state(chunk)
        batches.append(
            projection.project(
                [(e, Source("t", 0, j)) for j, e in enumerate(chunk)], datetime.now(UTC)
            )
        )
    engine.execute(f"DROP DATABASE bench_rows_{tag}")
    engine.close()
    rows = sum(b.row_count() for b in batches)
    raw_round(core, batches[:1], f"bench_raw_{tag}")  # warm-up: clickhouse-driver's lookup tables
    counts = sorted({1, processes})
    sides = ["raw", *(f"projector_{n}" for n in counts)]
    rate: dict[str, list[float]] = {s: [] for s in sides}
    cpu: dict[str, list[float]] = {s: [] for s in sides}
    server: dict[str, list[float | None]] = {s: [] for s in sides}
    late: dict[str, list[float]] = {s: [] for s in sides if s != "raw"}
    loads: list[float] = []
    for r in range(rounds):
        for side in sides[r % len(sides) :] + sides[: r % len(sides)]:  # rotate the order
            loads.append(os.getloadavg()[0])
            if side == "raw":
                x, n, c, ch = raw_round(core, batches, f"bench_raw_{tag}")
            else:
                x, n, c, ch, go = projector_round(
                    core,
                    topics,
                    partitions,
                    f"bench_proj_{tag}",
                    batch_rows,
                    int(side.split("_")[1]),
                )
                late[side].append(go)
            if n != rows:
                raise RuntimeError(f"{side} wrote {n} rows, expected {rows}")
            rate[side].append(x)
            cpu[side].append(c)
            server[side].append(ch)
    raw = statistics.median(rate["raw"])
    ratios = {n: statistics.median(rate[f"projector_{n}"]) / raw for n in counts}
    ratio = ratios[processes]
    return {
        "events": len(events), "rows": rows, "batch_rows": batch_rows, "partitions": partitions,
        "processes": processes,
        "raw_rows_per_s": [round(x) for x in rate["raw"]], "raw_cpu_s": [round(x, 2) for x in cpu["raw"]],
        "projector_rows_per_s": [round(x) for x in rate[f"projector_{processes}"]],
        "projector_cpu_s": [round(x, 2) for x in cpu[f"projector_{processes}"]],
        "projector_rows_per_s_by_processes": {
            str(n): [round(x) for x in rate[f"projector_{n}"]] for n in counts
        },
        "projector_cpu_s_by_processes": {
            str(n): [round(x, 2) for x in cpu[f"projector_{n}"]] for n in counts
        },
        "ratio_by_processes": {str(n): round(v, 3) for n, v in ratios.items()},
        "clickhouse_cpu_s_by_side": {
            s: [None if x is None else round(x, 2) for x in server[s]] for s in sides
        },
        "projector_go_seen_ms_by_processes": {
            str(n): [round(x * 1000, 1) for x in late[f"projector_{n}"]] for n in counts
        },
        "load_per_round": [round(x, 2) for x in loads],
        "ratio": round(ratio, 3), "target": RATIO_TARGET, "meets_target": ratio >= RATIO_TARGET,
    }  # fmt: skip


def latency(core: Any, tag: str, rate: int, seconds: float) -> dict[str, Any]:
    topics = _topics(tag)
    admin = KafkaAdminClient(bootstrap_servers=core.kafka_bootstrap)
    admin.create_topics([NewTopic(t, 3, 1) for t in topics.values()])
    admin.close()
    db = f"bench_lat_{tag}"
    env = {
        **os.environ,
        "TICKETSTREAM_CLICKHOUSE_DATABASE": db,
        "TICKETSTREAM_PROJECTIONS_GROUP": f"bench-lat-{tag}",
        "TICKETSTREAM_PROJECTIONS_TOPICS": ",".join(topics.values()),
    }
    cli = str(Path(sys.executable).parent / "ticketstream")
    proc = subprocess.Popen([cli, "projections", "run", "--metrics-port", "0"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    engine = _engine(core)
    producer = KafkaProducer(bootstrap_servers=core.kafka_bootstrap, linger_ms=5)
    try:
        warm = ticket_events(0, f"{tag}w", datetime.now(UTC), at=datetime.now(UTC))
        _produce(producer, warm, topics)
        producer.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if engine.execute(f"SELECT count() FROM {db}.events")[0][0] >= len(warm):
                    break
            except Exception:
                pass
            time.sleep(0.2)
        sent: dict[str, tuple[str, float]] = {}  # event id → (aggregate id, sent at)
        latencies: list[float] = []
        lock = threading.Lock()
        done = threading.Event()

        def poll() -> None:
            while True:
                with lock:
                    pending = dict(sent)
                if pending:
                    aggs = sql_literal(sorted({a for a, _ in pending.values()}))[1:-1]
                    ids = sql_literal(sorted(pending))[1:-1]
                    rows = engine.execute(
                        f"SELECT event_id FROM {db}.events WHERE aggregate_id IN ({aggs}) AND event_id IN ({ids})"
                    )
                    now = time.perf_counter()
                    with lock:
                        for (eid,) in rows:
                            if eid in sent:
                                latencies.append(now - sent.pop(eid)[1])
                elif done.is_set():
                    return
                time.sleep(0.05)

        poller = threading.Thread(target=poll)
        poller.start()
        n_events, n = 0, 1
        t0 = time.perf_counter()
        tick = 0.02
        per_tick = max(1, int(rate * tick))
        while time.perf_counter() - t0 < seconds:
            target = t0 + (n_events / rate)
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            batch: list[Any] = []
            while len(batch) < per_tick:
                batch.extend(ticket_events(n, tag, datetime.now(UTC), at=datetime.now(UTC)))
                n += 1
            now = time.perf_counter()
            for i, rec in enumerate(batch):
                if (n_events + i) % 25 == 0:
                    with lock:
                        sent[rec.envelope.event_id] = (rec.envelope.aggregate_id, now)
            _produce(producer, batch, topics)
            n_events += len(batch)
        producer.flush()
        produced_secs = time.perf_counter() - t0
        done.set()
        poller.join(60)
    finally:
        producer.close()
        proc.terminate()
        proc.wait(30)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    p99 = q[98]
    engine.close()
    return {
        "db": db, "topics": list(topics.values()), "target_rate": rate,
        "achieved_rate": round(n_events / produced_secs), "events": n_events + 6,
        "samples": len(latencies), "lost_samples": len(sent),
        "p50_s": round(q[49], 3), "p90_s": round(q[89], 3), "p99_s": round(p99, 3),
        "max_s": round(latencies[-1], 3) if latencies else None,
        "target_p99_s": P99_TARGET, "meets_target": p99 <= P99_TARGET,
    }  # fmt: skip


def rebuild_rate(core: Any, lat: dict[str, Any]) -> dict[str, Any]:
    engine = _engine(core)
    consumer = KafkaConsumer(bootstrap_servers=core.kafka_bootstrap, enable_auto_commit=False,
                             fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024)  # fmt: skip
    result = rebuild(engine, consumer, lat["db"], topics=tuple(lat["topics"]), progress=None)
    consumer.close()
    engine.close()
    return {"events": result.events, "rows": result.rows, "seconds": round(result.seconds, 2),
            "events_per_s": round(result.rate)}  # fmt: skip


def cleanup(core: Any, tag: str) -> None:
    engine = _engine(core)
    # the latency run's topics and database carry the tag + "l" (see main)
    for db in ("raw", "proj", "rows"):
        engine.execute(f"DROP DATABASE IF EXISTS bench_{db}_{tag}")
    for suffix in ("", "_old", "_rebuild"):
        engine.execute(f"DROP DATABASE IF EXISTS bench_lat_{tag}l{suffix}")
    engine.close()
    admin = KafkaAdminClient(bootstrap_servers=core.kafka_bootstrap)
    names = [t for t in admin.list_topics() if t.endswith(tag) or t.endswith(f"{tag}l")]
    if names:
        admin.delete_topics(names)
    admin.close()


def machine() -> str:
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    load = os.getloadavg()[0]
    return (f"{model}, {os.cpu_count()} cores (shared), load {load:.2f}; CPython "
            f"{platform.python_version()}, ClickHouse 18.16.1 server, {platform.platform()}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--tickets", type=int, default=6000, help="synthetic tickets for throughput (6 events each)"
    )
    ap.add_argument("--batch-rows", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--processes", type=int, default=2, help="projector processes in the group (also run: 1)"
    )
    ap.add_argument("--partitions", type=int, default=4, help="partitions of each bench topic")
    ap.add_argument("--rate", type=int, default=5000, help="events/s for the latency run")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument(
        "--clickhouse", choices=("tmpfs", "stack"), default="tmpfs",
        help="tmpfs: a private server of this run with its data in /dev/shm (default); "
        "stack: the dev stack's server",
    )  # fmt: skip
    ap.add_argument("--render", action="store_true", help="only rewrite the .md from the .json")
    args = ap.parse_args(argv)
    if args.render:
        md = render(json.loads((RESULTS / "projections.json").read_text()))
        (RESULTS / "projections.md").write_text(md)
        print(md)
        return 0
    load_before = os.getloadavg()
    tag = "b" + uuid.uuid4().hex[:8]
    with tmpfs_clickhouse() if args.clickhouse == "tmpfs" else contextlib.nullcontext():
        core = load_settings()
        try:
            thr = throughput(
                core, tag, args.tickets, args.batch_rows, args.rounds, args.partitions,
                args.processes,
            )  # fmt: skip
            print("throughput", thr, flush=True)
            lat = latency(core, f"{tag}l", args.rate, args.seconds)
            print("latency", lat, flush=True)
            reb = rebuild_rate(core, lat)
            print("rebuild", reb, flush=True)
        finally:
            cleanup(core, tag)
    out = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench.bench_projections " + " ".join(argv or sys.argv[1:]),
        "machine": machine(), "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "clickhouse": args.clickhouse,
        "throughput": thr, "latency": lat, "rebuild": reb,
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "projections.json").write_text(json.dumps(out, indent=2) + "\n")
    md = render(out)
    (RESULTS / "projections.md").write_text(md)
    print(md)
    return 0


def _loads(out: dict[str, Any]) -> str:
    if "load_before" not in out:
        return "not recorded"
    b, a = out["load_before"], out["load_after"]
    return f"1/5/15-min load average {b[0]}/{b[1]}/{b[2]} at the start, {a[0]}/{a[1]}/{a[2]} at the end"


def _rate_note(lat: dict[str, Any]) -> str:
    if lat["achieved_rate"] >= 0.9 * lat["target_rate"]:
        return ""
    return (
        f" The benchmark's producer reached only {lat['achieved_rate']:,} of "
        f"{lat['target_rate']:,} events/s (CPU-starved by the machine's load), so this run does "
        "not test the target rate."
    )


def render(out: dict[str, Any]) -> str:
    """The Markdown report of a result (``python -m bench.bench_projections --render``)."""
    thr, lat, reb = out["throughput"], out["latency"], out["rebuild"]
    counts = sorted(thr["projector_rows_per_s_by_processes"], key=int)

    def nums(xs: list[Any]) -> str:
        return ", ".join(f"{x:,}" for x in xs)

    proj_rows = "".join(
        f"| projector, {n} process{'es' if n != '1' else ''}: rows/s | {nums(thr['projector_rows_per_s_by_processes'][n])} |\n"
        f"| projector, {n} process{'es' if n != '1' else ''}: CPU seconds (all its processes) | {nums(thr['projector_cpu_s_by_processes'][n])} |\n"
        for n in counts
    )
    server = thr.get("clickhouse_cpu_s_by_side", {})  # runs before 2026-12-07 18:30 lack it
    seen = thr.get("projector_go_seen_ms_by_processes", {})  # and before 20:45 this
    seen_rows = "".join(
        f"| projector, {n} process{'es' if n != '1' else ''}: ms until the last process saw go | {nums(xs)} |\n"
        for n, xs in seen.items()
    )

    def side_name(side: str) -> str:
        if side == "raw":
            return "raw"
        n = side.removeprefix("projector_")
        return f"projector, {n} process{'es' if n != '1' else ''}"

    server_rows = "".join(
        f"| ClickHouse server CPU seconds in the timed window, {side_name(side)} | "
        f"{', '.join('n/a' if x is None else str(x) for x in xs)} |\n"
        for side, xs in server.items()
    )
    ratios = "; ".join(
        f"{n} process{'es' if n != '1' else ''}: **{thr['ratio_by_processes'][n]}**" for n in counts
    )
    return f"""# Projections benchmark

`{out["command"].strip()}`, {out["when"]}. The dev stack's Kafka 3.9 (KRaft, 1 node); ClickHouse 18.16.1: {_where(out)}.
Machine load: {_loads(out)} (2 shared cores: other engineers' tests and benchmarks run too).

## Throughput: projector vs raw clickhouse-driver columnar inserts (same rows, same run)

{thr["events"]:,} synthetic events (6 per ticket, keyed by ticket id) in {thr["partitions"]} partitions per topic → {thr["rows"]:,} rows in 5 tables (+ the rollup view), batches of {thr["batch_rows"]:,}. Rounds alternate the sides (order rotated).

| side | per round |
|---|---|
| raw: precomputed rows, `Client.execute(..., columnar=True)` per table, one client: rows/s | {nums(thr["raw_rows_per_s"])} |
| raw: CPU seconds of the benchmark process | {nums(thr["raw_cpu_s"])} |
{proj_rows}{seen_rows}{server_rows}| load average when each run started | {", ".join(str(x) for x in thr["load_per_round"])} |

Ratio projector/raw (medians) — {ratios}. Target {RATIO_TARGET} for {thr["processes"]} processes (`TICKETSTREAM_PROJECTIONS_PROCESSES={thr["processes"]}`): {"met" if thr["meets_target"] else "NOT met"}.

A projector run: fresh consumer group of N spawned processes, each with the production consumer
(`projections.service.make_consumer`), GC setting (`tune_gc`) and projector; timed from the moment
every process holds its share of the partitions until the last one has inserted its last batch and
committed (Kafka fetch + record parsing, Avro decode, projection, the same inserts, commits). The
raw side's time is mostly ClickHouse's (the `events` insert feeds the rollup's materialized view);
the projector also spends its own CPU (the CPU rows), which on 2 shared cores competes with
ClickHouse and with the other engineers' work: compare the CPU seconds, which load changes less.
The server CPU rows say what the same rows cost ClickHouse in each round. With its data on this
machine's root filesystem (ext4 without a journal) that cost climbs over consecutive rounds of
either side (0.3 -> 1.2 s: the inode allocator skips the files the earlier rounds deleted), so a
round pays for the rounds before it and a slow raw side flatters the ratio; hence the default, a
server with its data on tmpfs, where it is steady and the raw side at its fastest.

## Event → queryable latency (`ticketstream projections run`, default settings: 1 process, 5,000 rows / 0.5 s)

Target rate {lat["target_rate"]:,} events/s, achieved {lat["achieved_rate"]:,} events/s ({lat["events"]:,} events); {lat["samples"]} sampled events (every 25th), {lat["lost_samples"]} never seen.

| p50 | p90 | p99 | max |
|---|---|---|---|
| {lat["p50_s"]} s | {lat["p90_s"]} s | {lat["p99_s"]} s | {lat["max_s"]} s |

p99 target ≤ {P99_TARGET} s: {"met" if lat["meets_target"] else "NOT met"}.{_rate_note(lat)}

## Rebuild

{reb["events"]:,} events → {reb["rows"]:,} rows in {reb["seconds"]} s: **{reb["events_per_s"]:,} events/s** (replay into fresh tables + RENAME swap + catch-up).

Machine: {out["machine"]}.
{_notes(out)}"""


def _where(out: dict[str, Any]) -> str:
    kind = out.get("clickhouse", "stack")  # runs before 2026-12-07 20:00 used the dev stack's
    if kind == "tmpfs":
        return "a private server of this run, its data on tmpfs"
    return "the dev stack's server, its data on the root filesystem"


def _notes(out: dict[str, Any]) -> str:
    """The run's notes (``notes`` in the .json, added by hand after a run; then ``--render``)."""
    notes = out.get("notes") or []
    return "\n## Notes\n\n" + "\n".join(f"- {n}" for n in notes) + "\n" if notes else ""


if __name__ == "__main__":
    sys.exit(main())
