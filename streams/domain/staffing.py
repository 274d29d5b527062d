"""Agents as people: presence, capacity and skills commands become agent events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.records import (
    AgentCapacityChanged,
    AgentPresence,
    AgentPresenceChanged,
    AgentSkillsChanged,
    SetAgentCapacity,
    SetAgentPresence,
    SetAgentSkills,
)
from streams.domain.envelopes import EnvelopeFactory


def decide_agent(
    presence: AgentPresence | None, version: int, command: Any, now: datetime
) -> list[Any]:
    """The agent event for a ``SetAgent*`` command (none when presence does not change).
    Raises ``ValueError`` for a capacity below zero."""
    env = EnvelopeFactory(command.command, command.agent_id, version, now)
    if isinstance(command, SetAgentPresence):
        if command.presence == presence:
            return []
        return [
            AgentPresenceChanged(env.next("presence"), command.agent_id, command.presence, presence)
        ]
    if isinstance(command, SetAgentCapacity):
        bad = {k: v for k, v in command.capacity.items() if v < 0}
        if bad:
            raise ValueError(f"capacity of agent {command.agent_id} below zero: {bad}; use 0..n")
        return [AgentCapacityChanged(env.next("capacity"), command.agent_id, command.capacity)]
    if isinstance(command, SetAgentSkills):
        return [
            AgentSkillsChanged(
                env.next("skills"),
                command.agent_id,
                command.languages,
                command.channels,
                command.tier,
                command.groups,
            )
        ]
    raise ValueError(f"{type(command).__name__} is not an agent command")
