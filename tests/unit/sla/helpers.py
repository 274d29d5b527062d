"""Builders for SLA domain tests: a Bangkok schedule, a policy with every metric, ticket events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from schemas.records import (
    Actor,
    ActorKind,
    AgentReplied,
    Channel,
    CustomerMessageAppended,
    Envelope,
    InternalNoteAdded,
    Priority,
    TicketAssigned,
    TicketOpened,
    TicketPriorityChanged,
    TicketStatus,
    TicketStatusChanged,
)
from streams.domain.sla.clock import Outcome, SlaState, fire_due, on_event
from streams.domain.sla.policy import PolicySet, parse_policies

BKK = ZoneInfo("Asia/Bangkok")
T = "T-1"

POLICIES = """\
auto_close_days: 4
schedules:
  bkk:
    zone: Asia/Bangkok
    hours: {mon: ["09:00-18:00"], tue: ["09:00-18:00"], wed: ["09:00-18:00"], thu: ["09:00-18:00"], fri: ["09:00-18:00"]}
    closed: [%(closed)s]
default_schedule: bkk
policies:
  - id: std
    warnings: [75, 90]
    internal_notes_update: %(notes)s
    targets:
      first_reply_time: {urgent: 2h, normal: 8h}
      next_reply_time: {urgent: 1h, normal: 4h}
      periodic_update_time: {urgent: 2h, normal: 4h}
      pausable_update_time: {urgent: 2h, normal: 4h}
      requester_wait_time: {urgent: 8h, normal: 8h}
      agent_work_time: {urgent: 6h, normal: 6h}
      total_resolution_time: {business_hours: false, urgent: 1d, normal: 3d}
"""


def policies(*, closed: str = "", notes: bool = False) -> PolicySet:
    return parse_policies(POLICIES % {"closed": closed, "notes": str(notes).lower()})


def bkk(y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> datetime:
    """A Bangkok wall time as a UTC instant."""
    return datetime(y, mo, d, h, mi, s, tzinfo=BKK).astimezone(UTC)


_ids = count(1)
CUSTOMER = Actor(ActorKind.CUSTOMER, "C-1")
AGENT = Actor(ActorKind.AGENT, "A-1")
BOT = Actor(ActorKind.BOT, "bot")


def env(at: datetime, actor: Actor = CUSTOMER) -> Envelope:
    n = next(_ids)
    return Envelope(f"e{n}", at, at, T, n, f"c{n}", "corr", actor, "tenant")


def opened(
    at: datetime, priority: Priority = Priority.URGENT, *, by_customer: bool = True
) -> TicketOpened:
    return TicketOpened(env(at), T, "C-1", Channel.LINE, "line:a:c", priority, by_customer)


def message(at: datetime) -> CustomerMessageAppended:
    return CustomerMessageAppended(env(at), T, f"m{next(_ids)}", Channel.LINE, "hi", at)


def reply(at: datetime, actor: Actor = AGENT) -> AgentReplied:
    return AgentReplied(
        env(at, actor), T, f"r{next(_ids)}", actor.id, Channel.LINE, "line:a:c", "a", "c", "u", "ok"
    )


def note(at: datetime) -> InternalNoteAdded:
    return InternalNoteAdded(env(at, AGENT), T, f"n{next(_ids)}", "A-1", "fyi")


def status(at: datetime, frm: TicketStatus, to: TicketStatus) -> TicketStatusChanged:
    return TicketStatusChanged(env(at, AGENT), T, frm, to)


def priority(at: datetime, frm: Priority, to: Priority) -> TicketPriorityChanged:
    return TicketPriorityChanged(env(at, AGENT), T, frm, to)


def assigned(at: datetime, agent: str = "A-1") -> TicketAssigned:
    from schemas.records import AssignmentReason

    return TicketAssigned(env(at, AGENT), T, agent, AssignmentReason.MANUAL)


def run(
    ps: PolicySet, events: list[Any], until: datetime | None = None
) -> tuple[SlaState | None, list[Any]]:
    """Apply ``events`` in order, then fire what is due at ``until``; all Sla events emitted."""
    state: SlaState | None = None
    out: list[Any] = []
    for e in events:
        res: Outcome = on_event(state, e, ps)
        state = res.state
        out.extend(res.events)
    if until is not None and state is not None:
        res = fire_due(state, until, ps)
        state = res.state
        out.extend(res.events)
    return state, out


def of(kind: type, events: list[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def at_delta(t: datetime, **kw: float) -> datetime:
    return t + timedelta(**kw)
