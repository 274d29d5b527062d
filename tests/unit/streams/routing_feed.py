"""Builders of routing-feed events (ticket, agent and SLA events) for router tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.records import (
    Actor,
    ActorKind,
    AgentCapacityChanged,
    AgentPresence,
    AgentPresenceChanged,
    AgentSkillsChanged,
    AssignmentReason,
    Channel,
    Envelope,
    Priority,
    SlaBreached,
    SlaMetric,
    SlaTimerFulfilled,
    SlaTimerPaused,
    SlaTimerResumed,
    SlaTimerStarted,
    TicketAssigned,
    TicketCommandRejected,
    TicketEscalated,
    TicketGroupChanged,
    TicketOpened,
    TicketStatus,
    TicketStatusChanged,
    TicketUnassigned,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SUP = Actor(ActorKind.AGENT, "sup-1")


def env(aggregate: str, minute: float, kind: str) -> Envelope:
    at = T0 + timedelta(minutes=minute)
    eid = f"{aggregate}/{kind}/{minute}"
    return Envelope(eid, at, at, aggregate, 1, eid, eid, SUP, "tenant-a")


def opened(
    tid: str,
    minute: float = 0,
    channel: Channel = Channel.LINE,
    priority: Priority = Priority.NORMAL,
    group: str | None = None,
    language: str | None = None,
) -> TicketOpened:
    return TicketOpened(
        env(tid, minute, "opened"),
        tid,
        f"C-{tid}",
        channel,
        f"{channel.value}:acct:{tid}",
        priority,
        True,
        group=group,
        language=language,
    )


def online(agent_id: str, minute: float = 0, **capacity: int) -> list[Any]:
    """Capacity (per channel, keyword), English, tier 1, then online."""
    return [
        AgentCapacityChanged(env(agent_id, minute, "cap"), agent_id, capacity),
        AgentSkillsChanged(env(agent_id, minute, "skills"), agent_id, ("en",)),
        presence(agent_id, AgentPresence.ONLINE, minute),
    ]


def skills(
    agent_id: str, minute: float = 0, *, tier: int = 1, groups: tuple[str, ...] = (), **kw: Any
) -> AgentSkillsChanged:
    return AgentSkillsChanged(
        env(agent_id, minute, "skills"),
        agent_id,
        kw.get("languages", ("en",)),
        kw.get("channels", ()),
        tier,
        groups,
    )


def presence(agent_id: str, p: AgentPresence, minute: float = 0) -> AgentPresenceChanged:
    return AgentPresenceChanged(env(agent_id, minute, f"presence-{p}"), agent_id, p)


def assigned_event(tid: str, agent_id: str, minute: float = 0) -> TicketAssigned:
    return TicketAssigned(env(tid, minute, "assigned"), tid, agent_id, AssignmentReason.ROUTING)


def status(tid: str, frm: TicketStatus, to: TicketStatus, minute: float = 0) -> Any:
    return TicketStatusChanged(env(tid, minute, f"status-{to}"), tid, frm, to)


def escalated(tid: str, agent_id: str, to_group: str, minute: float = 0) -> list[Any]:
    """What the ticket records for EscalateTicket(to_tier=2) while ``agent_id`` holds it."""
    return [
        TicketEscalated(env(tid, minute, "esc"), tid, 1, 2, to_group, from_group="tier1"),
        TicketGroupChanged(env(tid, minute, "group"), tid, to_group, "tier1"),
        TicketUnassigned(env(tid, minute, "unassigned"), tid, agent_id, "escalation"),
    ]


def rejected_assign(tid: str, reason_code: str, minute: float = 0) -> TicketCommandRejected:
    return TicketCommandRejected(
        env(tid, minute, "rejected"), tid, "c-x", "AssignTicket", reason_code, "…"
    )


def sla_started(
    tid: str, metric: SlaMetric, due_minute: float, minute: float = 0, instance: int = 1
) -> SlaTimerStarted:
    """Timer (metric, instance) started (or re-targeted) at ``minute``, due at ``due_minute``."""
    return SlaTimerStarted(
        env(tid, minute, f"sla-start-{metric}-{instance}-{due_minute}"),
        tid,
        metric,
        instance,
        "p1",
        Priority.NORMAL,
        3600,
        False,
        T0 + timedelta(minutes=due_minute),
    )


def sla_paused(tid: str, metric: SlaMetric, minute: float, instance: int = 1) -> SlaTimerPaused:
    return SlaTimerPaused(env(tid, minute, f"sla-pause-{metric}"), tid, metric, instance, 0, 0)


def sla_resumed(
    tid: str, metric: SlaMetric, due_minute: float, minute: float, instance: int = 1
) -> SlaTimerResumed:
    return SlaTimerResumed(
        env(tid, minute, f"sla-resume-{metric}"),
        tid,
        metric,
        instance,
        T0 + timedelta(minutes=due_minute),
    )


def sla_breached(tid: str, metric: SlaMetric, minute: float, instance: int = 1) -> SlaBreached:
    at = T0 + timedelta(minutes=minute)
    return SlaBreached(
        env(tid, minute, f"sla-breach-{metric}"), tid, metric, instance, "p1",
        Priority.NORMAL, 3600, at, 0, 0,
    )  # fmt: skip


def sla_fulfilled(
    tid: str, metric: SlaMetric, minute: float, instance: int = 1
) -> SlaTimerFulfilled:
    return SlaTimerFulfilled(
        env(tid, minute, f"sla-done-{metric}"), tid, metric, instance, "p1",
        Priority.NORMAL, 3600, 0, 0, False,
    )  # fmt: skip
