"""The report's SQL on the current ClickHouse engine (chdb), after the projections' known event
stream (tests/unit/projections/known_stream.py) is projected; answers worked out by hand from
that stream's story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from projections.engines import ChdbEngine
from projections.migrate import migrate
from projections.rows import TABLE_COLUMNS, TABLES, Projection, Source
from tests.unit.projections.known_stream import at, known_stream
from ticketstream.report import fetch
from ticketstream.report.build import backlog_curve
from ticketstream.report.model import ReportRows

NOW = datetime(2026, 3, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def rows() -> ReportRows:
    eng = ChdbEngine()
    migrate(eng, "rep")
    proj = Projection(eng, "rep")
    items = [(rec, Source("t", 0, i)) for i, rec in enumerate(known_stream())]
    proj.load_state([rec for rec, _ in items])
    batch = proj.project(items, NOW)
    for table in TABLES:
        eng.insert(f"rep.{table}", TABLE_COLUMNS[table], batch.columnar(table))
    eng.execute("USE rep")
    return fetch(eng)


def test_tickets_per_channel_and_opened_events(rows: ReportRows) -> None:
    assert rows.tickets_by_channel == (("email", 2), ("webchat", 1), ("whatsapp", 2))
    assert rows.tickets_opened_events == 5


def test_messages_by_type_count_a_re_emitted_reply_once(rows: ReportRows) -> None:
    # the gateway message, T3's appended message, the bot's and four agent replies (T1's reply
    # was re-emitted upstream with the same id)
    assert rows.messages_by_type == (
        ("AgentReplied", 5),
        ("ChannelMessageReceived", 1),
        ("CustomerMessageAppended", 1),
    )


def test_sla_per_metric_and_priority(rows: ReportRows) -> None:
    # (metric, priority, timers, achieved, breached, still open)
    assert rows.sla == (
        ("first_reply_time", "high", 1, 1, 0, 0),  # T1 fulfilled in time
        ("first_reply_time", "low", 1, 1, 0, 0),  # T5
        ("first_reply_time", "normal", 2, 0, 1, 1),  # T2 breached, T4 running
        ("first_reply_time", "urgent", 1, 0, 1, 0),  # T3 breached
        ("next_reply_time", "urgent", 1, 0, 0, 1),  # T3 after the reopen, running
    )


def test_breach_events_count_a_re_emitted_breach_once(rows: ReportRows) -> None:
    assert rows.breach_events == (
        ("first_reply_time", "normal", 1),
        ("first_reply_time", "urgent", 1),
    )


def test_first_reply_by_channel_is_the_cookbook_answer(rows: ReportRows) -> None:
    assert rows.first_reply == (
        ("email", 1, 1800, 1800),
        ("webchat", 1, 120, 120),
        ("whatsapp", 2, 3600, 3600),  # [1800, 3600]: nearest rank, upper
    )


def test_backlog_curve_from_the_status_events(rows: ReportRows) -> None:
    points = backlog_curve(rows.status_events, at(0, 9, 0), at(0, 11, 0), timedelta(minutes=30))
    # 09:00 T1 · 09:30 T1 T2 T3 · 10:00 T1 solved · 10:30 T3 solved (T2 pending) · 11:00 same
    assert [p.unsolved for p in points] == [1, 3, 2, 1, 1]
    tue = backlog_curve(rows.status_events, at(1, 8, 0), at(1, 9, 0), timedelta(hours=1))
    assert [p.unsolved for p in tue] == [2, 3]  # T3 reopened 08:00; T4 opened 09:00
    week = backlog_curve(rows.status_events, at(7, 10, 0), at(7, 10, 5), timedelta(minutes=5))
    assert [p.unsolved for p in week] == [4, 3]  # T5 opened 10:00, solved 10:05
