"""Rows (and the simulator's ground truth) → :class:`Report`. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from ticketstream.report.model import (
    BACKLOG_STATUSES,
    METRIC_ORDER,
    PRIORITY_ORDER,
    BacklogPoint,
    BreachLine,
    Check,
    Endpoint,
    Expected,
    FirstReplyLine,
    Report,
    ReportRows,
    SlaLine,
)

MAX_BACKLOG_POINTS = 200
K = TypeVar("K")


def _rank(order: Sequence[str], value: str) -> tuple[int, str]:
    return (order.index(value), value) if value in order else (len(order), value)


def _cell_key(metric: str, priority: str) -> tuple[tuple[int, str], tuple[int, str]]:
    return _rank(METRIC_ORDER, metric), _rank(PRIORITY_ORDER, priority)


def backlog_step(start: datetime, end: datetime) -> timedelta:
    """Hourly points, coarser (whole hours) when that would exceed MAX_BACKLOG_POINTS."""
    hours = max(1.0, (end - start).total_seconds() / 3600)
    return timedelta(hours=max(1, -(-int(hours) // MAX_BACKLOG_POINTS)))


def backlog_curve(
    status_events: Iterable[tuple[str, int, int, str]],
    start: datetime,
    end: datetime,
    step: timedelta,
) -> tuple[BacklogPoint, ...]:
    """Unsolved tickets (status in BACKLOG_STATUSES after their latest event at or before the
    instant) at ``start``, ``start + step``, … up to and including ``end``.

    ``status_events`` are (ticket_id, occurred_at_ms, aggregate_version, status) in any order;
    for one ticket the event with the highest (time, version) at or before an instant wins.
    """
    if step <= timedelta(0):
        raise ValueError(f"backlog step must be positive, got {step}")
    events = sorted(status_events, key=lambda e: (e[1], e[0], e[2]))
    latest: dict[str, tuple[int, int, bool]] = {}  # ticket -> (ms, version, unsolved)
    unsolved = 0
    points: list[BacklogPoint] = []
    i = 0
    at = start
    while at <= end:
        limit_ms = int(at.timestamp() * 1000)
        while i < len(events) and events[i][1] <= limit_ms:
            ticket, ms, version, status = events[i]
            i += 1
            prev = latest.get(ticket)  # sorted by (time, ticket, version): prev is older
            now_unsolved = status in BACKLOG_STATUSES
            was_unsolved = prev[2] if prev is not None else False
            unsolved += int(now_unsolved) - int(was_unsolved)
            latest[ticket] = (ms, version, now_unsolved)
        points.append(BacklogPoint(at, unsolved))
        at += step
    return tuple(points)


def _window(rows: ReportRows, expected: Expected | None) -> tuple[datetime | None, datetime | None]:
    if expected is not None:
        return expected.start, expected.end
    if not rows.status_events:
        return None, None
    ms = [e[1] for e in rows.status_events]
    return (
        datetime.fromtimestamp(min(ms) / 1000, UTC),
        datetime.fromtimestamp(max(ms) / 1000, UTC),
    )


def _fmt_cells(cells: Mapping[tuple[str, str], int]) -> str:
    return ", ".join(f"{m}/{p}={n}" for (m, p), n in sorted(cells.items())) or "none"


def _nonzero(cells: Mapping[K, int]) -> dict[K, int]:
    return {k: v for k, v in cells.items() if v}


def _equal(name: str, expected: int, actual: int) -> Check:
    return Check(name, str(expected), str(actual), expected == actual)


def _cells_equal(
    name: str, left: tuple[str, Mapping[K, int]], right: tuple[str, Mapping[K, int]]
) -> Check:
    """``left`` and ``right`` (a label and counts per cell) agree in every cell; the detail names
    each cell where they differ."""
    (lname, lcells), (rname, rcells) = left, right

    def label(key: K) -> str:
        return "/".join(key) if isinstance(key, tuple) else str(key)

    diff = sorted(
        f"{label(k)}: {lname} {lcells.get(k, 0)}, {rname} {rcells.get(k, 0)}"
        for k in set(lcells) | set(rcells)
        if lcells.get(k, 0) != rcells.get(k, 0)
    )
    return Check(
        name, str(sum(lcells.values())), str(sum(rcells.values())), not diff, "; ".join(diff)
    )


def check_report(rows: ReportRows, expected: Expected | None) -> tuple[Check, ...]:
    """The checks of a report: ClickHouse against the simulator's ground truth (when given) and
    against itself (two tables that must agree, by direct SQL)."""
    checks: list[Check] = []
    in_ch = sum(n for _, n in rows.tickets_by_channel)
    by_channel = {c: n for c, n in rows.tickets_by_channel}
    engine_breaches = _nonzero({(m, p): n for m, p, n in rows.breach_events})
    timer_breaches = _nonzero({(m, p): b for m, p, _, _, b, _ in rows.sla})
    if expected is not None:
        received = dict(rows.messages_by_type).get("ChannelMessageReceived", 0)
        checks += [
            _equal(
                "tickets: sent by the simulator = tickets in ClickHouse", expected.tickets, in_ch
            ),
            _cells_equal(
                "tickets per channel: simulator = ClickHouse",
                ("sent", _nonzero(dict(expected.tickets_by_channel))),
                ("in ClickHouse", by_channel),
            ),
            _equal(
                "customer messages: sent by the simulator = received by the gateway",
                expected.messages,
                received,
            ),
            _cells_equal(
                "SLA breaches: SLA engine = simulator (per metric and priority)",
                ("simulator", _nonzero(dict(expected.breaches))),
                ("SLA engine", engine_breaches),
            ),
        ]
    checks += [
        _equal(
            "tickets table = TicketOpened events (direct SQL)", rows.tickets_opened_events, in_ch
        ),
        _cells_equal(
            "SlaBreached events = breached timers (direct SQL)",
            ("SlaBreached events", engine_breaches),
            ("breached timers", timer_breaches),
        ),
    ]
    return tuple(checks)


def build_report(
    rows: ReportRows,
    expected: Expected | None,
    *,
    generated_at: datetime,
    title: str = "Ticketstream demo report",
    endpoints: Sequence[Endpoint] = (),
    notes: Sequence[str] = (),
    checks: Sequence[Check] = (),
) -> Report:
    """The report of ``rows``; with ``expected`` its checks compare against the ground truth.
    ``checks`` are the caller's own (e.g. the pipeline caught up), listed first."""
    start, end = _window(rows, expected)
    backlog: tuple[BacklogPoint, ...] = ()
    if start is not None and end is not None:
        backlog = backlog_curve(rows.status_events, start, end, backlog_step(start, end))
    sla = tuple(
        sorted((SlaLine(*r) for r in rows.sla), key=lambda s: _cell_key(s.metric, s.priority))
    )
    want = dict(expected.breaches) if expected is not None else {}
    reported = {(m, p): n for m, p, n in rows.breach_events}
    cells = set(reported) | {k for k, v in want.items() if v}
    breaches = tuple(
        BreachLine(m, p, reported.get((m, p), 0), want.get((m, p), 0) if expected else None)
        for m, p in sorted(cells, key=lambda c: _cell_key(*c))
    )
    by_type = dict(rows.messages_by_type)
    return Report(
        title=title,
        generated_at=generated_at,
        start=start,
        end=end,
        tickets_by_channel=tuple(sorted(rows.tickets_by_channel)),
        messages_inbound=by_type.get("ChannelMessageReceived", 0),
        messages_outbound=by_type.get("AgentReplied", 0),
        sla=sla,
        first_reply=tuple(FirstReplyLine(*r) for r in sorted(rows.first_reply)),
        breaches=breaches,
        backlog=backlog,
        checks=(*checks, *check_report(rows, expected)),
        endpoints=tuple(endpoints),
        notes=tuple(notes),
    )
