"""Generated files (dashboards JSON, scrape configs, the metric table in docs/sre.md): write
them, or with ``--check`` fail naming the ones that are out of date (CI runs the check)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path


def write_or_check(
    description: str, render: Callable[[], Mapping[Path, str]], command: str,
    argv: list[str] | None = None,
) -> int:  # fmt: skip
    """The ``main`` of a generator: ``render()`` gives each file's wanted text; without
    ``--check`` write them, with it return 1 and say which differ and how to regenerate."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args(argv)
    files = render()
    if not args.check:
        for path, text in files.items():
            path.write_text(text)
        return 0
    stale = [p.name for p, text in files.items() if not p.exists() or p.read_text() != text]
    if stale:
        print(f"out of date: {', '.join(stale)}; run {command}")
        return 1
    return 0
