"""The support-org model: volumes, curves, channel habits, staffing, determinism."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schemas.records import Channel
from ticketstream.simulate.config import DEFAULT_START, SimConfig, SimConfigError
from ticketstream.simulate.driver import timeline_of
from ticketstream.simulate.model import (
    DAILY,
    HOURLY,
    REGIONS,
    TIER2_GROUP,
    Model,
    hourly_rate,
)

BANGKOK = ZoneInfo("Asia/Bangkok")


def test_a_week_of_hourly_rates_adds_up_to_the_weekly_volume() -> None:
    monday = datetime(2026, 11, 16, tzinfo=BANGKOK)
    total = sum(hourly_rate(40_000, 0.7, monday + timedelta(hours=h)) for h in range(168))
    assert total == pytest.approx(28_000)


def test_the_busiest_hour_is_a_weekday_late_morning_and_the_quietest_a_weekend_night() -> None:
    monday = datetime(2026, 11, 16, tzinfo=BANGKOK)
    rates = {h: hourly_rate(40_000, 1.0, monday + timedelta(hours=h)) for h in range(168)}
    busiest = max(rates, key=lambda h: rates[h])
    quietest = min(rates, key=lambda h: rates[h])
    assert (busiest // 24, busiest % 24) == (0, 11)  # Monday 11:00
    assert quietest // 24 in (5, 6) and quietest % 24 in (3, 4)  # weekend, 03:00–04:59
    assert max(DAILY) == DAILY[0] and HOURLY.index(max(HOURLY)) == 11


@pytest.mark.parametrize(("preset", "weekly"), [("tesco", 40_000), ("x10", 400_000),
                                                ("x100", 4_000_000)])  # fmt: skip
def test_presets_expect_their_weekly_volume(preset: str, weekly: int) -> None:
    model = Model(SimConfig(preset=preset, days=7, start=DEFAULT_START))
    assert model.expected_tickets() == pytest.approx(weekly, rel=1e-9)


def test_a_tesco_week_opens_about_forty_thousand_tickets() -> None:
    config = SimConfig(preset="tesco", days=7)
    n = sum(1 for _ in Model(config).arrivals())
    assert abs(n - 40_000) < 4 * 200  # Poisson: sd ≈ √40,000 = 200


def test_same_seed_same_tickets_other_seed_other_tickets() -> None:
    config = SimConfig(days=0.25, seed=3)
    first = list(Model(config).tickets())
    again = list(Model(config).tickets())
    other = list(Model(SimConfig(days=0.25, seed=4)).tickets())
    assert first == again
    assert len(first) > 100
    assert [t.actions for t in first[:50]] != [t.actions for t in other[:50]]


def test_arrivals_follow_the_daily_curve() -> None:
    # Monday in Bangkok: 10:00–12:00 is far busier than 02:00–04:00.
    config = SimConfig(days=1, start=datetime(2026, 11, 16, tzinfo=BANGKOK))
    hours = Counter(at.astimezone(BANGKOK).hour for at, _, _ in Model(config).arrivals())
    assert hours[10] + hours[11] > 5 * (hours[2] + hours[3])


def test_channel_habits_per_region() -> None:
    tickets = list(Model(SimConfig(days=1)).tickets())
    by_region: dict[str, Counter[Channel]] = {}
    for t in tickets:
        by_region.setdefault(t.region, Counter())[t.channel] += 1
    assert by_region["thailand"].most_common(1)[0][0] is Channel.LINE
    assert by_region["china"].most_common(1)[0][0] is Channel.WECHAT
    assert by_region["hong_kong"].most_common(1)[0][0] is Channel.WHATSAPP
    assert Channel.DINGTALK in by_region["china"]
    assert {t.language for t in tickets if t.region == "thailand"} == {"th", "en"}
    assert {t.language for t in tickets if t.region == "china"} == {"zh"}


def test_channels_without_a_secret_are_not_used() -> None:
    tickets = list(Model(SimConfig(days=0.2), channels=(Channel.API, Channel.WECHAT)).tickets())
    assert {t.channel for t in tickets} == {Channel.API, Channel.WECHAT}
    # Thailand has no WeChat habit but writes e-mail: its customers are still there.
    assert {"thailand", "china"} <= {t.region for t in tickets}


def test_every_group_has_someone_on_shift_every_hour() -> None:
    model = Model(SimConfig(days=1))
    groups = {r.group for r in REGIONS} | {TIER2_GROUP}
    for h in range(24):
        at = DEFAULT_START + timedelta(hours=h)
        for g in groups:
            assert any(a.on_shift(at) for a in model.by_group[g]), (g, h)


def test_a_ticket_life_is_ordered_and_legal() -> None:
    for t in Model(SimConfig(days=0.5, seed=11)).tickets():
        times = [a.at for a in t.actions]
        assert times == sorted(times) and len(set(times)) == len(times), t.sim_id
        kinds = [a.kind for a in t.actions]
        assert kinds[0] == "message"
        first_solve = kinds.index("solve")
        assert "assign" in kinds[:first_solve] and "reply" in kinds[:first_solve]
        if "csat" in kinds:
            assert kinds[-1] == "csat" and kinds[-2] == "solve"
        if "escalate" in kinds:
            escalated = kinds.index("escalate")
            assert kinds[escalated + 1] == "assign"
        assert all(a.at.microsecond == 0 for a in t.actions)


def test_timeline_keeps_only_what_happened_before_the_end() -> None:
    ticket = next(t for t in Model(SimConfig(days=1, seed=5)).tickets() if "solve" in
                  [a.kind for a in t.actions])  # fmt: skip
    solve = next(a.at for a in ticket.actions if a.kind == "solve")
    cut = timeline_of(ticket, solve)
    assert cut.solves == () and cut.opened_at == ticket.opened_at
    full = timeline_of(ticket, solve + timedelta(days=30))
    assert full.solves[0] == solve


def test_config_refuses_what_cannot_work() -> None:
    with pytest.raises(SimConfigError, match="preset"):
        SimConfig(preset="amazon")
    with pytest.raises(SimConfigError, match="tz-aware"):
        SimConfig(start=datetime(2026, 11, 16))
    with pytest.raises(SimConfigError, match="compression"):
        SimConfig(compression=0)
    assert SimConfig(start=datetime(2026, 11, 16, tzinfo=UTC)).end == datetime(
        2026, 11, 17, tzinfo=UTC
    )


def test_what_the_driver_records_as_accepted_equals_the_plans_timeline() -> None:
    from ticketstream.simulate.driver import _Record

    config = SimConfig(days=0.5, seed=9)
    for t in Model(config).tickets():
        record = _Record(t.sim_id, t.channel.value, t.priority.value)
        for a in t.actions:
            if a.at < config.end:
                record.accepted(a)
        assert record.timeline(t.sim_id) == timeline_of(t, config.end)


def test_a_refused_solve_did_not_happen() -> None:
    from ticketstream.simulate.driver import _Record

    ticket = next(t for t in Model(SimConfig(days=1, seed=5)).tickets() if "solve" in
                  [a.kind for a in t.actions])  # fmt: skip
    record = _Record(ticket.sim_id, "line", "normal")
    for a in ticket.actions:
        record.accepted(a)
        if a.kind == "solve":
            record.rejected(a)
    assert record.timeline("T-1").solves == ()
