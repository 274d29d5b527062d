"""The router: which ticket and agent events move the routing state, and what it assigns.

``on_event`` is what the single-partition router agent calls for every record of the routing
feed. It returns the new state and the assignments to send as ``AssignTicket`` commands.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.records import (
    AgentCapacityChanged,
    AgentPresenceChanged,
    AgentSkillsChanged,
    AssignmentReason,
    SlaTimerFulfilled,
    SlaTimerStarted,
    TicketAssigned,
    TicketCommandRejected,
    TicketEscalated,
    TicketGroupChanged,
    TicketOpened,
    TicketPriorityChanged,
    TicketStatus,
    TicketStatusChanged,
    TicketUnassigned,
)
from streams.domain import routing as r

ROUTING_EVENT_TYPES: tuple[type, ...] = (
    TicketOpened, TicketAssigned, TicketUnassigned, TicketStatusChanged, TicketPriorityChanged,
    TicketGroupChanged, TicketEscalated, TicketCommandRejected,
    AgentPresenceChanged, AgentCapacityChanged, AgentSkillsChanged,
    SlaTimerStarted, SlaTimerFulfilled,
)  # fmt: skip

DONE = (TicketStatus.SOLVED, TicketStatus.CLOSED)


def on_event(
    state: r.RoutingState, event: Any, policy: r.ReassignPolicy, strategy: r.Strategy
) -> tuple[r.RoutingState, list[r.Assignment]]:
    """Apply one routing-feed event, then dispatch waiting tickets."""
    state = _apply(state, event, policy)
    return r.dispatch(state, strategy)


def on_events(
    state: r.RoutingState, events: list[Any], policy: r.ReassignPolicy, strategy: r.Strategy
) -> tuple[r.RoutingState, list[r.Assignment]]:
    """Apply a batch of routing-feed events in order, then dispatch once."""
    for event in events:
        state = _apply(state, event, policy)
    return r.dispatch(state, strategy)


def _apply(state: r.RoutingState, e: Any, policy: r.ReassignPolicy) -> r.RoutingState:
    at: datetime = e.envelope.occurred_at
    if isinstance(e, TicketOpened):
        t = r.RoutedTicket(e.ticket_id, e.channel, e.priority, e.group, e.language, 1, at)
        return r.enqueue(state, t)
    if isinstance(e, TicketAssigned):
        held = r.ticket_of(state, e.ticket_id)
        return state if held is None else r.assigned(state, held, e.agent_id)
    if isinstance(e, TicketUnassigned):
        reason = (
            AssignmentReason.ESCALATION if e.reason == "escalation" else AssignmentReason.ROUTING
        )
        return r.requeue(state, e.ticket_id, reason, since=at)
    if isinstance(e, TicketStatusChanged):
        if e.to_status in DONE:
            return r.released(state, e.ticket_id)
        return r.update_ticket(state, e.ticket_id, status=e.to_status)
    if isinstance(e, SlaTimerStarted):
        known = r.ticket_of(state, e.ticket_id)
        due = e.due_at
        if known is not None and known.sla_due_at is not None:
            due = min(known.sla_due_at, e.due_at)
        return r.update_ticket(state, e.ticket_id, sla_due_at=due)
    if isinstance(e, SlaTimerFulfilled):  # approximate: the next timer's start sets it again
        return r.update_ticket(state, e.ticket_id, sla_due_at=None)
    if isinstance(e, TicketPriorityChanged):
        return r.update_ticket(state, e.ticket_id, priority=e.to_priority)
    if isinstance(e, TicketGroupChanged):
        return r.update_ticket(state, e.ticket_id, group=e.to_group)
    if isinstance(e, TicketEscalated):
        return r.update_ticket(state, e.ticket_id, tier=e.to_tier, group=e.to_group)
    if isinstance(e, TicketCommandRejected) and e.command_type == "AssignTicket":
        holder = state.holder_of(e.ticket_id)
        if holder is not None and e.reason_code in ("ticket_closed", "unknown_ticket"):
            return r.released(state, e.ticket_id)
        return state
    if isinstance(e, AgentPresenceChanged):
        return r.set_presence(state, e.agent_id, e.presence, policy)
    if isinstance(e, AgentCapacityChanged):
        return r.set_capacity(state, e.agent_id, e.capacity)
    if isinstance(e, AgentSkillsChanged):
        return r.set_skills(
            state,
            e.agent_id,
            languages=e.languages,
            channels=e.channels,
            tier=e.tier,
            groups=e.groups,
        )
    return state
