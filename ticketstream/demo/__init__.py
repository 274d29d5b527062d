"""``ticketstream demo``: the README's main command — a simulated support org end to end.

``run`` drives the stack, the services (``services``), the platforms' stand-in (``platforms``)
and the simulator, and reports from ClickHouse (``ticketstream.report``). ``smoke`` is the quick
smoke pipeline (``ticketstream demo --smoke``). See docs/demo.md.
"""

from __future__ import annotations

import argparse

from ticketstream.demo.smoke import SmokeError, run_smoke_pipeline
from ticketstream.settings import REPO_ROOT

__all__ = ["SmokeError", "register", "run_smoke_pipeline"]


def _positive(kind: type[float] | type[int]):  # type: ignore[no-untyped-def]
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
        return value

    return parse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "demo",
        help="set up the stack, simulate a Tesco-scale day through the pipeline, report",
        description="Start a fresh stack and the services, simulate one day of a Tesco-scale "
        "support org through the real gateway and command API, and print a report from "
        "ClickHouse checked against the simulator's ground truth (exit 1 if they disagree). "
        "See docs/demo.md.",
    )
    p.add_argument("--days", type=_positive(float), default=1.0, help="simulated days (default 1)")
    p.add_argument(
        "--compression",
        type=_positive(float),
        default=300.0,
        help="simulated seconds per wall second (default 300: a day in 4.8 min)",
    )
    p.add_argument("--seed", type=int, default=1, help="simulation seed (default 1)")
    p.add_argument(
        "--tickets-per-week",
        type=_positive(int),
        default=None,
        help="override the tesco preset's 40,000 tickets a week (a smaller, quicker run)",
    )
    p.add_argument("--workers", type=_positive(int), default=2, help="stream workers (default 2)")
    p.add_argument(
        "--dir", default=str(REPO_ROOT / "var" / "demo"), help="demo stack and runs (var/demo)"
    )
    p.add_argument(
        "--start-timeout",
        type=_positive(float),
        default=180.0,
        help="seconds for services to start",
    )
    p.add_argument(
        "--catch-up-timeout",
        type=_positive(float),
        default=300.0,
        help="seconds to wait for the workers and ClickHouse after the simulation (default 300)",
    )
    p.add_argument(
        "--keep-running", action="store_true", help="keep the services up after the report"
    )
    p.add_argument("--down", action="store_true", help="stop the demo's stack and exit")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="rebuild the latest run's report from the demo stack (still up) and its ground truth",
    )
    p.add_argument("--smoke", action="store_true", help="run the smoke pipeline on the dev stack")
    p.add_argument("--records", type=int, default=200, help="--smoke: records to send")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    if args.smoke:
        from ticketstream.demo.smoke import run_smoke

        return run_smoke(args)
    from ticketstream.demo import run

    if args.down:
        return run.down(args)
    if args.report_only:
        return run.report_only(args)
    return run.run_demo(args)
