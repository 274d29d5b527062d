"""Threading: which ticket a channel message belongs to (the conversation aggregate).

A conversation (``conversation_key``) points at its ticket. The first message opens a ticket
whose id derives from the message's dedup key; later messages are appended to that ticket (the
ticket itself reopens when solved, and forwards to a linked follow-up when closed — see
``streams.domain.tickets.handle``). Commands are keyed by ticket id; their ids derive from the
dedup key, so a redelivered message (same dedup key) sends the same commands again, which the
ticket drops as duplicates by command id (and which repairs a crash between saving the
conversation and sending its commands).

Only the first message changes the conversation: after it, the conversation's ticket is fixed
(follow-ups are the closed ticket's business), its customer is only read to open that ticket,
and the ticket counts and deduplicates its own messages. So an appended message writes no
conversation state (one changelog record, pickle and store write fewer per message).

Placement: the worker keeps a conversation's tickets in the conversation's own partition, so a
message is threaded and applied to its ticket in one step (no hop through the commands topic).
``lands(key)`` says whether a key would be stored there; a ticket id that would not gets the
smallest numeric suffix that does (``T-<sha1>.<n>``) — still derived from the cause, so a replay
finds the same ticket.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.records import (
    Actor,
    ActorKind,
    AppendCustomerMessage,
    ChannelMessageReceived,
    CommandHeader,
    OpenTicket,
)
from streams.domain.ids import derive_id, short_id

RECENT_MESSAGES = 256  # dedup keys remembered per conversation
SYSTEM = Actor(ActorKind.SYSTEM, "threading")
MAX_PLACEMENT_TRIES = 100_000  # with n partitions a suffix fits after ~n tries on average

Lands = Callable[[str], bool]
"""Whether a ticket id would be stored where the caller needs it (its conversation's partition)."""


def placed_id(base: str, lands: Lands | None = None) -> str:
    """``base`` if ``lands(base)`` (or no placement is asked), else ``base.<n>`` for the smallest
    n ≥ 1 that lands. Raises ValueError if none does within MAX_PLACEMENT_TRIES (``lands`` can
    never be true)."""
    if lands is None or lands(base):
        return base
    for n in range(1, MAX_PLACEMENT_TRIES):
        candidate = f"{base}.{n}"
        if lands(candidate):
            return candidate
    raise ValueError(f"no id derived from {base!r} lands where asked")


@dataclass(frozen=True, slots=True)
class ConversationState:
    """``ticket_id`` and ``customer_id``: set by the first message. ``message_count`` and
    ``recent_messages``: that message (1, its dedup key; a redelivery of it opens nothing new).
    States stored before appends stopped writing the conversation (2026-12-07) count and
    remember up to RECENT_MESSAGES of their messages; read the same way. The fields stay, in
    this order, so those pickled states still load."""

    conversation_key: str
    ticket_id: str | None = None
    customer_id: str | None = None
    message_count: int = 0
    recent_messages: tuple[str, ...] = ()


def customer_id_of(message: ChannelMessageReceived) -> str:
    """The customer a channel identity belongs to before any link (deterministic)."""
    return short_id("C", message.channel, message.account_id, message.external_user_id)


def ticket_id_for(message: ChannelMessageReceived, lands: Lands | None = None) -> str:
    """The id of the ticket a conversation's first message opens (placed by ``lands``)."""
    return placed_id(short_id("T", message.dedup_key), lands)


def thread(
    state: ConversationState,
    message: ChannelMessageReceived,
    customer_id: str | None = None,
    lands: Lands | None = None,
) -> tuple[ConversationState, list[Any]]:
    """The conversation after ``message`` and the ticket commands to send (keyed by ticket id).

    ``customer_id`` is the customer the sender's identity resolves to (default: the
    identity's own customer id); ``lands`` places a new ticket's id (see ``placed_id``)."""
    replay = message.dedup_key in state.recent_messages
    customer = customer_id or state.customer_id or customer_id_of(message)
    commands: list[Any] = []
    ticket_id = state.ticket_id
    opens = ticket_id is None or (replay and ticket_id == ticket_id_for(message, lands))
    if ticket_id is None or opens:
        ticket_id = ticket_id_for(message, lands)
        commands.append(
            OpenTicket(
                _header(message, derive_id(message.dedup_key, "open"), ticket_id),
                ticket_id,
                customer,
                message.channel,
                message.conversation_key,
                subject=message.subject,
                language=message.language,
            )
        )
    reply_context = dict(message.reply_context)
    reply_context.setdefault("external_user_id", message.external_user_id)
    # the inbound message a reply answers (quote / reply-to on channels that have one)
    reply_context.setdefault("external_message_id", message.external_message_id)
    commands.append(
        AppendCustomerMessage(
            _header(message, derive_id(message.dedup_key, "append"), ticket_id),
            ticket_id,
            message.dedup_key,
            message.channel,
            message.text,
            message.sent_at,
            attachments=message.attachments,
            reply_context=reply_context,
            reply_context_expires_at=message.reply_context_expires_at,
        )
    )
    if state.ticket_id is not None:
        # a message for the conversation's ticket, or a redelivery (or a replay after a crash,
        # when our state was saved but the commands maybe not): the conversation stays as it
        # is; the same message sends the same commands, which the ticket drops by command id
        return state, commands
    new_state = ConversationState(
        state.conversation_key,
        ticket_id=ticket_id,
        customer_id=customer,
        message_count=state.message_count + 1,
        recent_messages=(*state.recent_messages, message.dedup_key)[-RECENT_MESSAGES:],
    )
    return new_state, commands


def _header(message: ChannelMessageReceived, command_id: str, ticket_id: str) -> CommandHeader:
    env = message.envelope
    sent: datetime = message.sent_at
    return CommandHeader(
        command_id=command_id,
        issued_at=sent,
        aggregate_id=ticket_id,
        correlation_id=env.correlation_id,
        actor=SYSTEM,
        tenant_id=env.tenant_id,
        brand_id=env.brand_id,
    )
