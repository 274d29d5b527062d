"""Benchmark: the router's state at many open tickets — rows per agent/ticket (current) against
the single-value state it replaced (commit 13ba15b), same events, same run, in-process (the
domain code and pickling; no broker).

Measures, at ``--tickets`` open tickets (default 20,000) and 40 agents:
- ingest: time to route the tickets in feed batches of 500;
- steady state: a batch of 500 events (250 tickets opened, 250 held tickets closed, each close
  freeing a seat that the dispatch fills): time per batch and the bytes the batch writes to the
  changelog (current: the changed rows; old: the whole state, one value);
- the largest changelog value (Kafka's default limit is 1,048,588 bytes).

    flock /work/team/bench.lock .venv/bin/python -m bench.bench_routing
writes bench/results/routing.{json,md}.
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
from pathlib import Path
from typing import Any

from schemas.records import Channel, Priority, TicketStatus
from streams.domain import router as new_router
from streams.domain import routing as new_routing
from tests.unit.streams.routing_feed import online, opened, status

OLD_COMMIT = "13ba15b"  # the last commit with the single-value router state
BATCH = 500
AGENTS = 40
CHANS = (Channel.LINE, Channel.EMAIL, Channel.WHATSAPP)
PRIOS = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)
RESULTS = Path(__file__).parent / "results"


def _old_modules() -> tuple[Any, Any]:
    """The old routing/router modules, loaded from git under private names."""
    root = Path(__file__).resolve().parent.parent
    mods = []
    for name in ("routing", "router"):
        src = subprocess.run(
            ["git", "show", f"{OLD_COMMIT}:streams/domain/{name}.py"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        src = src.replace("from streams.domain import routing as r", "import old_routing as r")
        mod = types.ModuleType(f"old_{name}")
        sys.modules[f"old_{name}"] = mod
        exec(compile(src, f"{OLD_COMMIT}:{name}.py", "exec"), mod.__dict__)
        mods.append(mod)
    return mods[0], mods[1]


def _workload(tickets: int) -> tuple[list[Any], list[list[Any]]]:
    agents = [e for i in range(AGENTS) for e in online(f"a{i:02}", 0, line=3, email=3)]
    opens = [opened(f"T{n:06}", n / 100, CHANS[n % 3], PRIOS[n % 4]) for n in range(tickets)]
    return agents + opens, []


def _steady_batches(held: list[str], start: int, n_batches: int) -> list[list[Any]]:
    batches = []
    for b in range(n_batches):
        closes = [
            status(tid, TicketStatus.OPEN, TicketStatus.CLOSED, 500 + b)
            for tid in held[b * 250 : (b + 1) * 250]
        ]
        opens = [
            opened(f"N{start + b * 250 + k:06}", 500 + b, CHANS[k % 3], PRIOS[k % 4])
            for k in range(250)
        ]
        batches.append(opens + closes)
    return batches


def run_new(events: list[Any], steady: int) -> dict[str, Any]:
    policy, strategy = new_routing.ReassignPolicy(), new_routing.Strategy.LEAST_LOADED
    state = new_routing.RoutingState()
    biggest = 0
    t0 = time.perf_counter()
    for i in range(0, len(events), BATCH):
        new_router.on_events(state, events[i : i + BATCH], policy, strategy)
        for _, row in state.take_changes():
            if row is not None:
                biggest = max(biggest, len(pickle.dumps(row, pickle.HIGHEST_PROTOCOL)))
    ingest = time.perf_counter() - t0
    times, written = [], []
    for batch in _steady_batches(_held_new(state), 0, steady):
        t0 = time.perf_counter()
        new_router.on_events(state, batch, policy, strategy)
        rows = [pickle.dumps(r, pickle.HIGHEST_PROTOCOL) for _, r in state.take_changes() if r]
        times.append(time.perf_counter() - t0)
        written.append(sum(len(r) for r in rows))
        biggest = max([biggest, *(len(r) for r in rows)])
    return _summary(ingest, times, written, biggest, state.waiting_count)


def _held_new(state: Any) -> list[str]:
    return sorted(t.ticket_id for t in state.tickets.values() if t.assignee)


def run_old(events: list[Any], steady: int, routing: Any, router: Any) -> dict[str, Any]:
    policy, strategy = routing.ReassignPolicy(), routing.Strategy.LEAST_LOADED
    state = routing.RoutingState()
    biggest = 0
    t0 = time.perf_counter()
    for i in range(0, len(events), BATCH):
        state, _ = router.on_events(state, events[i : i + BATCH], policy, strategy)
        biggest = max(biggest, len(pickle.dumps(state, pickle.HIGHEST_PROTOCOL)))
    ingest = time.perf_counter() - t0
    held = sorted(t.ticket_id for a in state.agents for t in a.open_tickets)
    times, written = [], []
    for batch in _steady_batches(held, 0, steady):
        t0 = time.perf_counter()
        state, _ = router.on_events(state, batch, policy, strategy)
        value = pickle.dumps(state, pickle.HIGHEST_PROTOCOL)
        times.append(time.perf_counter() - t0)
        written.append(len(value))
        biggest = max(biggest, len(value))
    return _summary(ingest, times, written, biggest, len(state.waiting))


def _summary(
    ingest: float, times: list[float], written: list[int], biggest: int, waiting: int
) -> dict[str, Any]:
    times.sort()
    return {
        "ingest_seconds": round(ingest, 3),
        "batch_ms_median": round(1000 * times[len(times) // 2], 2),
        "batch_ms_max": round(1000 * times[-1], 2),
        "changelog_bytes_per_batch_median": sorted(written)[len(written) // 2],
        "largest_changelog_value_bytes": biggest,
        "waiting_at_end": waiting,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=20_000)
    ap.add_argument("--steady-batches", type=int, default=20)
    args = ap.parse_args()
    events, _ = _workload(args.tickets)
    old_routing, old_router = _old_modules()
    new = run_new(events, args.steady_batches)
    old = run_old(events, args.steady_batches, old_routing, old_router)
    result = {
        "tickets": args.tickets,
        "agents": AGENTS,
        "batch": BATCH,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "rows": new,
        "single_value": old,
        "steady_batch_speedup": round(old["batch_ms_median"] / new["batch_ms_median"], 1),
        "changelog_bytes_ratio": round(
            old["changelog_bytes_per_batch_median"] / new["changelog_bytes_per_batch_median"], 1
        ),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "routing.json").write_text(json.dumps(result, indent=2) + "\n")
    md = [
        "# Router state: rows vs single value",
        "",
        f"`python -m bench.bench_routing --tickets {args.tickets}` — in-process (domain + pickle),"
        f" {AGENTS} agents, feed batches of {BATCH}, load average {result['load_average_1m']}"
        " (1 min) on the shared 2-core machine.",
        "",
        "| | rows (current) | single value (13ba15b) |",
        "|---|---|---|",
    ]
    for key in new:
        md.append(f"| {key.replace('_', ' ')} | {new[key]:,} | {old[key]:,} |")
    md += [
        "",
        f"Steady batch: {result['steady_batch_speedup']}× faster; changelog bytes per batch "
        f"{result['changelog_bytes_ratio']}× fewer. Kafka's default message limit is "
        "1,048,588 bytes.",
    ]
    (RESULTS / "routing.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
