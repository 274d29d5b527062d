"""``ticketstream demo`` (placeholder until the smoke pipeline lands)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("demo", help="bring the stack up and run the demo")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print("ticketstream demo: not implemented yet")
    return 1
