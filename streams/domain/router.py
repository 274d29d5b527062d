"""The router: which ticket, agent and SLA events move the routing state, and what it assigns.

``on_events`` is what the single-partition router agent calls for each batch of the routing
feed: it applies the events in order to the in-memory ``RoutingState`` (which records the rows
it changed), then dispatches waiting tickets once and returns the assignments to send as
``AssignTicket`` commands.

SLA events keep each ticket's timers per (metric, instance) — started/re-targeted/resumed set
the due, paused clears it, breached marks it overdue from the breach, fulfilled drops it — so
the queue's time-to-breach order is that of the SLA engine. They are kept even before the
ticket's ``TicketOpened`` arrives (the feed merges the SLA and ticket topics, which need not
stay in step).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.records import (
    AgentCapacityChanged,
    AgentPresence,
    AgentPresenceChanged,
    AgentSkillsChanged,
    AssignmentReason,
    SlaBreached,
    SlaTimerFulfilled,
    SlaTimerPaused,
    SlaTimerResumed,
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

AGENT_EVENT_TYPES: tuple[type, ...] = (
    AgentPresenceChanged, AgentCapacityChanged, AgentSkillsChanged,
)  # fmt: skip
# what the feed forwarder takes from the ticket and SLA topics (agent events reach the feed
# from the agent-commands agent directly)
FORWARDED_EVENT_TYPES: tuple[type, ...] = (
    TicketOpened, TicketAssigned, TicketUnassigned, TicketStatusChanged, TicketPriorityChanged,
    TicketGroupChanged, TicketEscalated, TicketCommandRejected,
    SlaTimerStarted, SlaTimerResumed, SlaTimerPaused, SlaBreached, SlaTimerFulfilled,
)  # fmt: skip
ROUTING_EVENT_TYPES: tuple[type, ...] = FORWARDED_EVENT_TYPES + AGENT_EVENT_TYPES


def on_events(
    state: r.RoutingState, events: list[Any], policy: r.ReassignPolicy, strategy: r.Strategy
) -> list[r.Assignment]:
    """Apply a batch of routing-feed events in order (changing ``state``), then dispatch once."""
    for event in events:
        apply(state, event, policy)
    return r.dispatch(state, strategy)


def apply(state: r.RoutingState, e: Any, policy: r.ReassignPolicy) -> None:
    """Fold one routing-feed event into ``state``. Events are facts: never raises for an
    event about an unknown ticket or agent (it is ignored or creates the agent)."""
    at: datetime = e.envelope.occurred_at
    if isinstance(e, TicketOpened):
        t = r.RoutedTicket(e.ticket_id, e.channel, e.priority, e.group, e.language, 1, at)
        r.enqueue(state, t)
    elif isinstance(e, TicketAssigned):
        if not _stale_confirmation(state, e, policy):
            r.assigned(state, e.ticket_id, e.agent_id, confirmed=True)
    elif isinstance(e, TicketUnassigned):
        reason = (
            AssignmentReason.ESCALATION if e.reason == "escalation" else AssignmentReason.ROUTING
        )
        r.requeue(state, e.ticket_id, reason, since=at)
    elif isinstance(e, TicketStatusChanged):
        _status_changed(state, e, at, policy)
    elif isinstance(e, SlaTimerStarted | SlaTimerResumed):  # started, re-targeted, resumed
        r.sla_running(state, e.ticket_id, e.metric, e.instance, e.due_at)
    elif isinstance(e, SlaTimerPaused):
        r.sla_paused(state, e.ticket_id, e.metric, e.instance)
    elif isinstance(e, SlaBreached):
        r.sla_breached(state, e.ticket_id, e.metric, e.instance, e.due_at)
    elif isinstance(e, SlaTimerFulfilled):
        r.sla_fulfilled(state, e.ticket_id, e.metric, e.instance)
    elif isinstance(e, TicketPriorityChanged):
        r.update_ticket(state, e.ticket_id, priority=e.to_priority)
    elif isinstance(e, TicketGroupChanged):
        r.update_ticket(state, e.ticket_id, group=e.to_group)
    elif isinstance(e, TicketEscalated):
        r.update_ticket(state, e.ticket_id, tier=e.to_tier, group=e.to_group)
    elif isinstance(e, TicketCommandRejected) and e.command_type == "AssignTicket":
        if e.reason_code in ("ticket_closed", "unknown_ticket"):
            r.released(state, e.ticket_id)
    elif isinstance(e, AgentPresenceChanged):
        r.set_presence(state, e.agent_id, e.presence, policy, at)
    elif isinstance(e, AgentCapacityChanged):
        r.set_capacity(state, e.agent_id, e.capacity)
    elif isinstance(e, AgentSkillsChanged):
        r.set_skills(
            state,
            e.agent_id,
            languages=e.languages,
            channels=e.channels,
            tier=e.tier,
            groups=e.groups,
        )


def _stale_confirmation(state: r.RoutingState, e: TicketAssigned, policy: r.ReassignPolicy) -> bool:
    """The ticket confirms routing's own choice of an agent who has left since (offline/away,
    per policy), and routing has already taken the ticket back from them. The feed has no
    order across its sources (ticket events are forwarded, presence changes sent directly), so
    the confirmation can come after the presence change; holding the ticket for the absent
    agent would leave it unanswered. A manual assignment is a supervisor's fact: always kept."""
    if e.reason is AssignmentReason.MANUAL:
        return False
    t = state.ticket(e.ticket_id)
    if t is None or t.assignee == e.agent_id:
        return False
    return policy.leaves(state.agent(e.agent_id).presence)


def _status_changed(
    state: r.RoutingState, e: TicketStatusChanged, at: datetime, policy: r.ReassignPolicy
) -> None:
    """Closed: forgotten. Solved: kept (no load) until closed, so a reopen finds its agent
    again. Reopened while its agent is away/offline (per policy): waits for another agent."""
    if e.to_status is TicketStatus.CLOSED:
        r.released(state, e.ticket_id)
        return
    t = state.ticket(e.ticket_id)
    if t is None:
        return
    r.update_ticket(state, e.ticket_id, status=e.to_status)
    reopened = t.status is TicketStatus.SOLVED and e.to_status is not TicketStatus.SOLVED
    if reopened and t.assignee is not None:
        presence = state.agent(t.assignee).presence
        if presence is not AgentPresence.ONLINE and policy.leaves(presence):
            r.requeue(state, e.ticket_id, AssignmentReason.REASSIGNED_PRESENCE, since=at)
