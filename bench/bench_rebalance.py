"""Rebalance pauses: how long a worker stops handling channel messages when a second worker joins
or leaves its group, and whether it waits on records no agent will ever ack.

    python -m bench.bench_rebalance [--cycles 8] [--rate 200] [--hold 12]

Worker A runs every agent on 4-partition topics of its own; a producer sends ``--rate``
channel messages per second from 2,000 customers for the whole run. Worker B is started, kept
``--hold`` seconds, and stopped (SIGTERM), ``--cycles`` times: two rebalances per cycle. The
output is the ticket events (one CustomerMessageAppended per message): the longest gap between
consecutive output records is the longest pause of the pipeline, and every ``wait_empty:
Waiting for tasks`` warning in the workers' logs is ~10 s a worker spent waiting, during a
rebalance, for records that had been started but not acked. Also checked: every message sent
was appended (duplicates allowed: a replay re-sends the same event ids); worker A gets up
to ``--drain`` seconds after the last send to catch up. Needs the dev stack. Writes
bench/results/rebalance.{json,md}.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from bench.bench_streams import drop_topics
from schemas import codec
from schemas import topics as names
from schemas.records import CustomerMessageAppended
from streams.testing import WorkerProcess, channel_messages, encoded, private_worker_env
from ticketstream.devstack.procs import free_port
from ticketstream.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"
STALL_WARNING = b"wait_empty: Waiting for tasks"


def produce_steadily(
    bootstrap: str,
    topic: str,
    records: list[tuple[bytes, bytes]],
    rate: float,
    stop: threading.Event,
) -> int:
    """Send ``records`` at ``rate`` per second until they run out or ``stop``; returns sent."""
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    sent, t0 = 0, time.monotonic()
    for key, value in records:
        if stop.is_set():
            break
        ahead = t0 + sent / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        p.send(topic, key=key, value=value)
        sent += 1
    p.flush()
    p.close()
    return sent


def output(bootstrap: str, topic: str) -> list[tuple[int, str]]:
    """(broker timestamp ms, message id) of every CustomerMessageAppended on ``topic``."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=5000)
    parts = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or ())]
    c.assign(parts)
    c.seek_to_beginning(*parts)
    ends = c.end_offsets(parts)
    out: list[tuple[int, str]] = []
    while any(c.position(tp) < ends[tp] for tp in parts):
        for recs in c.poll(timeout_ms=1000).values():
            for r in recs:
                event = codec.decode(r.value)
                if isinstance(event, CustomerMessageAppended):
                    out.append((r.timestamp, event.message_id))
    c.close()
    return sorted(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=8, help="worker B joins and leaves this often")
    ap.add_argument("--rate", type=float, default=200.0, help="channel messages per second")
    ap.add_argument("--hold", type=float, default=12.0, help="seconds between joins and leaves")
    ap.add_argument("--drain", type=float, default=240.0, help="seconds to wait for catch-up")
    ap.add_argument("--out", default=str(RESULTS / "rebalance"), help="results path stem")
    args = ap.parse_args()
    settings = Settings()  # type: ignore[call-arg]
    bootstrap = settings.kafka_bootstrap
    name = "rebal" + uuid.uuid4().hex[:8]
    env = private_worker_env(settings, name, "")  # every agent
    tmp = Path(tempfile.mkdtemp(prefix="bench-rebalance-"))
    workers = {
        w: WorkerProcess(
            f"{name}-{w}",
            {**env, "TICKETSTREAM_STREAMS_DATADIR": str(tmp / w)},
            free_port(),
            tmp / f"{w}.log",
        )
        for w in ("a", "b")
    }
    duration = args.cycles * 2 * args.hold + 30
    n = int(args.rate * duration)
    per_customer = n // 2000 + 1
    records = encoded(channel_messages(2000, per_customer))[:n]
    src = f"{name}.{names.CHANNEL_MESSAGES}"
    out_topic = f"{name}.{names.TICKET_EVENTS}"
    drain = float("nan")
    stop = threading.Event()
    sent = [0]
    a = workers["a"].start()
    rebalances: list[dict[str, float]] = []
    try:
        a.wait_ready(120)
        feeder = threading.Thread(
            target=lambda: sent.__setitem__(
                0, produce_steadily(bootstrap, src, records, args.rate, stop)
            ),
            daemon=True,
        )
        feeder.start()
        time.sleep(args.hold)
        for cycle in range(args.cycles):
            b = workers["b"]
            t_join = time.time()
            b.start()
            b.wait_ready(120)
            time.sleep(args.hold)
            t_leave = time.time()
            b.stop()
            rebalances.append({"cycle": cycle, "join": t_join, "leave": t_leave})
            time.sleep(args.hold)
            print(f"  [rebalance] cycle {cycle + 1}/{args.cycles} done", flush=True)
        stop.set()
        feeder.join()
        fed = time.monotonic()
        while time.monotonic() - fed < args.drain:  # A catches up with what was sent
            if len({k for _, k in output(bootstrap, out_topic)}) >= sent[0]:
                break
            time.sleep(5)
        drain = time.monotonic() - fed
    finally:
        stop.set()
        for w in workers.values():
            w.stop()
    out = output(bootstrap, out_topic)
    drop_topics(bootstrap, (f"{name}.", f"{name}-"))  # its topics and the app's changelogs
    keys = [k for _, k in out]
    gaps = [(b[0] - a_[0]) / 1000 for a_, b in itertools.pairwise(out)]
    warnings = {w: workers[w].log_path.read_bytes().count(STALL_WARNING) for w in workers}
    load = Path("/proc/loadavg").read_text().split()[:3]
    result = {
        "benchmark": "rebalance",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
        ).stdout.strip(),
        "python": platform.python_version(),
        "cycles": args.cycles,
        "rebalances": 2 * args.cycles,
        "rate_msgs_per_s": args.rate,
        "sent": sent[0],
        "appended": len(keys),
        "appended_distinct": len(set(keys)),
        "catch_up_after_last_send_s": round(drain, 1),
        "longest_pause_s": round(max(gaps, default=0.0), 2),
        "pauses_over_5_s": sum(1 for g in gaps if g > 5),
        "wait_empty_warnings": warnings,
        "load_after": load,
    }
    Path(args.out + ".json").write_text(json.dumps(result, indent=2) + "\n")
    Path(args.out + ".md").write_text(
        "# Rebalance pauses\n\n"
        f"Run {result['when']} on {result['commit']} (`python -m bench.bench_rebalance "
        f"--cycles {args.cycles} --rate {args.rate:g} --hold {args.hold:g}`), load after "
        f"{' '.join(load)}.\n\n"
        f"- rebalances: {result['rebalances']} (worker B joined and left {args.cycles} times)\n"
        f"- messages sent {result['sent']:,}, appended {result['appended']:,} "
        f"({result['appended_distinct']:,} distinct)\n"
        + (
            f"- caught up {result['catch_up_after_last_send_s']} s after the last send\n"
            if result["appended_distinct"] >= result["sent"]
            else f"- NOT caught up {result['catch_up_after_last_send_s']} s after the last send\n"
        )
        + f"- longest pause between output records: {result['longest_pause_s']} s; pauses over "
        f"5 s: {result['pauses_over_5_s']}\n"
        f"- `wait_empty: Waiting for tasks` warnings (each ~10 s of waiting): "
        f"{sum(warnings.values())} ({warnings})\n"
    )
    print(json.dumps(result, indent=2))
    return 0 if len(set(keys)) == sent[0] else 1


if __name__ == "__main__":
    raise SystemExit(main())
