"""The state of one ticket, folded from its events (``evolve``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.records import Channel, Priority, TicketStatus

RECENT_IDS = 128  # command ids / message dedup keys remembered per ticket (idempotency window)
# events of the last commands, re-sent when a command is replayed. The agents write events
# before the state that follows from them (streams.runtime.UnitOfWork), so a saved state never
# lacks its events; this short window is belt and braces, and keeps states small to pickle.
RECENT_OUTCOMES = 2


@dataclass(frozen=True, slots=True)
class TicketState:
    """A ticket. ``version`` 0 means it does not exist yet (``status`` is then None).

    ``sla_due_at`` is the earliest active SLA deadline, written by the SLA engineer's agents
    (None: no active timer); queues order by priority, then by it."""

    ticket_id: str
    version: int = 0
    status: TicketStatus | None = None
    customer_id: str | None = None
    channel: Channel | None = None
    conversation_key: str | None = None
    external_user_id: str | None = None  # replies go to the identity the conversation came from
    subject: str | None = None
    priority: Priority = Priority.NORMAL
    group: str | None = None
    tags: tuple[str, ...] = ()
    tier: int = 1
    language: str | None = None
    customer_tier: str | None = None
    by_customer: bool = True
    assignee: str | None = None
    follow_up_of: str | None = None
    merged_into: str | None = None
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    last_customer_message_at: datetime | None = None
    reply_context: tuple[tuple[str, str], ...] = ()
    reply_context_expires_at: datetime | None = None
    message_count: int = 0
    csat_score: int | None = None
    sla_due_at: datetime | None = None
    recent_commands: tuple[str, ...] = ()
    recent_messages: tuple[str, ...] = ()
    # (command id, its events) of the last RECENT_OUTCOMES commands: a command replayed after a
    # crash (its state saved, its events maybe not) re-sends exactly these events.
    recent_outcomes: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    @property
    def exists(self) -> bool:
        return self.version > 0

    def seen_command(self, command_id: str) -> bool:
        return command_id in self.recent_commands

    def seen_message(self, message_id: str) -> bool:
        return message_id in self.recent_messages

    def outcome_of(self, command_id: str) -> tuple[Any, ...]:
        """The events command ``command_id`` produced, if it is among the last few."""
        for cid, events in self.recent_outcomes:
            if cid == command_id:
                return events
        return ()


def remember_outcome(
    outcomes: tuple[tuple[str, tuple[Any, ...]], ...], command_id: str, event: Any
) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """``outcomes`` with ``event`` added to its command's entry (newest last, bounded)."""
    if outcomes and outcomes[-1][0] == command_id:
        return (*outcomes[:-1], (command_id, (*outcomes[-1][1], event)))
    return (*outcomes, (command_id, (event,)))[-RECENT_OUTCOMES:]


def remember(ids: tuple[str, ...], new: str) -> tuple[str, ...]:
    """``ids`` with ``new`` appended, keeping the newest ``RECENT_IDS``."""
    if new in ids:
        return ids
    return (*ids, new)[-RECENT_IDS:]
