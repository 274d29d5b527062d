"""Builders for decider tests: commands with fixed headers, and states folded from events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.records import (
    Actor,
    ActorKind,
    AppendCustomerMessage,
    AssignTicket,
    ChangeTicketStatus,
    Channel,
    CommandHeader,
    OpenTicket,
    TicketStatus,
)
from streams.domain.tickets import TicketState, decide, evolve_all

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
AGENT = Actor(ActorKind.AGENT, "agent-ann")
CONV = "line:acct1:U123"


def header(command_id: str, ticket_id: str = "T-1", at: datetime = T0, **kw: Any) -> CommandHeader:
    return CommandHeader(
        command_id, at, ticket_id, "corr-1", kw.pop("actor", AGENT), "tenant-a", **kw
    )


def open_cmd(ticket_id: str = "T-1", command_id: str = "c-open", **kw: Any) -> OpenTicket:
    return OpenTicket(header(command_id, ticket_id), ticket_id, "C-1", Channel.LINE, CONV, **kw)


def message(message_id: str, ticket_id: str = "T-1", text: str = "hello") -> AppendCustomerMessage:
    return AppendCustomerMessage(
        header(f"c-{message_id}", ticket_id, actor=Actor(ActorKind.SYSTEM, "threading")),
        ticket_id,
        message_id,
        Channel.LINE,
        text,
        T0,
    )


def assign(
    agent_id: str = "agent-ann", command_id: str = "c-assign", ticket_id: str = "T-1"
) -> AssignTicket:
    return AssignTicket(header(command_id, ticket_id), ticket_id, agent_id)


def status(
    to: TicketStatus, command_id: str | None = None, ticket_id: str = "T-1"
) -> ChangeTicketStatus:
    return ChangeTicketStatus(header(command_id or f"c-{to}", ticket_id), ticket_id, to)


def given(*commands: Any, ticket_id: str = "T-1") -> TicketState:
    """The state after deciding and applying ``commands`` in order (each must succeed)."""
    state = TicketState(ticket_id)
    for c in commands:
        state = evolve_all(state, decide(state, c, NOW))
    return state


def kinds(events: Any) -> list[str]:
    return [type(e).__name__ for e in events]
