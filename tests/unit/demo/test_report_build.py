"""Report model, checks and renderings from hand-made rows (no I/O)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ticketstream.report import Expected, ReportRows, build_report, render_html, render_text
from ticketstream.report.build import backlog_curve, backlog_step
from ticketstream.report.model import Check, Endpoint
from ticketstream.report.text import duration

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def ms(hours: float) -> int:
    return int((T0 + timedelta(hours=hours)).timestamp() * 1000)


ROWS = ReportRows(
    tickets_by_channel=(("line", 3), ("email", 1)),
    tickets_opened_events=4,
    messages_by_type=(
        ("AgentReplied", 5),
        ("ChannelMessageReceived", 9),
        ("CustomerMessageAppended", 9),
    ),
    sla=(
        ("next_reply_time", "urgent", 2, 1, 1, 0),
        ("first_reply_time", "normal", 3, 1, 1, 1),
        ("first_reply_time", "urgent", 1, 0, 0, 1),
    ),
    first_reply=(("line", 3, 600, 5400), ("email", 1, 7322, 7322)),
    breach_events=(("first_reply_time", "normal", 1), ("next_reply_time", "urgent", 1)),
    status_events=(
        ("T1", ms(0.5), 1, "new"),
        ("T2", ms(1.2), 1, "new"),
        ("T1", ms(1.5), 3, "solved"),
        ("T1", ms(1.5), 2, "open"),  # same instant, lower version: T1 ends solved
        ("T3", ms(2.0), 1, "new"),  # exactly at the 02:00 point: counted
        ("T2", ms(2.5), 2, "pending"),
        ("T4", ms(2.9), 1, "new"),
        ("T4", ms(3.0), 2, "closed"),
    ),
)


def expected(**over: object) -> Expected:
    values: dict[str, object] = dict(
        tickets=4,
        tickets_by_channel={"line": 3, "email": 1, "wechat": 0},
        messages=9,
        breaches={("first_reply_time", "normal"): 1, ("next_reply_time", "urgent"): 1},
        start=T0,
        end=T0 + timedelta(hours=3),
    )
    values.update(over)
    return Expected(**values)  # type: ignore[arg-type]


def test_backlog_counts_unsolved_tickets_at_each_instant() -> None:
    points = backlog_curve(ROWS.status_events, T0, T0 + timedelta(hours=3), timedelta(hours=1))
    # 00:00 none · 01:00 T1 · 02:00 T2 and T3 (T1 solved 01:30) · 03:00 T2 pending, T3 (T4 closed)
    assert [(p.at.hour, p.unsolved) for p in points] == [(0, 0), (1, 1), (2, 2), (3, 2)]


def test_backlog_step_is_hourly_up_to_200_points() -> None:
    assert backlog_step(T0, T0 + timedelta(days=1)) == timedelta(hours=1)
    assert backlog_step(T0, T0 + timedelta(days=7)) == timedelta(hours=1)  # 168 points
    assert backlog_step(T0, T0 + timedelta(days=30)) == timedelta(hours=4)  # 720 h / 200 → 4


def test_backlog_rejects_a_non_positive_step() -> None:
    with pytest.raises(ValueError, match="positive"):
        backlog_curve((), T0, T0, timedelta(0))


def test_report_orders_sla_by_metric_then_priority_and_computes_achievement() -> None:
    r = build_report(ROWS, expected(), generated_at=T0)
    assert [(s.metric, s.priority) for s in r.sla] == [
        ("first_reply_time", "urgent"),
        ("first_reply_time", "normal"),
        ("next_reply_time", "urgent"),
    ]
    assert [s.achievement_pct for s in r.sla] == [None, 50.0, 50.0]
    assert r.tickets == 4 and r.breaches_total == 2
    assert (r.messages_inbound, r.messages_outbound) == (9, 5)


def test_all_checks_pass_when_clickhouse_agrees_with_the_ground_truth() -> None:
    r = build_report(ROWS, expected(), generated_at=T0)
    assert [c.ok for c in r.checks] == [True] * 6
    assert r.ok


def test_a_lost_ticket_fails_the_ticket_checks_and_names_the_channel() -> None:
    r = build_report(
        ROWS, expected(tickets=5, tickets_by_channel={"line": 4, "email": 1}), generated_at=T0
    )
    failed = {c.name: c for c in r.checks if not c.ok}
    assert set(failed) == {
        "tickets: sent by the simulator = tickets in ClickHouse",
        "tickets per channel: simulator = ClickHouse",
    }
    assert failed["tickets per channel: simulator = ClickHouse"].detail == (
        "line: sent 4, in ClickHouse 3"
    )
    assert not r.ok


def test_a_message_the_gateway_never_recorded_fails_the_message_check() -> None:
    r = build_report(ROWS, expected(messages=10), generated_at=T0)
    (bad,) = [c for c in r.checks if not c.ok]
    assert bad.name == "customer messages: sent by the simulator = received by the gateway"
    assert (bad.expected, bad.actual) == ("10", "9")


def test_breach_disagreement_is_reported_per_metric_and_priority() -> None:
    r = build_report(
        ROWS,
        expected(breaches={("first_reply_time", "normal"): 2, ("first_reply_time", "high"): 1}),
        generated_at=T0,
    )
    (bad,) = [c for c in r.checks if not c.ok]
    assert bad.name == "SLA breaches: SLA engine = simulator (per metric and priority)"
    assert (bad.expected, bad.actual) == ("3", "2")
    assert bad.detail == (
        "first_reply_time/high: simulator 1, SLA engine 0; "
        "first_reply_time/normal: simulator 2, SLA engine 1; "
        "next_reply_time/urgent: simulator 0, SLA engine 1"
    )
    assert [(b.metric, b.priority, b.reported, b.expected) for b in r.breaches] == [
        ("first_reply_time", "high", 0, 1),
        ("first_reply_time", "normal", 1, 2),
        ("next_reply_time", "urgent", 1, 0),
    ]


def test_direct_sql_checks_catch_tables_that_disagree() -> None:
    rows = replace(
        ROWS, tickets_opened_events=5, breach_events=(("first_reply_time", "normal", 1),)
    )
    r = build_report(rows, None, generated_at=T0)
    assert [(c.name, c.ok) for c in r.checks] == [
        ("tickets table = TicketOpened events (direct SQL)", False),
        ("SlaBreached events = breached timers (direct SQL)", False),
    ]
    assert r.checks[1].detail == ("next_reply_time/urgent: SlaBreached events 0, breached timers 1")


def test_without_ground_truth_the_window_comes_from_the_events() -> None:
    r = build_report(ROWS, None, generated_at=T0)
    assert (r.start, r.end) == (T0 + timedelta(hours=0.5), T0 + timedelta(hours=3))
    assert all(b.expected is None for b in r.breaches)


def test_callers_checks_come_first_and_count() -> None:
    mine = Check("pipeline caught up", "0", "above 0 after 300 s", False)
    r = build_report(ROWS, expected(), generated_at=T0, checks=[mine])
    assert r.checks[0] == mine and len(r.checks) == 7
    assert not r.ok


def test_an_empty_database_gives_an_empty_report_that_is_not_ok() -> None:
    empty = ReportRows((), 0, (), (), (), (), ())
    r = build_report(empty, expected(tickets=1, tickets_by_channel={"line": 1}), generated_at=T0)
    assert r.tickets == 0 and not r.ok
    assert "CHECKS FAILED" in render_text(r)
    assert 'data-chart="backlog"' in render_html(r)


def test_duration_formatting() -> None:
    assert [duration(s) for s in (0, 59, 60, 95, 3599, 3600, 7322)] == [
        "0s", "59s", "1m00s", "1m35s", "59m59s", "1h00m", "2h02m",
    ]  # fmt: skip


def test_text_report_has_every_section_and_the_verdict() -> None:
    text = render_text(
        build_report(
            ROWS,
            expected(),
            generated_at=T0,
            endpoints=[Endpoint("Prometheus", "http://127.0.0.1:19090")],
        )
    )
    for heading in (
        "Tickets by channel",
        "SLA achievement per metric and priority",
        "First reply time by channel",
        "SLA breaches per metric and priority",
        "Backlog (unsolved tickets)",
        "Where to look",
        "Checks",
    ):
        assert heading in text
    assert re.search(r"first_reply_time\s+normal\s+3\s+1\s+1\s+1\s+50\.0%", text)
    assert re.search(r"email\s+1\s+2h02m\s+2h02m", text)
    assert "http://127.0.0.1:19090" in text
    assert text.rstrip().endswith("ALL CHECKS PASSED")


def test_html_is_self_contained_with_one_chart_per_section() -> None:
    page = render_html(build_report(ROWS, expected(), generated_at=T0))
    assert page.startswith("<!DOCTYPE html>")
    charts = re.findall(r'<svg class="chart" data-chart="([a-z-]+)"', page)
    assert charts == ["sla-achievement", "first-reply", "breaches", "backlog"]
    assert not re.search(r"<script|<link|src=|https?://(?!www\.w3\.org/2000/svg)", page)
    # 3 SLA rows: 2 completed (green + red bar each), 1 without completed timers (grey)
    sla_svg = page.split('data-chart="sla-achievement"')[1].split("</svg>")[0]
    assert sla_svg.count('class="bar"') == 4
    assert 'id="verdict">All checks passed' in page


def test_html_escapes_what_it_prints() -> None:
    rows = ReportRows((("<b>x</b>", 1),), 1, (), (), (("<i>", 1, 1, 1),), (), ())
    page = render_html(build_report(rows, None, generated_at=T0))
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<i>" not in page
