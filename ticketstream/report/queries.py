"""The report's SQL, run on the analysts' tables (``docs/analysts.md``) of one database.

Every query reads with ``FINAL`` or counts distinct ids, so a row the projector wrote twice is
counted once. The same SQL runs on ClickHouse 18.16 and on a current engine (tests use chdb).
"""

from __future__ import annotations

from typing import Any, Protocol

from projections import cookbook
from ticketstream.report.model import ReportRows


class Engine(Protocol):
    """Anything that runs a SELECT and returns rows (projections.engines.DriverEngine/ChdbEngine)."""

    def execute(self, sql: str) -> list[Any]: ...


TICKETS_BY_CHANNEL = """
SELECT channel, count() AS tickets
FROM tickets FINAL
GROUP BY channel
ORDER BY channel
"""

TICKETS_OPENED_EVENTS = """
SELECT uniqExact(ticket_id)
FROM events
WHERE event_type = 'TicketOpened'
"""

# One row per message event: ChannelMessageReceived (what the gateway accepted), its copy on
# the ticket (CustomerMessageAppended), AgentReplied (outbound).
MESSAGES_BY_TYPE = """
SELECT event_type, count() AS messages
FROM messages FINAL
GROUP BY event_type
ORDER BY event_type
"""

# Every timer (ticket × metric × instance) once: achieved = fulfilled in time; breached = missed
# its target (fulfilled late or still running past due); open = still running or paused.
SLA_BY_METRIC_PRIORITY = """
SELECT
    metric,
    priority,
    count() AS timers,
    countIf(fulfilled = 1 AND breached = 0) AS achieved,
    countIf(breached = 1) AS breached_timers,
    countIf(fulfilled = 0 AND breached = 0) AS still_open
FROM sla_timers FINAL
GROUP BY metric, priority
ORDER BY metric, priority
"""

# What the SLA engine said: distinct timers with an SlaBreached event (a re-emitted breach has the
# same ticket, metric and instance, so it counts once).
BREACH_EVENTS = """
SELECT metric, priority, uniqExact(ticket_id, metric, sla_instance) AS breaches
FROM events
WHERE event_type = 'SlaBreached'
GROUP BY metric, priority
ORDER BY metric, priority
"""

# Each ticket event with the ticket's status after it, for the backlog curve (folded in Python:
# 18.16 has no window functions).
STATUS_EVENTS = """
SELECT ticket_id, occurred_at_ms, aggregate_version, status
FROM events FINAL
WHERE ticket_id != '' AND aggregate_id = ticket_id AND status != ''
ORDER BY occurred_at_ms, ticket_id, aggregate_version
"""


def _rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in engine.execute(sql)]


def fetch(engine: Engine) -> ReportRows:
    """Run every report query on ``engine``'s current database; raise what the engine raises."""
    opened = _rows(engine, TICKETS_OPENED_EVENTS)
    return ReportRows(
        tickets_by_channel=tuple((str(c), int(n)) for c, n in _rows(engine, TICKETS_BY_CHANNEL)),
        tickets_opened_events=int(opened[0][0]) if opened else 0,
        messages_by_type=tuple((str(t), int(n)) for t, n in _rows(engine, MESSAGES_BY_TYPE)),
        sla=tuple(
            (str(m), str(p), int(t), int(a), int(b), int(o))
            for m, p, t, a, b, o in _rows(engine, SLA_BY_METRIC_PRIORITY)
        ),
        first_reply=tuple(
            (str(c), int(n), int(p50), int(p90))
            for c, n, p50, p90 in _rows(engine, cookbook.queries()["first_reply_by_channel"])
        ),
        breach_events=tuple((str(m), str(p), int(n)) for m, p, n in _rows(engine, BREACH_EVENTS)),
        status_events=tuple(
            (str(t), int(ms), int(v), str(s)) for t, ms, v, s in _rows(engine, STATUS_EVENTS)
        ),
    )
