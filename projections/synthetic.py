"""A deterministic synthetic event stream (for load tests and the benchmark): each ticket is
opened, assigned, answered by an agent, solved, with a first-reply SLA timer started and
fulfilled — six events per ticket, ids derived from the ticket number."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas import records as r

EVENTS_PER_TICKET = 6
_CHANNELS = tuple(r.Channel)
_PRIORITIES = tuple(r.Priority)


def _env(agg: str, version: int, at: datetime, actor: r.Actor, eid: str) -> r.Envelope:
    return r.Envelope(
        event_id=eid, occurred_at=at, recorded_at=at, aggregate_id=agg, aggregate_version=version,
        causation_id=f"c-{eid}", correlation_id=f"k-{agg}", actor=actor, tenant_id="bench",
    )  # fmt: skip


def ticket_events(n: int, prefix: str, start: datetime, at: datetime | None = None) -> list[Any]:
    """The six events of synthetic ticket number ``n`` (event times from ``at`` or ``start``)."""
    t = f"{prefix}-{n}"
    base = at or start + timedelta(seconds=n)
    ch, pr = _CHANNELS[n % len(_CHANNELS)], _PRIORITIES[n % len(_PRIORITIES)]
    agent = r.Actor(r.ActorKind.AGENT, f"A{n % 50}")
    system = r.Actor(r.ActorKind.SYSTEM, "ticketstream")
    customer = r.Actor(r.ActorKind.CUSTOMER, f"C{n}")
    frt = r.SlaMetric.FIRST_REPLY_TIME
    reply_at = base + timedelta(seconds=60 + n % 600)
    return [
        r.TicketOpened(_env(t, 1, base, customer, f"{t}-1"), t, f"C{n}", ch, f"conv-{t}", pr, True),
        r.SlaTimerStarted(
            _env(t, 1, base, system, f"{t}-s1"), t, frt, 1, "gold", pr, 3600, False,
            base + timedelta(hours=1),
        ),
        r.TicketAssigned(_env(t, 2, base, system, f"{t}-2"), t, agent.id, r.AssignmentReason.ROUTING),
        r.AgentReplied(
            _env(t, 3, reply_at, agent, f"{t}-3"), t, f"R-{t}", agent.id, ch, f"conv-{t}", "acct",
            f"xc-{t}", "xu", "Thanks for writing, this is fixed now.",
        ),
        r.SlaTimerFulfilled(
            _env(t, 2, reply_at, system, f"{t}-s2"), t, frt, 1, "gold", pr, 3600,
            int((reply_at - base).total_seconds()), int((reply_at - base).total_seconds()), False,
        ),
        r.TicketStatusChanged(
            _env(t, 4, reply_at, agent, f"{t}-4"), t, r.TicketStatus.NEW, r.TicketStatus.SOLVED
        ),
    ]  # fmt: skip


def stream(tickets: int, prefix: str, start: datetime | None = None) -> Iterator[Any]:
    """Events of ``tickets`` synthetic tickets, ticket after ticket."""
    begin = start or datetime(2026, 1, 5, tzinfo=UTC)
    for n in range(tickets):
        yield from ticket_events(n, prefix, begin)
