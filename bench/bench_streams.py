"""Benchmark: channel messages through threading + the ticket aggregate (one Faust worker,
4 partitions, the real broker) vs raw aiokafka consume→produce of the same messages, same run.

    python -m bench.bench_streams [--customers 4000] [--per-customer 5] [--open-tickets 100000]
    python -m bench.bench_streams --offline-cpu [--repeat 5]

``--offline-cpu`` needs no broker: it runs the worker's record path (``thread_channel_messages``'s
handler and the ticket aggregate, in batches of 2,000, tables as dicts) over the same messages in
this process, with the worker's GC settings, and prints the CPU time per message of deciding and
of pickling the states (min of ``--repeat`` runs): where the worker's CPU goes, measured without
the broker, Faust or the load of other processes. Writes nothing.

Needs the dev stack (``ticketstream dev up``; TICKETSTREAM_KAFKA_BOOTSTRAP). Topics are unique
per run. Both sides read the same pre-produced messages from the start of a 4-partition topic;
each side's rate is messages / (last output record's timestamp − first output record's
timestamp), so start-up time is excluded from both — for the worker, the messages after its
first batch (``worker_rate``: the first batch's work is before its first output). The worker's
output is counted as the CustomerMessageAppended events on support.tickets.events.v1 (one per
message).
Then more one-message customers are sent until ``--open-tickets`` tickets are open, and the
worker's RSS is read from /proc. Writes bench/results/streams.json and .md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from schemas import codec
from schemas import topics as names
from schemas.records import CustomerMessageAppended, TicketOpened
from streams.settings import StreamsSettings
from streams.testing import WorkerProcess, channel_messages, encoded
from streams.topics_admin import ensure_topics
from ticketstream.devstack.procs import free_port
from ticketstream.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_RATIO, TARGET_RATE = 0.3, 5000.0


def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=262144)
    for k, v in records:
        p.send(topic, key=k, value=v)
    p.flush()
    p.close()


FIRST_BATCH_MS = 50  # the worker's batches commit ~150-300 ms apart


def span_of_output(
    bootstrap: str, topic: str, count, want: int, timeout: float
) -> tuple[int, float, int]:
    """(records counted, seconds between first and last output timestamps, records counted
    within FIRST_BATCH_MS of the first output: the worker's first batch)."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=5000)
    parts = [TopicPartition(topic, p) for p in range(4)]
    c.assign(parts)
    c.seek_to_beginning(*parts)
    n, first, last = 0, None, 0
    stamps = []
    deadline = time.monotonic() + timeout
    while n < want and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=500).values():
            for r in recs:
                first = r.timestamp if first is None else min(first, r.timestamp)
                if count(r.value):
                    n += 1
                    last = max(last, r.timestamp)
                    stamps.append(r.timestamp)
    c.close()
    start = first or last
    return n, (last - start) / 1000.0, sum(1 for t in stamps if t <= start + FIRST_BATCH_MS)


def worker_rate(got: int, span: float, first_batch: int) -> float:
    """The worker's messages/s: the messages after its first batch over the time from that
    batch's output to the last. A batch's events are all stamped when it commits, so the span
    holds the work of every batch but the first: counting the first batch's messages too
    overstated the rate by n/(n-1) for n batches (~11 % at 20,000 messages in batches of
    2,000; the reported rates did so until 2026-12-07 23:45). The raw side sends each record
    as it goes (no batches), so its rate stays messages / span."""
    return (got - first_batch) / span if span else float("inf")


async def raw_pipe(bootstrap: str, src: str, dst: str, n: int) -> None:
    consumer = AIOKafkaConsumer(src, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    try:
        seen = 0
        while seen < n:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            for recs in batches.values():
                for r in recs:
                    await producer.send(dst, key=r.key, value=r.value)
                    seen += 1
        await producer.flush()
    finally:
        await consumer.stop()
        await producer.stop()


def is_append(value: bytes) -> bool:
    return isinstance(codec.decode(value), CustomerMessageAppended)


def records_per_message(bootstrap: str, topics: dict[str, str], n: int) -> dict[str, float]:
    """Records written to each topic (sum of end offsets of its partitions) per input message."""
    c = KafkaConsumer(bootstrap_servers=bootstrap)
    out = {}
    for label, topic in topics.items():
        parts = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or ())]
        out[label] = round(sum(c.end_offsets(parts).values()) / n, 2) if parts else 0.0
    c.close()
    return out


