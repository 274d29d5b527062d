"""Routing and assignment: which online agent with free capacity and the right skills takes a
waiting ticket. Pure: the router's agent feeds it events and sends the assignments it returns.

- Eligible agent: ``online``; free capacity on the ticket's channel (no capacity set = 0);
  handles the channel (empty ``channels`` = all); ``tier`` ≥ the ticket's tier; in the
  ticket's group (empty ``groups`` = all groups; a ticket without a group fits everyone).
- Strategies: ``round_robin`` (next eligible agent by id after the last one assigned),
  ``least_loaded`` (fewest open tickets on the channel relative to capacity, then id),
  ``skills_first`` (agents speaking the ticket's language first, then least loaded).
- Waiting tickets are served in priority order (urgent first), then by waiting time.
- When an agent goes offline (or away, per policy) their open tickets are requeued with
  reason ``reassigned_presence`` and dispatched again.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from schemas.records import AgentPresence, AssignmentReason, Channel, Priority, TicketStatus

PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class Strategy(StrEnum):
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"
    SKILLS_FIRST = "skills_first"


@dataclass(frozen=True, slots=True)
class ReassignPolicy:
    on_offline: bool = True
    on_away: bool = True


@dataclass(frozen=True, slots=True)
class RoutedTicket:
    """What routing knows of a ticket (from its events)."""

    ticket_id: str
    channel: Channel
    priority: Priority = Priority.NORMAL
    group: str | None = None
    language: str | None = None
    tier: int = 1
    since: datetime | None = None  # waiting since (event time)
    reason: AssignmentReason = AssignmentReason.ROUTING
    previous_agent_id: str | None = None
    status: TicketStatus = TicketStatus.NEW
    sla_due_at: datetime | None = None  # earliest active SLA deadline (from SLA events)


@dataclass(frozen=True, slots=True)
class AgentProfile:
    agent_id: str
    presence: AgentPresence = AgentPresence.OFFLINE
    capacity: tuple[tuple[str, int], ...] = ()  # (channel, max concurrent open tickets)
    languages: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    tier: int = 1
    groups: tuple[str, ...] = ()
    open_tickets: tuple[RoutedTicket, ...] = ()

    def capacity_for(self, channel: Channel) -> int:
        return dict(self.capacity).get(str(channel), 0)

    def load_for(self, channel: Channel) -> int:
        return sum(1 for t in self.open_tickets if t.channel == channel)

    def can_take(self, t: RoutedTicket) -> bool:
        return (
            self.presence is AgentPresence.ONLINE
            and self.load_for(t.channel) < self.capacity_for(t.channel)
            and (not self.channels or t.channel in self.channels)
            and self.tier >= t.tier
            and (t.group is None or not self.groups or t.group in self.groups)
        )


@dataclass(frozen=True, slots=True)
class Assignment:
    ticket_id: str
    agent_id: str
    reason: AssignmentReason
    previous_agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class RoutingState:
    agents: tuple[AgentProfile, ...] = ()  # sorted by agent id
    waiting: tuple[RoutedTicket, ...] = ()
    last_agent_id: str | None = None  # round robin cursor

    def agent(self, agent_id: str) -> AgentProfile:
        for a in self.agents:
            if a.agent_id == agent_id:
                return a
        return AgentProfile(agent_id)

    def with_agent(self, profile: AgentProfile) -> RoutingState:
        others = [a for a in self.agents if a.agent_id != profile.agent_id]
        return replace(self, agents=tuple(sorted([*others, profile], key=lambda a: a.agent_id)))

    def holder_of(self, ticket_id: str) -> AgentProfile | None:
        for a in self.agents:
            if any(t.ticket_id == ticket_id for t in a.open_tickets):
                return a
        return None


_LAST = datetime.max.replace(tzinfo=UTC)


def queue_order(t: RoutedTicket) -> tuple[int, datetime, datetime, str]:
    """Priority (urgent first), then time to SLA breach (none last), then waiting time."""
    return (PRIORITY_RANK[t.priority], t.sla_due_at or _LAST, t.since or _LAST, t.ticket_id)


def open_tickets(state: RoutingState) -> list[tuple[RoutedTicket, str | None]]:
    """Every ticket routing knows (waiting and held) with its assignee, in queue order."""
    rows: list[tuple[RoutedTicket, str | None]] = [(w, None) for w in state.waiting]
    rows += [(t, a.agent_id) for a in state.agents for t in a.open_tickets]
    return sorted(rows, key=lambda row: queue_order(row[0]))


def choose_agent(state: RoutingState, t: RoutedTicket, strategy: Strategy) -> str | None:
    """The agent to take ``t`` under ``strategy``, or None when nobody eligible is free."""
    eligible = [a for a in state.agents if a.can_take(t)]
    if not eligible:
        return None
    if strategy is Strategy.ROUND_ROBIN:
        after = [
            a for a in eligible if state.last_agent_id is None or a.agent_id > state.last_agent_id
        ]
        return (after or eligible)[0].agent_id

    def load(a: AgentProfile) -> tuple[float, str]:
        return (a.load_for(t.channel) / a.capacity_for(t.channel), a.agent_id)

    if strategy is Strategy.SKILLS_FIRST and t.language is not None:
        speakers = [a for a in eligible if t.language in a.languages]
        eligible = speakers or eligible
    return min(eligible, key=load).agent_id


def enqueue(state: RoutingState, t: RoutedTicket) -> RoutingState:
    """``t`` waits for an agent (once; a ticket already held or waiting is left alone)."""
    if any(w.ticket_id == t.ticket_id for w in state.waiting) or state.holder_of(t.ticket_id):
        return state
    waiting = list(state.waiting)
    bisect.insort(waiting, t, key=queue_order)
    return replace(state, waiting=tuple(waiting))


def dispatch(state: RoutingState, strategy: Strategy) -> tuple[RoutingState, list[Assignment]]:
    """Assign waiting tickets, most urgent first, while eligible agents have capacity."""
    out: list[Assignment] = []
    still: list[RoutedTicket] = []
    if not state.waiting or not any(a.presence is AgentPresence.ONLINE for a in state.agents):
        return state, out
    for t in state.waiting:
        agent_id = choose_agent(state, t, strategy)
        if agent_id is None:
            still.append(t)
            continue
        out.append(Assignment(t.ticket_id, agent_id, t.reason, t.previous_agent_id))
        state = assigned(state, t, agent_id)
    return replace(state, waiting=tuple(still)), out


def assigned(state: RoutingState, t: RoutedTicket, agent_id: str) -> RoutingState:
    """``t`` is now held by ``agent_id`` (routing's own choice or a manual assignment)."""
    state = released(state, t.ticket_id)
    a = state.agent(agent_id)
    held = replace(t, reason=AssignmentReason.ROUTING, previous_agent_id=None)
    a = replace(a, open_tickets=(*a.open_tickets, held))
    return replace(state.with_agent(a), last_agent_id=agent_id)


def released(state: RoutingState, ticket_id: str) -> RoutingState:
    """Forget ``ticket_id`` everywhere (solved, closed, merged, or before re-routing it)."""
    waiting = tuple(w for w in state.waiting if w.ticket_id != ticket_id)
    holder = state.holder_of(ticket_id)
    state = replace(state, waiting=waiting)
    if holder is None:
        return state
    kept = tuple(t for t in holder.open_tickets if t.ticket_id != ticket_id)
    return state.with_agent(replace(holder, open_tickets=kept))


def ticket_of(state: RoutingState, ticket_id: str) -> RoutedTicket | None:
    for w in state.waiting:
        if w.ticket_id == ticket_id:
            return w
    holder = state.holder_of(ticket_id)
    if holder is None:
        return None
    return next(t for t in holder.open_tickets if t.ticket_id == ticket_id)


def requeue(
    state: RoutingState, ticket_id: str, reason: AssignmentReason, **changes: object
) -> RoutingState:
    """Take ``ticket_id`` from its agent (if any) and let it wait again, with ``changes``
    (e.g. a new group and tier after an escalation)."""
    t = ticket_of(state, ticket_id)
    if t is None:
        return state
    holder = state.holder_of(ticket_id)
    new = replace(
        t,
        reason=reason,
        previous_agent_id=holder.agent_id if holder else t.previous_agent_id,
        **changes,  # type: ignore[arg-type]
    )
    return enqueue(released(state, ticket_id), new)


def update_ticket(state: RoutingState, ticket_id: str, **changes: object) -> RoutingState:
    """Change what routing knows of a ticket (priority, group…), wherever it is."""
    t = ticket_of(state, ticket_id)
    if t is None:
        return state
    new = replace(t, **changes)  # type: ignore[arg-type]
    holder = state.holder_of(ticket_id)
    if holder is None:
        waiting = [new if w.ticket_id == ticket_id else w for w in state.waiting]
        return replace(state, waiting=tuple(sorted(waiting, key=queue_order)))
    tickets = tuple(new if o.ticket_id == ticket_id else o for o in holder.open_tickets)
    return state.with_agent(replace(holder, open_tickets=tickets))


def set_presence(
    state: RoutingState, agent_id: str, presence: AgentPresence, policy: ReassignPolicy
) -> RoutingState:
    """The agent's presence; their open tickets wait again when the policy says so."""
    a = replace(state.agent(agent_id), presence=presence)
    state = state.with_agent(a)
    leaving = (presence is AgentPresence.OFFLINE and policy.on_offline) or (
        presence is AgentPresence.AWAY and policy.on_away
    )
    if leaving:
        for t in a.open_tickets:
            state = requeue(state, t.ticket_id, AssignmentReason.REASSIGNED_PRESENCE)
    return state


def set_capacity(state: RoutingState, agent_id: str, capacity: dict[str, int]) -> RoutingState:
    a = replace(state.agent(agent_id), capacity=tuple(sorted(capacity.items())))
    return state.with_agent(a)


def set_skills(
    state: RoutingState,
    agent_id: str,
    *,
    languages: tuple[str, ...],
    channels: tuple[Channel, ...],
    tier: int,
    groups: tuple[str, ...],
) -> RoutingState:
    a = replace(
        state.agent(agent_id), languages=languages, channels=channels, tier=tier, groups=groups
    )
    return state.with_agent(a)
