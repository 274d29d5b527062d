"""``ticketstream sla tick``: drive the SLA engine's simulated clock.

    ticketstream sla tick --at 2026-11-23T09:00:00Z
    ticketstream sla tick --from 2026-11-23T00:00:00Z --to 2026-11-30T00:00:00Z --step 1m

Produces one ``SlaTick`` per partition of support.sla.ticks.v1 for each instant, for workers
running with ``TICKETSTREAM_SLA_CLOCK=simulated``. Kafka from TICKETSTREAM_KAFKA_BOOTSTRAP and the
topic prefix from TICKETSTREAM_STREAMS_TOPIC_PREFIX unless given.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime, timedelta

_STEP = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


def instant(text: str) -> datetime:
    """An ISO-8601 instant with a UTC offset (``Z`` allowed)."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 instant like 2026-11-23T09:00:00Z"
        ) from None
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset; add Z or e.g. +07:00")
    return at


def step(text: str) -> timedelta:
    """A positive duration like ``1s``, ``0.5s``, ``30s``, ``5m``, ``1h``, ``1h30m``, ``1d``."""
    m = _STEP.match(text.strip())
    if not m or not any(m.groups()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 1s, 30s, 5m, 1h")
    d, h, mi = (int(g or 0) for g in m.groups()[:3])
    delta = timedelta(days=d, hours=h, minutes=mi, seconds=float(m.group(4) or 0))
    if delta <= timedelta(0):
        raise argparse.ArgumentTypeError(f"{text!r}: the step must be positive")
    return delta


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("sla", help="SLA engine tools (simulated-clock ticks)")
    sub = p.add_subparsers(dest="sla_command", metavar="SLA_COMMAND", required=True)
    t = sub.add_parser(
        "tick",
        help="produce SlaTick records (every partition) for a simulated instant or a range",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    when = t.add_mutually_exclusive_group(required=True)
    when.add_argument("--at", type=instant, help="one instant (ISO-8601 with offset)")
    when.add_argument("--from", dest="start", type=instant, help="backfill start (with --to)")
    t.add_argument("--to", dest="end", type=instant, help="backfill end, ticked last")
    t.add_argument("--step", type=step, default=timedelta(minutes=1), help="default 1m")
    t.add_argument("--bootstrap", help="Kafka bootstrap (default TICKETSTREAM_KAFKA_BOOTSTRAP)")
    t.add_argument("--topic-prefix", help="default TICKETSTREAM_STREAMS_TOPIC_PREFIX")
    t.set_defaults(func=run_tick)


def run_tick(args: argparse.Namespace) -> int:
    from streams.settings import load_streams_settings
    from streams.sla.ticks import SlaTicker, SlaTickError
    from ticketstream.settings import load_settings

    if args.start is not None and args.end is None:
        print("ticketstream sla tick: --from needs --to", file=sys.stderr)
        return 2
    if args.at is not None and args.end is not None:
        print("ticketstream sla tick: --to goes with --from, not --at", file=sys.stderr)
        return 2
    bootstrap = args.bootstrap or load_settings().kafka_bootstrap
    prefix = (
        args.topic_prefix
        if args.topic_prefix is not None
        else load_streams_settings().streams_topic_prefix
    )
    try:
        with SlaTicker(bootstrap, topic_prefix=prefix) as ticker:
            if args.at is not None:
                n = ticker.tick(args.at)
                what = args.at.isoformat()
            else:
                n = ticker.tick_range(args.start, args.end, args.step)
                what = f"{args.start.isoformat()} .. {args.end.isoformat()} every {args.step}"
            print(f"{n} ticks on {ticker.topic} ({ticker.partitions} partitions): {what}")
    except SlaTickError as exc:
        print(f"ticketstream sla tick: {exc}", file=sys.stderr)
        return 1
    return 0