def drop_topics(bootstrap: str, prefixes: tuple[str, ...]) -> None:
    """Delete this run's topics (its prefix, its app's changelogs). Every run makes ~25; left
    on the shared dev broker they pile up (1,501 topics seen), and every client that asks for
    all topics' metadata (a worker's producer at start) decodes them in Python."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        mine = [t for t in admin.list_topics() if t.startswith(prefixes)]
        if mine:
            admin.delete_topics(mine)
    finally:
        admin.close()


def source_commit() -> str:
    """The commit the worker runs (``+dirty`` when its streams/ or schemas/ files differ)."""
    root = Path(__file__).resolve().parent.parent
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "streams", "schemas"],
                           cwd=root).returncode  # fmt: skip
    return head + ("+dirty" if dirty else "")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def offline_cpu(customers: int, per_customer: int, repeat: int) -> dict[str, float]:
    """CPU µs per message of the record path and of pickling the states (min of ``repeat``)."""
    import os as _os

    _os.environ.setdefault(
        "TICKETSTREAM_STREAMS_AGENTS", "thread_channel_messages,handle_ticket_commands"
    )
    _os.environ.setdefault("TICKETSTREAM_STREAMS_STORE", "memory")
    import importlib
    import sys

    from aiokafka.partitioner import murmur2

    from streams.statecodec import dumps

    importlib.import_module("streams.app")  # first: it imports the agents and streams.runtime
    htc = sys.modules["streams.agents.handle_ticket_commands"]
    tcm = sys.modules["streams.agents.thread_channel_messages"]
    runtime = sys.modules["streams.runtime"]
    from streams.cli import _tune_gc

    _tune_gc()  # the worker's GC settings (its CPU per message depends on them)

    class Message:  # what the handlers read of a Kafka record
        def __init__(self, key: bytes, value: bytes, partition: int, offset: int) -> None:
            self.topic, self.key, self.value = "bench", key, value
            self.partition, self.offset, self.timestamp = partition, offset, None

    class Event:  # weak-referenceable, as Faust's events
        def __init__(self, message: Message) -> None:
            self.message = message

    class Table:  # a table's name and a dict as its store
        def __init__(self, name: str) -> None:
            self.name, self.data = name, {}

    records = encoded(channel_messages(customers, per_customer))
    events = [
        Event(Message(k, v, (murmur2(k) & 0x7FFFFFFF) % 4, i)) for i, (k, v) in enumerate(records)
    ]
    real = tcm.conversations, htc.tickets, htc.ticket_history
    best = {"record_path_us_per_msg": float("inf"), "pickle_states_us_per_msg": float("inf")}
    try:
        for _ in range(repeat):
            tables = [Table(t.name) for t in real]
            tcm.conversations, htc.tickets, htc.ticket_history = tables
            runtime._STATE_CACHE.clear()
            decide = pickle = 0.0
            for b in range(0, len(events), 2000):
                uow = runtime.UnitOfWork()
                c0 = time.process_time()
                for event in events[b : b + 2000]:
                    uow.begin()
                    tcm._handle(uow, event)  # type: ignore[arg-type]
                    uow.keep()
                c1 = time.process_time()
                raws = [(k, value, dumps(value)) for k, (_, value, _) in uow._writes.items()]
                c2 = time.process_time()
                for (name, key), value, raw in raws:
                    next(t for t in tables if t.name == name).data[key] = raw
                    runtime._STATE_CACHE[(name, key)] = value
                decide, pickle = decide + c1 - c0, pickle + c2 - c1
            n = len(events)
            best["record_path_us_per_msg"] = min(best["record_path_us_per_msg"], 1e6 * decide / n)
            best["pickle_states_us_per_msg"] = min(
                best["pickle_states_us_per_msg"], 1e6 * pickle / n
            )
    finally:
        tcm.conversations, htc.tickets, htc.ticket_history = real
    return {k: round(v, 1) for k, v in best.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=4000)
    ap.add_argument("--per-customer", type=int, default=5)
    ap.add_argument("--open-tickets", type=int, default=100_000)
    ap.add_argument(
        "--agents",
        default="thread_channel_messages,handle_ticket_commands",
        help="agent modules the worker loads (default: threading + ticket aggregate; '' = all)",
    )
    ap.add_argument("--offline-cpu", action="store_true", help="CPU of the record path, no broker")
    ap.add_argument("--repeat", type=int, default=5, help="runs of --offline-cpu (min is kept)")
    args = ap.parse_args()
    if args.offline_cpu:
        cpu = offline_cpu(args.customers, args.per_customer, args.repeat)
        print(json.dumps({"messages": args.customers * args.per_customer, **cpu}, indent=2))
        return 0
    settings = Settings()  # type: ignore[call-arg]
    bootstrap = settings.kafka_bootstrap
    commit = source_commit()
    run = "bench" + uuid.uuid4().hex[:8]
    prefix = f"{run}."
    ensure_topics(settings, StreamsSettings(streams_topic_prefix=prefix))  # type: ignore[call-arg]
    src = prefix + names.CHANNEL_MESSAGES
    n = args.customers * args.per_customer
    messages = encoded(channel_messages(args.customers, args.per_customer))
    produce(bootstrap, src, messages)

    # baseline: raw aiokafka consume → produce of the same messages
    raw_dst = prefix + "bench.raw.v1"
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(raw_dst, 4, 1)])
    admin.close()
    asyncio.run(raw_pipe(bootstrap, src, raw_dst, n))
    raw_n, raw_span, _ = span_of_output(bootstrap, raw_dst, lambda v: True, n, 120)
    raw_rate = raw_n / raw_span if raw_span else float("inf")

    # the worker: threading + ticket aggregate (and the rest of the app), one process
    tmp = Path(tempfile.mkdtemp(prefix="bench-streams-"))
    worker = WorkerProcess("bench", {
        "TICKETSTREAM_STREAMS_APP_ID": run, "TICKETSTREAM_STREAMS_TOPIC_PREFIX": prefix,
        "TICKETSTREAM_STREAMS_DATADIR": str(tmp / "data"), "TICKETSTREAM_STREAMS_STORE": "rocksdict",
        "TICKETSTREAM_STREAMS_AGENTS": args.agents,
    }, free_port(), tmp / "worker.log")  # fmt: skip
    worker.start()
    try:
        worker.wait_ready(120)
        events = prefix + names.TICKET_EVENTS
        got, span, first_batch = span_of_output(bootstrap, events, is_append, n, 600)
        rate = worker_rate(got, span, first_batch)
        per_message = records_per_message(bootstrap, {
            "ticket events": events,
            "ticket commands (hop)": prefix + names.TICKET_COMMANDS,
            **{f"changelog {t}": f"{run}-{t}-changelog"
               for t in ("conversations", "tickets", "ticket_history")},
            "dead letters": prefix + names.DEAD_LETTER,
        }, n)  # fmt: skip
        # fill up to --open-tickets open tickets with one-message customers
        extra = max(0, args.open_tickets - args.customers)
        more = channel_messages(extra, 1, start=datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
        # distinct conversations from the first phase: suffix the keys
        more_enc = encoded([
            type(m)(**{**{f: getattr(m, f) for f in m.__dataclass_fields__},
                       "conversation_key": m.conversation_key + "x",
                       "dedup_key": m.dedup_key + "x"})
            for m in more
        ])  # fmt: skip
        produce(bootstrap, src, more_enc)
        total, _, _ = span_of_output(
            bootstrap, events, lambda v: isinstance(codec.decode(v), TicketOpened),
            args.customers + extra, 900,
        )  # fmt: skip
        rss = rss_mb(worker.proc.pid) if worker.proc else float("nan")
    finally:
        worker.stop()
        drop_topics(bootstrap, (prefix, f"{run}-"))
    ratio = rate / raw_rate
    result = {
        "benchmark": "streams",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "messages": n,
        "customers": args.customers,
        "agents": args.agents or "all",
        "raw_aiokafka_msgs_per_s": round(raw_rate, 1),
        "worker_msgs_per_s": round(rate, 1),
        "worker_first_batch_messages": first_batch,
        "ratio": round(ratio, 3),
        "records_per_input_message": per_message,
        "target_ratio": TARGET_RATIO,
        "target_msgs_per_s": TARGET_RATE,
        "open_tickets": total,
        "worker_rss_mb_at_open_tickets": round(rss, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "load": os.getloadavg()[0],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "streams.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "streams.md").write_text(
        f"# Streams benchmark: threading + ticket aggregate vs raw aiokafka\n\n"
        f"`python -m bench.bench_streams`, {result['when']}, commit {commit}; {n:,} channel "
        f"messages from "
        f"{args.customers:,} customers over 6 channels, one worker, 4 partitions, real broker.\n\n"
        f"| side | messages/s |\n|---|---|\n"
        f"| baseline: raw aiokafka consume → produce (acks=all) | {raw_rate:,.0f} |\n"
        f"| worker: thread messages → ticket commands → ticket aggregate → events | {rate:,.0f} |\n\n"
        f"The worker's rate counts the messages after its first batch ({first_batch:,} "
        f"messages, whose work is before the first output) over the time from that batch's "
        f"output to the last; the raw side sends each record as it goes: messages / span.\n\n"
        f"**Ratio worker/baseline: {ratio:.2f}** (target ≥ {TARGET_RATIO}); worker "
        f"{rate:,.0f} msg/s (target ≥ {TARGET_RATE:,.0f}).\n\n"
        f"Records written per input message (phase 1): "
        + ", ".join(f"{k} {v}" for k, v in per_message.items())
        + ".\n\n"
        f"RSS of the worker with {total:,} open tickets (rocksdict store): **{rss:,.0f} MB**.\n\n"
        f"Machine: {os.cpu_count()} cores (shared), load {os.getloadavg()[0]:.2f}; "
        f"CPython {platform.python_version()}, {platform.platform()}.\n"
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
