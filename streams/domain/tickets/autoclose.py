"""Auto-close of solved tickets: the deadline (data) and the command the SLA timers fire."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.records import ChangeTicketStatus, CommandHeader, TicketStatus
from streams.domain.ids import derive_id
from streams.domain.tickets.handle import SYSTEM
from streams.domain.tickets.state import TicketState

DEFAULT_DAYS = 4
MAX_DAYS = 28


def auto_close_due_at(state: TicketState, days: int = DEFAULT_DAYS) -> datetime | None:
    """When a solved ticket closes by itself (``days`` calendar days after it was solved, 1..28);
    None when it is not solved."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"auto-close after {days} days: allowed 1 to {MAX_DAYS}")
    if state.status is not TicketStatus.SOLVED or state.solved_at is None:
        return None
    return state.solved_at + timedelta(days=days)


def auto_close_command(state: TicketState, now: datetime, tenant_id: str) -> ChangeTicketStatus:
    """``ChangeTicketStatus(closed)`` by the system actor; its id derives from the ticket and the
    solve time, so a re-fired timer sends the same command (deduplicated by the ticket)."""
    command_id = derive_id(state.ticket_id, "auto-close", state.solved_at)
    return ChangeTicketStatus(
        CommandHeader(command_id, now, state.ticket_id, command_id, SYSTEM, tenant_id),
        state.ticket_id,
        TicketStatus.CLOSED,
    )
