"""``ticketstream schemas check | catalogue | release``."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``schemas`` and its subcommands to the ``ticketstream`` parser."""
    from schemas import catalogue, loader

    parser = subparsers.add_parser("schemas", help="Avro schemas: compatibility, catalogue")
    sub = parser.add_subparsers(dest="schemas_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: parser.print_help() or 2)

    check = sub.add_parser(
        "check",
        help="fail when the schemas break FULL compatibility with a released version",
    )
    check.add_argument("--avsc", type=Path, default=loader.AVSC_DIR, help="current .avsc dir")
    check.add_argument(
        "--released", type=Path, default=loader.RELEASED_DIR, help="released versions (v1, v2 …)"
    )
    check.set_defaults(func=_check)

    cat = sub.add_parser("catalogue", help="write the catalogue page docs/schemas.md")
    cat.add_argument("--avsc", type=Path, default=loader.AVSC_DIR)
    cat.add_argument("--output", type=Path, default=catalogue.DOC_PATH)
    cat.add_argument(
        "--check", action="store_true", help="only fail (exit 1) when the page is out of date"
    )
    cat.set_defaults(func=_catalogue)

    release = sub.add_parser(
        "release", help="snapshot the current .avsc files as the next released version"
    )
    release.add_argument("--avsc", type=Path, default=loader.AVSC_DIR)
    release.add_argument("--released", type=Path, default=loader.RELEASED_DIR)
    release.set_defaults(func=_release)


def _check(args: argparse.Namespace) -> int:
    from schemas import compat, loader

    problems, versions = compat.check(args.avsc, args.released)
    count = len(loader.load_records(args.avsc))
    if problems:
        print(f"schemas check: {len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    against = ", ".join(versions) if versions else "no released version (nothing to compare)"
    print(f"schemas check: OK — {count} records, FULL compatible with {against}")
    return 0


def _catalogue(args: argparse.Namespace) -> int:
    from schemas import catalogue

    page = catalogue.render(args.avsc)
    output: Path = args.output
    current = output.read_text(encoding="utf-8") if output.exists() else None
    if args.check:
        if current != page:
            print(
                f"schemas catalogue: {output} is out of date; run `ticketstream schemas "
                "catalogue` and commit it",
                file=sys.stderr,
            )
            return 1
        print(f"schemas catalogue: {output} is up to date")
        return 0
    if current != page:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(page, encoding="utf-8")
    print(f"schemas catalogue: wrote {output}")
    return 0


def _release(args: argparse.Namespace) -> int:
    from schemas import compat, loader

    problems, _ = compat.check(args.avsc, args.released)
    if problems:
        print("schemas release: refused; `schemas check` fails:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    versions = [int(v[1:]) for v, _ in loader.released_versions(args.released) if v[1:].isdigit()]
    target: Path = args.released / f"v{max(versions, default=0) + 1}"
    target.mkdir(parents=True)
    for path in sorted(Path(args.avsc).glob("*.avsc")):
        shutil.copyfile(path, target / path.name)
    print(f"schemas release: wrote {target}")
    return 0


def run(argv: list[str]) -> int:
    """Run ``ticketstream schemas <argv>`` without the other packages' commands (tests, tools)."""
    parser = argparse.ArgumentParser(prog="ticketstream")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["schemas", *argv])
    return int(args.func(args))
