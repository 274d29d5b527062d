"""The due-time index sweeps seconds up to now; entries never swept twice; late adds fire next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streams.sla.index import DueIndex

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def test_take_due_returns_only_what_is_due_in_due_order_once() -> None:
    table: dict[bytes, bytes] = {}
    idx = DueIndex(table)
    idx.add(0, "T-b", T0 + timedelta(seconds=5))
    idx.add(0, "T-a", T0)
    idx.add(0, "T-a", T0)  # the same deadline indexed twice
    idx.add(1, "T-c", T0)  # another partition
    assert idx.take_due(0, T0 + timedelta(seconds=4)) == ["T-a"]
    assert idx.take_due(0, T0 + timedelta(seconds=4)) == []
    assert idx.take_due(0, T0 + timedelta(seconds=5, milliseconds=500)) == ["T-b"]
    assert idx.take_due(1, T0) == ["T-c"]
    assert not [k for k in table if k.startswith(b"b:")]  # swept buckets are deleted


def test_a_deadline_added_behind_the_cursor_fires_at_the_next_tick() -> None:
    idx = DueIndex({})
    idx.add(0, "T-a", T0)
    assert idx.take_due(0, T0 + timedelta(seconds=10)) == ["T-a"]
    idx.add(0, "T-late", T0 + timedelta(seconds=3))  # e.g. a breach at a re-target
    assert idx.take_due(0, T0 + timedelta(seconds=11)) == ["T-late"]
