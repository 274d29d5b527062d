"""The state of one ticket, folded from its events (``evolve``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.records import Channel, Priority, TicketStatus

RECENT_IDS = 128  # command ids / message dedup keys remembered per ticket (idempotency window)


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

    @property
    def exists(self) -> bool:
        return self.version > 0

    def seen_command(self, command_id: str) -> bool:
        return command_id in self.recent_commands

    def seen_message(self, message_id: str) -> bool:
        return message_id in self.recent_messages


def remember(ids: tuple[str, ...], new: str) -> tuple[str, ...]:
    """``ids`` with ``new`` appended, keeping the newest ``RECENT_IDS``."""
    if new in ids:
        return ids
    return (*ids, new)[-RECENT_IDS:]
