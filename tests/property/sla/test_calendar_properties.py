"""Adding and measuring business time are inverse and additive, across DST and holidays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.calendar import Schedule, add_business_seconds, business_seconds_between

SCHEDULES = [
    # minute boundaries that straddle the 01:00–03:00 DST hours on purpose
    Schedule(
        "ny",
        "America/New_York",
        {d: ((60, 150), (9 * 60 + 7, 17 * 60 + 43)) for d in range(7)},
        holiday_country="US",
        holiday_subdiv="NY",
    ),
    Schedule(
        "london",
        "Europe/London",
        {d: ((30, 130), (8 * 60, 20 * 60)) for d in range(6)},
        holiday_country="GB",
    ),
    Schedule(
        "bkk", "Asia/Bangkok", {d: ((9 * 60, 18 * 60),) for d in range(5)}, holiday_country="TH"
    ),
    Schedule(
        "hk",
        "Asia/Hong_Kong",
        {d: ((9 * 60, 13 * 60), (14 * 60, 18 * 60)) for d in range(6)},
        holiday_country="HK",
    ),
]

# 2025-2027: covers DST changes (March/October/November) and TH/HK holidays.
instants = st.integers(
    int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()),
    int(datetime(2027, 12, 1, tzinfo=UTC).timestamp()),
).map(lambda s: datetime.fromtimestamp(s, UTC))
spans = st.integers(0, 60 * 24 * 3600)
schedules = st.sampled_from(SCHEDULES)


@settings(max_examples=300, deadline=None)
@given(schedules, instants, spans)
def test_add_then_measure_is_identity(s: Schedule, a: datetime, n: int) -> None:
    b = add_business_seconds(s, a, n)
    assert b >= a
    assert business_seconds_between(s, a, b) == n
    if n > 0:  # earliest such instant: one second less is short
        assert business_seconds_between(s, a, b - timedelta(seconds=1)) == n - 1


@settings(max_examples=300, deadline=None)
@given(schedules, instants, spans, spans)
def test_add_is_additive(s: Schedule, a: datetime, n: int, m: int) -> None:
    assert (
        add_business_seconds(s, add_business_seconds(s, a, n), m)
        == add_business_seconds(s, a, n + m)
        or m == 0
    )


@settings(max_examples=300, deadline=None)
@given(schedules, instants, instants, instants)
def test_between_is_additive_and_monotonic(
    s: Schedule, a: datetime, b: datetime, c: datetime
) -> None:
    a, b, c = sorted((a, b, c))
    ab, bc = business_seconds_between(s, a, b), business_seconds_between(s, b, c)
    assert ab >= 0 and bc >= 0
    assert ab + bc == business_seconds_between(s, a, c)
    assert ab <= (b - a).total_seconds() + 1


@settings(max_examples=300, deadline=None)
@given(schedules, instants, instants)
def test_measure_then_add_lands_at_or_before(s: Schedule, a: datetime, b: datetime) -> None:
    a, b = sorted((a, b))
    n = business_seconds_between(s, a, b)
    t = add_business_seconds(s, a, n)
    assert t <= b
    assert business_seconds_between(s, t, b) == 0
