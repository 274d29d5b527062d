"""Folded state the projector keeps per ticket and per SLA timer (the ``tickets`` and
``sla_timers`` rows), and how each event moves it. Pure: no I/O, no clock.

The state objects are mutable on purpose: ``evolve_*`` updates them in place (the projector's
hot path; ``dataclasses.replace`` cost more than everything else together), and each event's
row is a tuple snapshot taken right after (datetimes as epoch seconds)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas import records as r

TICKET_COLUMNS = (
    "ticket_id", "version", "tenant_id", "customer_id", "channel", "priority", "status",
    "group_name", "assignee_id", "tags", "by_customer", "follow_up_of", "merged_into",
    "escalation_tier", "reopen_count", "csat_score", "created_at", "updated_at",
    "first_reply_at", "solved_at",
)  # fmt: skip

TIMER_COLUMNS = (
    "ticket_id", "metric", "instance", "version", "tenant_id", "policy_id", "priority", "channel",
    "target_seconds", "business_hours", "state", "started_at", "due_at",
    "business_elapsed_seconds", "calendar_elapsed_seconds", "breached", "fulfilled",
    "breached_at", "fulfilled_at", "updated_at",
)  # fmt: skip


def _secs(at: datetime | None) -> int | None:
    """Epoch seconds of an aware datetime (what a ClickHouse DateTime column stores)."""
    return None if at is None else int(at.timestamp())


@dataclass(slots=True)
class TicketState:
    ticket_id: str
    version: int
    tenant_id: str
    customer_id: str
    channel: str
    priority: str
    status: str
    group_name: str
    assignee_id: str
    tags: tuple[str, ...]
    by_customer: int
    follow_up_of: str
    merged_into: str
    escalation_tier: int
    reopen_count: int
    csat_score: int
    created_at: datetime
    updated_at: datetime
    first_reply_at: datetime | None
    solved_at: datetime | None

    def row(self) -> tuple[Any, ...]:
        """The ``tickets`` row (datetimes as epoch seconds, see ``projections.rows.Batch``)."""
        return (
            self.ticket_id, self.version, self.tenant_id, self.customer_id, self.channel,
            self.priority, self.status, self.group_name, self.assignee_id, self.tags,
            self.by_customer, self.follow_up_of, self.merged_into, self.escalation_tier,
            self.reopen_count, self.csat_score, int(self.created_at.timestamp()),
            int(self.updated_at.timestamp()), _secs(self.first_reply_at), _secs(self.solved_at),
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> TicketState:
        values = dict(zip(TICKET_COLUMNS, row, strict=True))
        values["tags"] = tuple(values["tags"])
        return cls(**values)


def blank_ticket(ticket_id: str, env: r.Envelope) -> TicketState:
    """State of a ticket first seen through an event other than TicketOpened."""
    return TicketState(
        ticket_id, 0, env.tenant_id, "", "", "", "", "", "", (), 0, "", "", 1, 0, 0,
        env.occurred_at, env.occurred_at, None, None,
    )  # fmt: skip


def evolve_ticket(state: TicketState | None, event: Any) -> TicketState:
    """The ticket's state after ``event`` (a ticket event; never raises: events are facts).
    Updates ``state`` in place (a new state when None) and returns it."""
    env: r.Envelope = event.envelope
    at = env.occurred_at
    s = state if state is not None else blank_ticket(event.ticket_id, env)
    s.version = env.aggregate_version
    s.updated_at = at
    match event:
        case r.TicketOpened():
            s.customer_id = event.customer_id
            s.channel = event.channel.value
            s.priority = event.priority.value
            s.status = r.TicketStatus.NEW.value
            s.group_name = event.group or ""
            s.tags = tuple(event.tags)
            s.by_customer = int(event.by_customer)
            s.follow_up_of = event.follow_up_of or ""
            s.created_at = at
        case r.AgentReplied() if env.actor.kind is r.ActorKind.AGENT and s.first_reply_at is None:
            s.first_reply_at = at
        case r.TicketAssigned():
            s.assignee_id = event.agent_id
        case r.TicketUnassigned():
            s.assignee_id = ""
        case r.TicketStatusChanged():
            s.status = event.to_status.value
            if event.to_status is r.TicketStatus.SOLVED:
                s.solved_at = at
        case r.TicketPriorityChanged():
            s.priority = event.to_priority.value
        case r.TicketGroupChanged():
            s.group_name = event.to_group
        case r.TicketTagsChanged():
            s.tags = tuple(event.tags)
        case r.TicketEscalated():
            s.escalation_tier = event.to_tier
            s.group_name = event.to_group
        case r.TicketMerged():
            s.merged_into = event.into_ticket_id
        case r.TicketReopened():
            s.reopen_count += 1
            s.status = r.TicketStatus.OPEN.value
            s.solved_at = None
        case r.FollowUpTicketOpened():
            s.follow_up_of = event.follow_up_of
        case r.CsatReceived():
            s.csat_score = event.score
    return s


@dataclass(slots=True)
class TimerState:
    ticket_id: str
    metric: str
    instance: int
    version: int
    tenant_id: str
    policy_id: str
    priority: str
    channel: str
    target_seconds: int
    business_hours: int
    state: str
    started_at: datetime
    due_at: datetime
    business_elapsed_seconds: int
    calendar_elapsed_seconds: int
    breached: int
    fulfilled: int
    breached_at: datetime | None
    fulfilled_at: datetime | None
    updated_at: datetime

    def row(self) -> tuple[Any, ...]:
        """The ``sla_timers`` row (datetimes as epoch seconds)."""
        return (
            self.ticket_id, self.metric, self.instance, self.version, self.tenant_id,
            self.policy_id, self.priority, self.channel, self.target_seconds,
            self.business_hours, self.state, int(self.started_at.timestamp()),
            int(self.due_at.timestamp()), self.business_elapsed_seconds,
            self.calendar_elapsed_seconds, self.breached, self.fulfilled,
            _secs(self.breached_at), _secs(self.fulfilled_at), int(self.updated_at.timestamp()),
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> TimerState:
        return cls(**dict(zip(TIMER_COLUMNS, row, strict=True)))


TimerKey = tuple[str, str, int]
TIMER_EVENTS = (
    r.SlaTimerStarted, r.SlaTimerResumed, r.SlaTimerPaused, r.SlaWarning, r.SlaBreached,
    r.SlaTimerFulfilled,
)  # fmt: skip
_RANK = {cls: i for i, cls in enumerate(TIMER_EVENTS)}


def timer_key(event: Any) -> TimerKey:
    return (event.ticket_id, event.metric.value, event.instance)


def timer_version(event: Any) -> int:
    """Order of SLA facts on one timer: event time (ms), then the fact's rank (a breach and a
    fulfilment in the same millisecond: the fulfilment is later)."""
    ms = int(event.envelope.occurred_at.timestamp() * 1000)
    return ms * 8 + _RANK[type(event)]


def evolve_timer(state: TimerState | None, event: Any, channel: str) -> TimerState:
    """The timer's state after ``event`` (one of TIMER_EVENTS); ``channel`` is the ticket's.
    Updates ``state`` in place (a new state when None) and returns it."""
    env: r.Envelope = event.envelope
    at = env.occurred_at
    s = state or TimerState(
        event.ticket_id, event.metric.value, event.instance, 0, env.tenant_id, "", "", channel,
        0, 0, "running", at, at, 0, 0, 0, 0, None, None, at,
    )  # fmt: skip
    s.version = timer_version(event)
    s.updated_at = at
    s.channel = s.channel or channel
    if hasattr(event, "policy_id"):
        s.policy_id = event.policy_id
        s.priority = event.priority.value
    if hasattr(event, "target_seconds"):
        s.target_seconds = event.target_seconds
    if hasattr(event, "due_at"):
        s.due_at = event.due_at
    if hasattr(event, "business_elapsed_seconds"):
        s.business_elapsed_seconds = event.business_elapsed_seconds
        s.calendar_elapsed_seconds = event.calendar_elapsed_seconds
    match event:
        case r.SlaTimerStarted():
            s.state = "running"
            s.business_hours = int(event.business_hours)
        case r.SlaTimerPaused():
            s.state = "paused"
        case r.SlaTimerResumed():
            s.state = "running"
        case r.SlaBreached():
            s.state = "breached"
            s.breached = 1
            s.breached_at = s.breached_at or at
        case r.SlaTimerFulfilled():
            s.state = "fulfilled"
            s.fulfilled = 1
            s.fulfilled_at = at
            s.breached = max(s.breached, int(event.breached))
    return s
