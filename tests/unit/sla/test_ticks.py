"""The simulated clock's instants and the ``ticketstream sla tick`` argument parsing (no Kafka)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta, timezone

import pytest

from streams.sla.cli import instant, step
from streams.sla.ticks import SlaTickError, instants, ticks

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_one_tick_per_partition_for_the_instant() -> None:
    assert [(t.partition, t.now) for t in ticks(T0, 3)] == [(0, T0), (1, T0), (2, T0)]


def test_range_steps_then_ends_exactly_at_the_end() -> None:
    got = list(instants(T0, T0 + timedelta(seconds=25), timedelta(seconds=10)))
    assert got == [
        T0,
        T0 + timedelta(seconds=10),
        T0 + timedelta(seconds=20),
        T0 + timedelta(seconds=25),
    ]


def test_aligned_range_does_not_repeat_the_end() -> None:
    got = list(instants(T0, T0 + timedelta(minutes=2), timedelta(minutes=1)))
    assert got == [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]


def test_instants_are_converted_to_utc() -> None:
    bangkok = timezone(timedelta(hours=7))
    at = datetime(2026, 11, 23, 16, 0, tzinfo=bangkok)
    assert list(instants(at, at, timedelta(seconds=1))) == [T0]
    assert next(instants(at, at, timedelta(seconds=1))).tzinfo is UTC


def test_bad_ranges_are_refused_with_the_reason() -> None:
    with pytest.raises(SlaTickError, match="no time zone"):
        list(instants(T0.replace(tzinfo=None), T0, timedelta(seconds=1)))
    with pytest.raises(SlaTickError, match="before start"):
        list(instants(T0, T0 - timedelta(seconds=1), timedelta(seconds=1)))
    with pytest.raises(SlaTickError, match="step must be positive"):
        list(instants(T0, T0, timedelta(0)))
    with pytest.raises(SlaTickError, match="use a larger step"):
        list(instants(T0, T0 + timedelta(days=30), timedelta(seconds=1)))


def test_cli_parses_instants_with_offsets_and_steps() -> None:
    assert instant("2026-11-23T09:00:00Z") == T0
    assert instant("2026-11-23T16:00:00+07:00") == T0
    assert step("1h30m") == timedelta(minutes=90)
    assert step("0.5s") == timedelta(milliseconds=500)
    assert step("1d") == timedelta(days=1)


@pytest.mark.parametrize("text", ["2026-11-23T09:00:00", "yesterday"])
def test_cli_refuses_instants_without_offset_or_not_iso(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        instant(text)


@pytest.mark.parametrize("text", ["0s", "5 minutes", "", "-1m"])
def test_cli_refuses_bad_steps(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        step(text)
