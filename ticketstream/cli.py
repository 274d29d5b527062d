"""The ``ticketstream`` command line.

Each package contributes its subcommands from a ``cli`` module exposing
``register(subparsers) -> None``; a subcommand's parser sets ``func(args) -> int``.
Discovery is by module name so packages stay independent of each other.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from ticketstream.settings import SettingsError

COMMAND_MODULES = (
    "ticketstream.devstack.cli",
    "schemas.cli",
    "streams.cli",
    "connectors.cli",
    "projections.cli",
    "dashboards.cli",
    "ticketstream.simulate.cli",
    "ticketstream.bench.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ticketstream", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:
        print(f"ticketstream: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
