"""Business-hours arithmetic, expected values worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from streams.domain.calendar import (
    Schedule,
    ScheduleError,
    add_business_seconds,
    business_seconds_between,
)

H = 3600
WEEKDAYS_9_18 = {d: ((9 * 60, 18 * 60),) for d in range(5)}


def bkk(**kw: object) -> Schedule:
    return Schedule("bkk", "Asia/Bangkok", WEEKDAYS_9_18, **kw)  # type: ignore[arg-type]


def local(s: Schedule, dt: datetime) -> str:
    return dt.astimezone(s._tz).strftime("%a %Y-%m-%d %H:%M:%S")


def test_friday_1730_plus_two_hours_is_monday_1030_in_bangkok() -> None:
    s = bkk()
    # Fri 2026-11-20 17:30 +07:00 = 10:30 UTC; 30 min Friday + 90 min Monday.
    due = add_business_seconds(s, datetime(2026, 11, 20, 10, 30, tzinfo=UTC), 2 * H)
    assert local(s, due) == "Mon 2026-11-23 10:30:00"


def test_monday_holiday_moves_due_to_tuesday_1030() -> None:
    s = bkk(closed=frozenset({date(2026, 11, 23)}))
    due = add_business_seconds(s, datetime(2026, 11, 20, 10, 30, tzinfo=UTC), 2 * H)
    assert local(s, due) == "Tue 2026-11-24 10:30:00"


def test_thai_holiday_calendar_closes_songkran() -> None:
    s = bkk(holiday_country="TH")
    # Fri 2026-04-10 17:00 local; Mon 13, Tue 14, Wed 15 April are Songkran.
    due = add_business_seconds(s, datetime(2026, 4, 10, 10, 0, tzinfo=UTC), 2 * H)
    assert local(s, due) == "Thu 2026-04-16 10:00:00"


def test_target_consumed_at_closing_time_is_due_at_closing_time() -> None:
    s = bkk()
    due = add_business_seconds(s, datetime(2026, 11, 20, 2, 0, tzinfo=UTC), 9 * H)  # Fri 09:00
    assert local(s, due) == "Fri 2026-11-20 18:00:00"


def test_between_counts_only_open_hours() -> None:
    s = bkk()
    # Fri 17:00 → Mon 10:00: 1 h Friday + 1 h Monday.
    a = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    b = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    assert business_seconds_between(s, a, b) == 2 * H
    assert business_seconds_between(s, b, a) == -2 * H


def test_several_intervals_per_day_and_partial_day() -> None:
    weekly = {d: ((9 * 60, 12 * 60), (13 * 60, 17 * 60 + 30)) for d in range(5)}
    s = Schedule(
        "split",
        "Europe/London",
        weekly,
        partial={date(2026, 12, 24): ((9 * 60, 12 * 60),)},
    )
    # Thu 2026-12-24 (half day, 3 h) 09:00 GMT + 4 h → 3 h Thu; Fri 25 is a weekday (no
    # holiday calendar here) → Fri 10:00.
    due = add_business_seconds(s, datetime(2026, 12, 24, 9, 0, tzinfo=UTC), 4 * H)
    assert due == datetime(2026, 12, 25, 10, 0, tzinfo=UTC)
    # Mon 2026-12-07 11:00 + 2 h: 1 h until noon, lunch, 1 h from 13:00 → 14:00.
    due = add_business_seconds(s, datetime(2026, 12, 7, 11, 0, tzinfo=UTC), 2 * H)
    assert due == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


def test_spring_forward_day_counts_23_real_hours() -> None:
    s = Schedule("ny", "America/New_York", {d: ((0, 1440),) for d in range(7)})
    # Sun 2026-03-08 local midnight (05:00 UTC, EST) → Mon midnight (04:00 UTC, EDT).
    a = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    b = datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
    assert business_seconds_between(s, a, b) == 23 * H


def test_interval_inside_the_gap_is_empty_and_one_touching_it_shrinks() -> None:
    # 01:30–02:30 on spring-forward day: 01:30–02:00 EST exists (30 min), 02:00–02:30 does not.
    s = Schedule("ny", "America/New_York", {6: ((90, 150),)})
    a = datetime(2026, 3, 8, 0, 0, tzinfo=UTC)
    b = datetime(2026, 3, 9, 0, 0, tzinfo=UTC)
    assert business_seconds_between(s, a, b) == 30 * 60


def test_fall_back_repeated_hour_is_counted_once_per_real_hour() -> None:
    # 00:00–03:00 local on 2026-11-01 (NY falls back at 02:00 EDT → 01:00 EST): 4 real hours.
    s = Schedule("ny", "America/New_York", {6: ((0, 180),)})
    a = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    b = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    assert business_seconds_between(s, a, b) == 4 * H


def test_long_span_is_fast_and_crosses_years() -> None:
    s = bkk(holiday_country="TH")
    a = datetime(2026, 1, 1, tzinfo=UTC)
    due = add_business_seconds(s, a, 5 * 250 * 9 * H)  # about five years of 9-hour days
    assert due.year in (2030, 2031)
    assert business_seconds_between(s, a, due) == 5 * 250 * 9 * H


def test_invalid_schedules_are_rejected() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone"):
        Schedule("x", "Mars/Olympus", WEEKDAYS_9_18)
    with pytest.raises(ScheduleError, match="overlap"):
        Schedule("x", "UTC", {0: ((60, 120), (90, 150))})
    with pytest.raises(ScheduleError, match="no opening hours"):
        Schedule("x", "UTC", {})
    with pytest.raises(ValueError, match="must be >= 0"):
        add_business_seconds(bkk(), datetime(2026, 1, 1, tzinfo=UTC), -1)


def test_milliseconds_of_a_start_inside_business_hours_are_kept() -> None:
    s = bkk()
    start = datetime(2026, 11, 23, 3, 0, 0, 250000, tzinfo=UTC)  # Mon 10:00:00.250
    assert add_business_seconds(s, start, 60) == datetime(2026, 11, 23, 3, 1, 0, 250000, tzinfo=UTC)
    night = datetime(2026, 11, 23, 14, 0, 0, 250000, tzinfo=UTC)  # Mon 21:00:00.250, closed
    assert add_business_seconds(s, night, 60) == datetime(2026, 11, 24, 2, 1, tzinfo=UTC)
