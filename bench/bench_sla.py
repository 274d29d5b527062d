"""SLA timer benchmark: the index + fire path with 10k vs 1M active timers, memory vs rocksdict.

Measured in-process with the real table stores (a dict, as Faust's memory store; a rocksdict
``Rdict``, as Faust's RocksDB store) and the worker's own tick code (``streams.sla.firing``:
sweep, fire, Avro-encode the events, index next deadlines, save states). Not measured: the
Kafka round trips of the ticks and of the emitted events (loading 1M timers through a Faust
worker on this shared 2-core machine does not fit in a couple of minutes).

Each configuration runs in a child process (clean RSS). Per child: ``active`` timers due far in
the future plus two windows of real due timers (DUE_PER_SECOND per second, random milliseconds),
fired by ticks every 1.0 s and every 0.5 s. Lag = tick time − due + time into the tick until
that timer's events were encoded. Run: ``python -m bench.bench_sla``.
"""

from __future__ import annotations

import json
import os
import pickle
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
DUE_PER_SECOND = 1000
WINDOW_SECONDS = 8
ACTIVES = (10_000, 1_000_000)
STORES = ("memory", "rocksdict")


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def child(store: str, active: int) -> dict[str, Any]:
    from schemas import codec
    from streams.sla.firing import commit_tick, plan_tick
    from streams.sla.index import DueIndex
    from tests.unit.sla.helpers import bkk, opened, policies, run

    ps = policies()
    rng = random.Random(7)
    tmp = tempfile.mkdtemp(prefix="bench-sla-")
    table: Any
    if store == "rocksdict":
        from rocksdict import Rdict

        table = Rdict(tmp)
    else:
        table = {}
    index = DueIndex(table)
    base = bkk(2026, 11, 23, 11)  # Mon 11:00 Bangkok (due timers opened 90 min before, in hours)
    rss0 = _rss_mb()

    # The active timers: real states (opened at 09:00, policy FRT urgent 2 h) far from due.
    template, _ = run(ps, [opened(bkk(2026, 11, 23, 9))])
    blob = pickle.dumps(template, protocol=pickle.HIGHEST_PROTOCOL)
    t0 = time.perf_counter()
    for i in range(active):
        table[f"A-{i}".encode()] = bytes(bytearray(blob))  # a distinct ~0.9 KB value each
        index.add(0, f"A-{i}", base + timedelta(hours=2, seconds=i % 36_000))
    load_s = time.perf_counter() - t0

    # Due timers: the 75 % warning of a 2 h first-reply target lands in each window second.
    windows = []
    for w in range(2):
        start = base + timedelta(seconds=w * (WINDOW_SECONDS + 2))
        for s in range(WINDOW_SECONDS):
            for j in range(DUE_PER_SECOND):
                due = start + timedelta(seconds=s, milliseconds=rng.randrange(1000))
                st, _ = run(ps, [opened(due - timedelta(minutes=90))])
                key = f"D-{w}-{s}-{j}"
                table[key.encode()] = pickle.dumps(replace(st, ticket_id=key))  # type: ignore[type-var]
                index.add(0, key, due)
        windows.append(start)
    rss_loaded = _rss_mb()

    out: dict[str, Any] = {"store": store, "active": active, "load_seconds": round(load_s, 2)}
    for w, interval in enumerate((1.0, 0.5)):
        start = windows[w]
        lags: list[float] = []
        tick_s: list[float] = []
        fired = 0
        now = start + timedelta(seconds=interval - 0.001)
        while now <= start + timedelta(seconds=WINDOW_SECONDS + 1):
            t = time.perf_counter()
            plan = plan_tick(table, 0, now, ps)
            for f in plan.fired:
                for e in f.outcome.events:
                    codec.encode(e)
                into = time.perf_counter() - t
                lags.extend((now - d).total_seconds() + into for d in f.due)
                fired += len(f.due)
            commit_tick(table, plan)
            tick_s.append(time.perf_counter() - t)
            now += timedelta(seconds=interval)
        busy = [x for x in tick_s if x > 0]
        out[f"tick_{interval}s"] = {
            "deadlines_fired": fired,
            "ticks": len(tick_s),
            "tick_seconds_mean": round(sum(busy) / len(busy), 4),
            "tick_seconds_max": round(max(busy), 4),
            "fired_per_tick_mean": round(fired / len(tick_s), 1),
            "lag_p50_s": round(_pct(lags, 0.5), 3),
            "lag_p99_s": round(_pct(lags, 0.99), 3),
            "lag_max_s": round(max(lags), 3),
        }
    out["rss_mb_empty"] = round(rss0, 1)
    out["rss_mb_loaded"] = round(rss_loaded, 1)
    if store == "rocksdict":
        table.close()
    return out


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], int(sys.argv[3]))))
        return 0
    runs = []
    for store in STORES:
        for active in ACTIVES:
            t = time.perf_counter()
            res = subprocess.run(
                [sys.executable, "-m", "bench.bench_sla", "--child", store, str(active)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            r = json.loads(res.stdout.strip().splitlines()[-1])
            r["wall_seconds"] = round(time.perf_counter() - t, 1)
            runs.append(r)
            print(json.dumps(r), flush=True)
    by = {(r["store"], r["active"]): r for r in runs}
    ratios = {
        store: round(
            by[(store, ACTIVES[1])]["tick_1.0s"]["tick_seconds_mean"]
            / by[(store, ACTIVES[0])]["tick_1.0s"]["tick_seconds_mean"],
            2,
        )
        for store in STORES
    }
    result = {
        "what": "SLA index+fire path in-process with the real table stores (no Kafka round trips)",
        "due_per_second": DUE_PER_SECOND,
        "baseline": f"{ACTIVES[0]} active timers, same due counts",
        "tick_cost_ratio_1M_vs_10k_active": ratios,
        "runs": runs,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "note": "2 cores shared with six other engineers' sessions",
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sla.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# SLA timers benchmark",
        "",
        result["what"]
        + f"; {DUE_PER_SECOND} deadlines due per second; `python -m bench.bench_sla`.",
        "",
        "| store | active | tick 1 s: mean / max tick s | lag p50 / p99 / max s | tick 0.5 s: lag p50 / p99 s | RSS loaded MB |",
        "|---|---|---|---|---|---|",
    ]
    for r in runs:
        a, b = r["tick_1.0s"], r["tick_0.5s"]
        lines.append(
            f"| {r['store']} | {r['active']:,} | {a['tick_seconds_mean']} / {a['tick_seconds_max']} "
            f"| {a['lag_p50_s']} / {a['lag_p99_s']} / {a['lag_max_s']} "
            f"| {b['lag_p50_s']} / {b['lag_p99_s']} | {r['rss_mb_loaded']} |"
        )
    lines += [
        "",
        f"Tick cost ratio 1M vs 10k active (equal due counts): {ratios} (1.0 = independent of active).",
        f"Machine: {result['machine']}.",
        "",
    ]
    (RESULTS / "sla.md").write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
