"""``ticketstream dev up|down|status|logs`` (the local stack) and ``ticketstream demo``."""

from __future__ import annotations

import argparse
import os
import sys
import time

from ticketstream.devstack.stack import SERVICES, Stack, StackError
from ticketstream.settings import load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dev = subparsers.add_parser(
        "dev",
        help="the local stack: Kafka, ClickHouse, Prometheus on 127.0.0.1 (no Docker)",
        description="Start, stop and inspect the local stack. Ports and dirs come from settings "
        "(TICKETSTREAM_*); see README.md.",
    )
    sub = dev.add_subparsers(dest="dev_command", metavar="ACTION", required=True)
    p = sub.add_parser("up", help="install what is missing and start every server (idempotent)")
    p.set_defaults(func=cmd_up)
    p = sub.add_parser("down", help="stop the servers this stack started (its pid files)")
    p.set_defaults(func=cmd_down)
    p = sub.add_parser("status", help="which servers run and answer; exit 0 only when all do")
    p.add_argument("--no-check", action="store_true", help="skip the round trips")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("logs", help="print the tail of the servers' logs")
    p.add_argument("services", nargs="*", metavar="SERVICE", help=" ".join(SERVICES))
    p.add_argument("-n", "--lines", type=int, default=40)
    p.add_argument("-f", "--follow", action="store_true")
    p.set_defaults(func=cmd_logs)

    from ticketstream import demo

    demo.register(subparsers)


def _fail(action: str, exc: Exception) -> int:
    print(f"ticketstream dev {action}: {exc}", file=sys.stderr)
    return 1


def cmd_up(args: argparse.Namespace) -> int:
    stack = Stack(load_settings())
    t0 = time.monotonic()
    try:
        result = stack.up()
    except StackError as exc:
        return _fail("up", exc)
    for name, what in result.items():
        print(f"{name:<11} {what}")
    if all(w.startswith("already running") for w in result.values()):
        print("stack already running")
    else:
        print(f"stack up in {time.monotonic() - t0:.1f} s ({stack.dir})")
    s = stack.settings
    print(
        f"kafka {s.kafka_bootstrap} · clickhouse {s.clickhouse_host}:{s.clickhouse_port} · "
        f"prometheus {s.prometheus_url}"
    )
    if any("not answering" in w for w in result.values()):
        print(
            "ticketstream dev up: a server runs but does not answer; see `ticketstream dev logs`, "
            "or restart it with `ticketstream dev down && ticketstream dev up`",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stack = Stack(load_settings())
    try:
        stopped = stack.down()
    except StackError as exc:
        return _fail("down", exc)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    stack = Stack(load_settings())
    ok = True
    for st in stack.status(check=not args.no_check).values():
        ports = ",".join(str(p) for p in st.ports)
        if st.pid is None:
            state, ok = "stopped", False
        elif st.ready is False:
            state, ok = f"running pid {st.pid}, NOT answering: {st.detail}", False
        elif st.ready:
            state = f"running pid {st.pid}, ready"
        else:
            state = f"running pid {st.pid}"
        print(f"{st.name:<11} {state}  (ports {ports})")
    return 0 if ok else 1


def cmd_logs(args: argparse.Namespace) -> int:
    stack = Stack(load_settings())
    unknown = [n for n in args.services if n not in SERVICES]
    if unknown:
        print(
            f"ticketstream dev logs: unknown service {unknown[0]!r}; one of {', '.join(SERVICES)}",
            file=sys.stderr,
        )
        return 2
    files = [f for n in (args.services or SERVICES) for f in stack.log_files(n) if f.exists()]
    if not files:
        print(f"no logs yet under {stack.path('logs')}", file=sys.stderr)
        return 1
    cmd = ["tail", "-n", str(args.lines), *(["-F"] if args.follow else []), *map(str, files)]
    sys.stdout.flush()
    if args.follow:
        os.execvp("tail", cmd)
    import subprocess

    return subprocess.call(cmd)
