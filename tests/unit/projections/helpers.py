"""Shared by the projections tests: normalise query results from either engine."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any


def norm(value: Any) -> Any:
    """One comparable form for a value from clickhouse-driver or chdb's JSON output."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        f = round(float(value), 3)
        return int(f) if f.is_integer() else f
    if isinstance(value, list | tuple):
        return tuple(norm(v) for v in value)
    return value


def norm_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [tuple(norm(v) for v in row) for row in rows]
