"""``ticketstream bench [--only gateway,sla] [--lock PATH] [--list]``."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ticketstream.bench.runner import BENCHMARKS, DEFAULT_LOCK

    p = subparsers.add_parser(
        "bench",
        help="run every benchmark (one at a time, under a lock) and write bench/results/SUMMARY.md",
        description="Run the benchmarks one after another under an exclusive file lock; each "
        "writes its JSON to bench/results/, the suite adds SUMMARY.md (a table of every metric "
        "with its baseline, ratio and target, and the machine's details) and suite.json. "
        f"Benchmarks: {', '.join(b.name for b in BENCHMARKS)}.",
    )
    p.add_argument("--only", help="comma-separated benchmarks to run (default: all)")
    p.add_argument(
        "--lock",
        type=Path,
        default=DEFAULT_LOCK,
        help=f"lock file shared with other benchmark runs (default {DEFAULT_LOCK}; "
        "on the team machine /work/team/bench.lock)",
    )
    p.add_argument(
        "--args",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="extra arguments for one benchmark, e.g. --args 'gateway=--rounds 3' (repeatable)",
    )
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument(
        "--summary-only",
        action="store_true",
        help="run nothing: rebuild SUMMARY.md from the last suite run (suite.json, suite/*.json) "
        "or the JSON files in bench/results/",
    )
    p.set_defaults(func=run)


def parse_extra_args(items: list[str]) -> dict[str, list[str]]:
    """``["gateway=--rounds 3"]`` → ``{"gateway": ["--rounds", "3"]}``."""
    from ticketstream.bench.runner import BenchError, select

    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, rest = item.partition("=")
        if not sep:
            raise BenchError(f"--args {item!r}: write NAME=ARGS, e.g. 'gateway=--rounds 3'")
        select(name.strip())  # raises for an unknown name
        out.setdefault(name.strip(), []).extend(shlex.split(rest))
    return out


def rerender_summary(results: Path, benches: list[Any], command: str) -> str:
    """SUMMARY.md again from what is on disk: the last suite run's snapshots (``suite/``) and
    runs (``suite.json``) when there are any, else the benchmarks' own JSON files."""
    import json
    from datetime import UTC, datetime

    from ticketstream.bench.runner import collect, machine_info
    from ticketstream.bench.summary import Run, render_summary

    suite = results / "suite.json"
    runs: dict[str, Run] = {}
    machine, when = machine_info(), datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if suite.exists():
        data = json.loads(suite.read_text())
        runs = {
            r["name"]: Run(**{**r, "load_before": tuple(r["load_before"]),
                               "load_after": tuple(r["load_after"])})
            for r in data.get("runs", [])
        }  # fmt: skip
        machine, when = data.get("machine", machine), data.get("when", when)
        command = data.get("command", command)
    metrics = []
    for b in benches:
        snap = results / "suite"
        where = snap if (snap / b.results).exists() and b.name in runs else results
        metrics += collect(b, runs.get(b.name), where)
    text = render_summary(
        metrics, [runs[b.name] for b in benches if b.name in runs], machine, when=when,
        command=command,
    )  # fmt: skip
    (results / "SUMMARY.md").write_text(text)
    return text


def run(args: argparse.Namespace) -> int:
    from ticketstream.bench.runner import (
        BENCHMARKS,
        RESULTS_DIR,
        BenchError,
        run_suite,
        select,
    )

    if args.list:
        for b in BENCHMARKS:
            print(f"{b.name:<12} python -m {b.module:<26} → bench/results/{b.results}"
                  + ("  (needs the dev stack)" if b.needs_stack else ""))  # fmt: skip
        return 0
    try:
        benches = select(args.only)
        extra = parse_extra_args(args.args)
    except BenchError as exc:
        print(f"ticketstream bench: {exc}")
        return 2
    command = "ticketstream bench" + (f" --only {args.only}" if args.only else "")
    if args.summary_only:
        text = rerender_summary(RESULTS_DIR, benches, command)
        print(text)
        return 0

    def ensure_stack() -> None:
        from ticketstream.devstack import Stack
        from ticketstream.settings import load_settings

        for name, what in Stack(load_settings()).up().items():
            print(f"  {name:<11} {what}")

    try:
        runs, _ = run_suite(
            benches, lock=args.lock, extra_args=extra, ensure_stack=ensure_stack, command=command
        )
    except BenchError as exc:
        print(f"ticketstream bench: {exc}")
        return 2
    print((RESULTS_DIR / "SUMMARY.md").read_text())
    failed = [r.name for r in runs if r.exit_status != 0 or not r.fresh]
    if failed:
        print(f"ticketstream bench: no fresh results from {', '.join(failed)} (see var/bench/logs)")
        return 1
    return 0
