"""Folded state the projector keeps per ticket and per SLA timer (the ``tickets`` and
``sla_timers`` rows), and how each event moves it. Pure: no I/O, no clock.

Events arrive as Avro data (``schemas.fastdecode.DatumDecoder``: the record class and a dict,
instants as epoch milliseconds, enums as their symbol strings), so instants in the state are
epoch milliseconds too. The state objects are mutable on purpose: ``evolve_*`` updates them in
place (the projector's hot path; ``dataclasses.replace`` cost more than everything else
together), and each event's row is a tuple snapshot taken right after (instants as epoch
seconds, what a ClickHouse DateTime column stores)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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


def _secs(ms: int | None) -> int | None:
    """Epoch seconds of an instant in epoch milliseconds (a ClickHouse DateTime value)."""
    return None if ms is None else ms // 1000


def _ms(value: Any) -> int | None:
    """Epoch milliseconds of a datetime read back from ClickHouse (aware, UTC), or None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        at = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return int(at.timestamp()) * 1000  # DateTime columns hold whole seconds
    return int(value)


@dataclass(slots=True)
class TicketState:
    """A ticket's row; instants in epoch milliseconds."""

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
    created_at: int
    updated_at: int
    first_reply_at: int | None
    solved_at: int | None

    def row(self) -> tuple[Any, ...]:
        """The ``tickets`` row (instants as epoch seconds, see ``projections.rows.Batch``)."""
        return (
            self.ticket_id, self.version, self.tenant_id, self.customer_id, self.channel,
            self.priority, self.status, self.group_name, self.assignee_id, self.tags,
            self.by_customer, self.follow_up_of, self.merged_into, self.escalation_tier,
            self.reopen_count, self.csat_score, self.created_at // 1000,
            self.updated_at // 1000, _secs(self.first_reply_at), _secs(self.solved_at),
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> TicketState:
        """The state from a ``tickets`` row read from ClickHouse (datetimes in UTC)."""
        values = dict(zip(TICKET_COLUMNS, row, strict=True))
        values["tags"] = tuple(values["tags"])
        for name in ("created_at", "updated_at", "first_reply_at", "solved_at"):
            values[name] = _ms(values[name])
        return cls(**values)


def blank_ticket(ticket_id: str, env: dict[str, Any]) -> TicketState:
    """State of a ticket first seen through an event other than TicketOpened."""
    at = env["occurred_at"]
    return TicketState(
        ticket_id, 0, env["tenant_id"], "", "", "", "", "", "", (), 0, "", "", 1, 0, 0,
        at, at, None, None,
    )  # fmt: skip


_AGENT = r.ActorKind.AGENT.value
_NEW, _OPEN, _SOLVED = (
    r.TicketStatus.NEW.value,
    r.TicketStatus.OPEN.value,
    r.TicketStatus.SOLVED.value,
)


def evolve_ticket(state: TicketState | None, cls: type, event: dict[str, Any]) -> TicketState:
    """The ticket's state after ``event`` (the datum of a ticket event of class ``cls``; never
    raises: events are facts). Updates ``state`` in place (a new state when None), returns it."""
    env = event["envelope"]
    at = env["occurred_at"]
    s = state if state is not None else blank_ticket(event["ticket_id"], env)
    s.version = env["aggregate_version"]
    s.updated_at = at
    if cls is r.TicketOpened:
        s.customer_id = event["customer_id"]
        s.channel = event["channel"]
        s.priority = event["priority"]
        s.status = _NEW
        s.group_name = event["group"] or ""
        s.tags = tuple(event["tags"])
        s.by_customer = int(event["by_customer"])
        s.follow_up_of = event["follow_up_of"] or ""
        s.created_at = at
    elif cls is r.AgentReplied:
        if env["actor"]["kind"] == _AGENT and s.first_reply_at is None:
            s.first_reply_at = at
    elif cls is r.TicketAssigned:
        s.assignee_id = event["agent_id"]
    elif cls is r.TicketUnassigned:
        s.assignee_id = ""
    elif cls is r.TicketStatusChanged:
        s.status = event["to_status"]
        if s.status == _SOLVED:
            s.solved_at = at
    elif cls is r.TicketPriorityChanged:
        s.priority = event["to_priority"]
    elif cls is r.TicketGroupChanged:
        s.group_name = event["to_group"]
    elif cls is r.TicketTagsChanged:
        s.tags = tuple(event["tags"])
    elif cls is r.TicketEscalated:
        s.escalation_tier = event["to_tier"]
        s.group_name = event["to_group"]
    elif cls is r.TicketMerged:
        s.merged_into = event["into_ticket_id"]
    elif cls is r.TicketReopened:
        s.reopen_count += 1
        s.status = _OPEN
        s.solved_at = None
    elif cls is r.FollowUpTicketOpened:
        s.follow_up_of = event["follow_up_of"]
    elif cls is r.CsatReceived:
        s.csat_score = event["score"]
    return s


@dataclass(slots=True)
class TimerState:
    """An SLA timer's row; instants in epoch milliseconds."""

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
    started_at: int
    due_at: int
    business_elapsed_seconds: int
    calendar_elapsed_seconds: int
    breached: int
    fulfilled: int
    breached_at: int | None
    fulfilled_at: int | None
    updated_at: int

    def row(self) -> tuple[Any, ...]:
        """The ``sla_timers`` row (instants as epoch seconds)."""
        return (
            self.ticket_id, self.metric, self.instance, self.version, self.tenant_id,
            self.policy_id, self.priority, self.channel, self.target_seconds,
            self.business_hours, self.state, self.started_at // 1000, self.due_at // 1000,
            self.business_elapsed_seconds, self.calendar_elapsed_seconds, self.breached,
            self.fulfilled, _secs(self.breached_at), _secs(self.fulfilled_at),
            self.updated_at // 1000,
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> TimerState:
        """The state from an ``sla_timers`` row read from ClickHouse (datetimes in UTC)."""
        values = dict(zip(TIMER_COLUMNS, row, strict=True))
        for name in ("started_at", "due_at", "breached_at", "fulfilled_at", "updated_at"):
            values[name] = _ms(values[name])
        return cls(**values)


TimerKey = tuple[str, str, int]
TIMER_EVENTS = (
    r.SlaTimerStarted, r.SlaTimerResumed, r.SlaTimerPaused, r.SlaWarning, r.SlaBreached,
    r.SlaTimerFulfilled,
)  # fmt: skip
_RANK = {cls: i for i, cls in enumerate(TIMER_EVENTS)}


def timer_key(event: dict[str, Any]) -> TimerKey:
    """(ticket id, metric, instance) of an SLA event's datum."""
    return (event["ticket_id"], event["metric"], event["instance"])


def timer_version(cls: type, event: dict[str, Any]) -> int:
    """Order of SLA facts on one timer: event time (ms), then the fact's rank (a breach and a
    fulfilment in the same millisecond: the fulfilment is later)."""
    ms: int = event["envelope"]["occurred_at"]
    return ms * 8 + _RANK[cls]


def evolve_timer(
    state: TimerState | None, cls: type, event: dict[str, Any], channel: str
) -> TimerState:
    """The timer's state after ``event`` (the datum of one of TIMER_EVENTS, class ``cls``);
    ``channel`` is the ticket's. Updates ``state`` in place (a new state when None), returns it."""
    env = event["envelope"]
    at = env["occurred_at"]
    s = state or TimerState(
        event["ticket_id"], event["metric"], event["instance"], 0, env["tenant_id"], "", "",
        channel, 0, 0, "running", at, at, 0, 0, 0, 0, None, None, at,
    )  # fmt: skip
    s.version = at * 8 + _RANK[cls]
    s.updated_at = at
    s.channel = s.channel or channel
    if "policy_id" in event:
        s.policy_id = event["policy_id"]
        s.priority = event["priority"]
    if "target_seconds" in event:
        s.target_seconds = event["target_seconds"]
    if "due_at" in event:
        s.due_at = event["due_at"]
    if "business_elapsed_seconds" in event:
        s.business_elapsed_seconds = event["business_elapsed_seconds"]
        s.calendar_elapsed_seconds = event["calendar_elapsed_seconds"]
    if cls is r.SlaTimerStarted:
        s.state = "running"
        s.business_hours = int(event["business_hours"])
    elif cls is r.SlaTimerPaused:
        s.state = "paused"
    elif cls is r.SlaTimerResumed:
        s.state = "running"
    elif cls is r.SlaBreached:
        s.state = "breached"
        s.breached = 1
        s.breached_at = s.breached_at or at
    elif cls is r.SlaTimerFulfilled:
        s.state = "fulfilled"
        s.fulfilled = 1
        s.fulfilled_at = at
        s.breached = max(s.breached, int(event["breached"]))
    return s
