"""The analysts' SQL cookbook: one query per ``*.sql`` file (see docs/analysts.md).

Queries name tables without a database: run them with the projections' database as the
session's default (``clickhouse-client --database ticketstream``).
"""

from __future__ import annotations

from pathlib import Path

COOKBOOK_DIR = Path(__file__).parent


def queries() -> dict[str, str]:
    """name → SQL of every cookbook query (file name without ``.sql``)."""
    return {p.stem: p.read_text() for p in sorted(COOKBOOK_DIR.glob("*.sql"))}
