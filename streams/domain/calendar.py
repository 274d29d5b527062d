"""Business-hours arithmetic: pure, exact to the second, monotonic and safe across DST.

A :class:`Schedule` is an IANA zone, weekly opening intervals (several per day, minute
boundaries, wall time), holidays from the ``holidays`` package (country/subdivision, observed
days) and custom closed dates and partial days. Everything is computed in local wall time per
day and converted to UTC with ``zoneinfo``:

- a nonexistent local time (spring-forward gap) maps to the transition instant, so an interval
  touching the gap shrinks by the missing wall time and nothing is counted twice;
- an ambiguous local time (fall-back) maps to its first occurrence (``fold=0``), so an interval
  spanning the repeated hour counts the real elapsed time (one hour more).

Internally a schedule is a business clock ``B_Y(t)``: business seconds from the local start of
year ``Y`` to the instant ``t`` (whole seconds since the epoch). Each year is built once (its
opening intervals in UTC with cumulative sums) and cached, so measuring or adding a span costs a
bisection per year touched, whatever its length: whole years (and so weeks) are skipped by
their totals. Sub-second parts of instants are ignored (instants are truncated to the second).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_pkg

Interval = tuple[int, int]  # [start, end) in minutes of the local day, 0..1440

_MAX_EMPTY_YEARS = 8  # a schedule with no business time for this many years is unusable


class ScheduleError(ValueError):
    """A schedule definition is invalid or has no business time at all."""


@dataclass(frozen=True, slots=True)
class _Year:
    start: int  # UTC epoch seconds of local Jan 1 00:00
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    cum: tuple[int, ...]  # business seconds before interval i within the year
    total: int


def _check_intervals(intervals: Iterable[Interval], where: str) -> tuple[Interval, ...]:
    out = tuple(sorted((int(a), int(b)) for a, b in intervals))
    for a, b in out:
        if not 0 <= a < b <= 1440:
            raise ScheduleError(
                f"{where}: interval {a}-{b} minutes is not within 0..1440, start < end"
            )
    for (_, b1), (a2, _) in itertools.pairwise(out):
        if a2 < b1:
            raise ScheduleError(f"{where}: intervals overlap at minute {a2}")
    return out


@dataclass(frozen=True, slots=True)
class Schedule:
    """Business hours of one team.

    ``weekly`` maps a weekday (0 = Monday … 6 = Sunday) to ``(start, end)`` minute intervals of
    the local day; ``closed`` are custom closed dates; ``partial`` maps a date to the intervals
    open that day (a half day, or opening on a holiday) and wins over holidays and ``weekly``.
    """

    schedule_id: str
    zone: str
    weekly: Mapping[int, tuple[Interval, ...]]
    holiday_country: str | None = None
    holiday_subdiv: str | None = None
    closed: frozenset[date] = frozenset()
    partial: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)
    _tz: ZoneInfo = field(init=False, repr=False, compare=False)
    _hols: Any = field(init=False, repr=False, compare=False)
    _years: dict[int, _Year] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            tz = ZoneInfo(self.zone)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError
            raise ScheduleError(
                f"schedule {self.schedule_id}: unknown time zone {self.zone!r}"
            ) from exc
        weekly = {}
        for day, ivs in self.weekly.items():
            if day not in range(7):
                raise ScheduleError(f"schedule {self.schedule_id}: weekday {day} is not 0..6")
            weekly[day] = _check_intervals(ivs, f"schedule {self.schedule_id} weekday {day}")
        partial = {
            d: _check_intervals(ivs, f"schedule {self.schedule_id} {d}")
            for d, ivs in self.partial.items()
        }
        if not any(weekly.values()) and not any(partial.values()):
            raise ScheduleError(f"schedule {self.schedule_id}: no opening hours at all")
        hols: Any = None
        if self.holiday_country:
            try:
                hols = holidays_pkg.country_holidays(
                    self.holiday_country, subdiv=self.holiday_subdiv, observed=True
                )
            except NotImplementedError as exc:
                raise ScheduleError(
                    f"schedule {self.schedule_id}: unknown holiday calendar "
                    f"{self.holiday_country}/{self.holiday_subdiv}"
                ) from exc
        object.__setattr__(self, "weekly", weekly)
        object.__setattr__(self, "partial", partial)
        object.__setattr__(self, "_tz", tz)
        object.__setattr__(self, "_hols", hols)
        object.__setattr__(self, "_years", {})

    # ------------------------------------------------------------------ per-day hours
    def is_holiday(self, day: date) -> bool:
        """True when ``day`` is closed by a custom date or the holiday calendar."""
        return day in self.closed or (self._hols is not None and day in self._hols)

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """The local opening intervals of ``day`` (minutes), after holidays and partial days."""
        if day in self.partial:
            return self.partial[day]
        if self.is_holiday(day):
            return ()
        return self.weekly.get(day.weekday(), ())

    def _to_utc(self, day: date, minute: int) -> int:
        naive = datetime.combine(day, time()) + timedelta(minutes=minute)
        ts = int(naive.replace(tzinfo=self._tz).timestamp())  # fold=0: first occurrence
        if datetime.fromtimestamp(ts, self._tz).replace(tzinfo=None) == naive:
            return ts
        # Nonexistent wall time (a gap): the instant of the transition. fold=1 maps before it,
        # fold=0 after it; bisect for the first second whose wall time is past ``naive``.
        lo = int(naive.replace(tzinfo=self._tz, fold=1).timestamp())
        hi = ts
        if lo > hi:
            lo, hi = hi, lo
        while lo < hi:
            mid = (lo + hi) // 2
            if datetime.fromtimestamp(mid, self._tz).replace(tzinfo=None) >= naive:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        starts: list[int] = []
        ends: list[int] = []
        cum: list[int] = []
        total = 0
        day = date(year, 1, 1)
        one = timedelta(days=1)
        while day.year == year:
            for a, b in self.intervals_on(day):
                s, e = self._to_utc(day, a), self._to_utc(day, b)
                if e > s:
                    starts.append(s)
                    ends.append(e)
                    cum.append(total)
                    total += e - s
            day += one
        built = _Year(
            self._to_utc(date(year, 1, 1), 0), tuple(starts), tuple(ends), tuple(cum), total
        )
        self._years[year] = built
        return built

    def _year_of(self, ts: int) -> int:
        return datetime.fromtimestamp(ts, self._tz).year

    def _b(self, year: _Year, ts: int) -> int:
        """Business seconds from the start of ``year`` to ``ts`` (``ts`` inside the year)."""
        i = bisect.bisect_right(year.starts, ts) - 1
        if i < 0:
            return 0
        return year.cum[i] + min(ts, year.ends[i]) - year.starts[i]


def _ts(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: pass a tz-aware UTC instant")
    return int(instant.timestamp() // 1)


def business_seconds_between(schedule: Schedule, a: datetime, b: datetime) -> int:
    """Business seconds in ``[a, b)`` (whole seconds; negative when ``b < a``)."""
    ta, tb = _ts(a), _ts(b)
    if tb < ta:
        return -business_seconds_between(schedule, b, a)
    ya, yb = schedule._year_of(ta), schedule._year_of(tb)
    total = schedule._b(schedule._year(yb), tb) - schedule._b(schedule._year(ya), ta)
    for y in range(ya, yb):
        total += schedule._year(y).total
    return total


def add_business_seconds(schedule: Schedule, start: datetime, seconds: int) -> datetime:
    """The earliest instant ``t >= start`` with ``seconds`` business seconds in ``[start, t)``.

    A target consumed exactly at closing time is due at closing time (not next morning).
    Returns a UTC datetime. Raises ValueError for negative ``seconds`` or a naive ``start``;
    ScheduleError when the schedule has no business time for years.
    """
    if seconds < 0:
        raise ValueError(f"cannot add {seconds} business seconds: must be >= 0")
    if seconds == 0:
        return start.astimezone(UTC)
    ts = _ts(start)
    y = schedule._year_of(ts)
    year = schedule._year(y)
    remaining = seconds + schedule._b(year, ts)
    empty = 0
    while remaining > year.total:
        remaining -= year.total
        empty = empty + 1 if year.total == 0 else 0
        if empty >= _MAX_EMPTY_YEARS:
            raise ScheduleError(
                f"schedule {schedule.schedule_id}: no business hours for {empty} years after {y}"
            )
        y += 1
        year = schedule._year(y)
    i = _find(year, remaining)
    due = datetime.fromtimestamp(year.starts[i] + (remaining - year.cum[i]), UTC)
    fraction = start - datetime.fromtimestamp(ts, UTC)  # sub-second part of start
    if fraction and business_seconds_between(schedule, start, start + timedelta(seconds=1)) == 1:
        due += fraction  # started inside business time: keep the milliseconds (exact)
    return due


def _find(year: _Year, remaining: int) -> int:
    """Index of the first interval whose cumulative end reaches ``remaining`` (> 0)."""
    # cum is sorted; the interval holding the remaining-th second is the last with cum < remaining.
    return bisect.bisect_left(year.cum, remaining) - 1
