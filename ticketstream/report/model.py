"""The report's data: what ClickHouse returned (:class:`ReportRows`), what the simulator says
should be there (:class:`Expected`), and the report built from both (:class:`Report`).

Times are tz-aware UTC datetimes; durations are seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

# Ticket statuses that count as backlog (not yet solved or closed); the same set as the
# analysts' agent_workload cookbook query.
BACKLOG_STATUSES = frozenset({"new", "open", "pending", "on_hold"})
PRIORITY_ORDER = ("urgent", "high", "normal", "low")
METRIC_ORDER = (
    "first_reply_time",
    "next_reply_time",
    "periodic_update_time",
    "pausable_update_time",
    "requester_wait_time",
    "agent_work_time",
    "total_resolution_time",
)


@dataclass(frozen=True, slots=True)
class ReportRows:
    """The rows the report's SQL returned, as the driver gave them (see ``queries``)."""

    tickets_by_channel: tuple[tuple[str, int], ...]  # (channel, tickets) from tickets FINAL
    tickets_opened_events: int  # distinct ticket ids of TicketOpened events (direct check)
    messages_by_type: tuple[tuple[str, int], ...]  # (event type, distinct messages)
    # (metric, priority, timers, achieved, breached, still open) from sla_timers FINAL
    sla: tuple[tuple[str, str, int, int, int, int], ...]
    first_reply: tuple[tuple[str, int, int, int], ...]  # (channel, tickets, p50 s, p90 s)
    breach_events: tuple[tuple[str, str, int], ...]  # (metric, priority, SlaBreached timers)
    # (ticket_id, occurred_at_ms, aggregate_version, status after the event)
    status_events: tuple[tuple[str, int, int, str], ...]


@dataclass(frozen=True, slots=True)
class Expected:
    """What the simulator sent and computed on its own (its ground truth), for the checks."""

    tickets: int
    tickets_by_channel: Mapping[str, int]
    messages: int
    breaches: Mapping[tuple[str, str], int]  # (metric, priority) -> breached timers
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class SlaLine:
    metric: str
    priority: str
    timers: int
    achieved: int
    breached: int
    open: int

    @property
    def achievement_pct(self) -> float | None:
        """Share of completed timers (achieved or breached) that met their target, in %."""
        done = self.achieved + self.breached
        return None if done == 0 else 100.0 * self.achieved / done


@dataclass(frozen=True, slots=True)
class FirstReplyLine:
    channel: str
    tickets: int
    p50_seconds: int
    p90_seconds: int


@dataclass(frozen=True, slots=True)
class BreachLine:
    metric: str
    priority: str
    reported: int  # SlaBreached timers in ClickHouse (the SLA engine's word)
    expected: int | None  # the simulator's own count; None when there is no ground truth


@dataclass(frozen=True, slots=True)
class BacklogPoint:
    at: datetime
    unsolved: int


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    expected: str
    actual: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    url: str


@dataclass(frozen=True, slots=True)
class Report:
    title: str
    generated_at: datetime
    start: datetime | None
    end: datetime | None
    tickets_by_channel: tuple[tuple[str, int], ...]
    messages_inbound: int  # customer messages the gateway received (ChannelMessageReceived)
    messages_outbound: int  # agent and bot replies (AgentReplied)
    sla: tuple[SlaLine, ...]
    first_reply: tuple[FirstReplyLine, ...]
    breaches: tuple[BreachLine, ...]
    backlog: tuple[BacklogPoint, ...]
    checks: tuple[Check, ...]
    endpoints: tuple[Endpoint, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def tickets(self) -> int:
        return sum(n for _, n in self.tickets_by_channel)

    @property
    def breaches_total(self) -> int:
        return sum(b.reported for b in self.breaches)

    @property
    def ok(self) -> bool:
        """True when every check passed (a report without checks is not ok: nothing agreed)."""
        return bool(self.checks) and all(c.ok for c in self.checks)
