"""SlaTick records: one per partition of support.sla.ticks.v1 (produced to that partition)."""

from __future__ import annotations

from datetime import datetime

from schemas.records import SlaTick


def ticks(now: datetime, partitions: int) -> list[SlaTick]:
    """The ticks of one instant, one per partition."""
    return [SlaTick(p, now) for p in range(partitions)]
